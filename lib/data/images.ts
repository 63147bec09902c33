import "server-only";
import type { Db } from "@/lib/db/client";
import type { Prisma } from "@/lib/generated/prisma/client";
import { imageListDto, type ImageListDto, type ImageListQuery } from "@/lib/dto/read";

/** Images with running containers, filtered, sorted and paginated on the server. */
export async function listImages(db: Db, q: ImageListQuery): Promise<ImageListDto> {
  const running: Prisma.ContainerWhereInput = {
    pod: {
      deletedAt: null,
      ...(q.cluster ? { cluster: { name: q.cluster } } : {}),
      ...(q.namespace ? { namespace: { name: q.namespace } } : {}),
    },
  };
  const where: Prisma.ImageWhereInput = {
    containers: { some: running },
    ...(q.verdict ? { verdict: q.verdict } : {}),
    ...(q.registry ? { registry: q.registry } : {}),
    ...(q.signer ? { signers: { has: q.signer } } : {}),
    ...(q.q
      ? {
          OR: [
            { repository: { contains: q.q, mode: "insensitive" as const } },
            { digest: { startsWith: q.q.startsWith("sha256:") ? q.q : `sha256:${q.q}` } },
          ],
        }
      : {}),
  };
  const orderBy: Prisma.ImageOrderByWithRelationInput[] =
    q.sort === "lastSeen"
      ? [{ lastSeen: q.order }, { digest: "asc" }, { id: "asc" }]
      : q.sort === "containers"
        ? [{ runningContainers: q.order }, { digest: "asc" }, { id: "asc" }]
        : q.sort === "verdict"
          ? [{ verdict: { sort: q.order, nulls: "last" } }, { repository: "asc" }, { digest: "asc" }, { id: "asc" }]
          : [{ registry: q.order }, { repository: q.order }, { digest: q.order }, { id: "asc" }];
  const [total, rows] = await Promise.all([
    db.image.count({ where }),
    db.image.findMany({
      where,
      orderBy,
      skip: (q.page - 1) * q.pageSize,
      take: q.pageSize,
      select: { id: true, registry: true, repository: true, digest: true, verdict: true, discovery: true, runningContainers: true, signers: true, lastSeen: true },
    }),
  ]);
  return imageListDto.parse({
    total,
    page: q.page,
    pageSize: q.pageSize,
    rows: rows.map((r) => ({ ...r, lastSeen: r.lastSeen.toISOString() })),
  });
}
