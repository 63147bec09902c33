import "server-only";
import type { Db } from "@/lib/db/client";
import { scanDto, type ScanDto } from "@/lib/dto/read";

type ScanRow = Awaited<ReturnType<Db["scan"]["findFirstOrThrow"]>> & { cluster: { name: string } | null };

function toDto(s: ScanRow): ScanDto {
  return scanDto.parse({
    id: s.id,
    kind: s.kind,
    trigger: s.trigger,
    cluster: s.cluster?.name ?? null,
    status: s.status,
    stage: s.stage,
    done: s.done,
    total: s.total,
    counts: s.counts,
    errors: s.errors,
    createdAt: s.createdAt.toISOString(),
    startedAt: s.startedAt?.toISOString() ?? null,
    finishedAt: s.finishedAt?.toISOString() ?? null,
  });
}

export async function listScans(db: Db, limit = 50): Promise<ScanDto[]> {
  const rows = await db.scan.findMany({ orderBy: { createdAt: "desc" }, take: limit, include: { cluster: { select: { name: true } } } });
  return rows.map(toDto);
}

export async function getScan(db: Db, id: string): Promise<ScanDto | null> {
  const row = await db.scan.findUnique({ where: { id }, include: { cluster: { select: { name: true } } } });
  return row ? toDto(row) : null;
}
