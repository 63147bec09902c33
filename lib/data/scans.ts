import "server-only";
import type { Db } from "@/lib/db/client";
import { withSnapshot } from "@/lib/db/cursor";
import { scanItemListDto, scanItemStatus, type ScanItemListDto, type ScanItemsQuery } from "@/lib/dto/drilldown";
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
    itemsRemovedAt: s.itemsRemovedAt?.toISOString() ?? null,
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

/**
 * A scan's items (one per image it checks) of the statuses asked for, a page of them in the order of
 * their image ids, with their counts by status and the scan itself, all read in one snapshot: the list
 * behind the scan's progress (its `done` counts the settled items, done or error; its `total` all of
 * them), so the figure and the rows agree even while the scan runs. Null: no such scan.
 */
export async function listScanItems(db: Db, scanId: string, q: ScanItemsQuery): Promise<ScanItemListDto | null> {
  const statuses = q.status ?? scanItemStatus.options;
  return withSnapshot(
    db,
    async (tx) => {
      const scan = await tx.scan.findUnique({ where: { id: scanId }, include: { cluster: { select: { name: true } } } });
      if (!scan) return null;
      // the counts by the (scanId, status) index, the page by the primary key (scanId, imageId)
      const rows = await tx.$queryRaw<ItemRow[]>`
        WITH counts AS (
          SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending, count(*) FILTER (WHERE status = 'done')::int AS done,
                 count(*) FILTER (WHERE status = 'error')::int AS error
          FROM "ScanItem" WHERE "scanId" = ${scanId}::uuid),
        page AS (
          SELECT * FROM "ScanItem" WHERE "scanId" = ${scanId}::uuid AND status = ANY(${statuses}::text[]::"ScanItemStatus"[])
          ORDER BY "imageId" LIMIT ${q.pageSize} OFFSET ${(q.page - 1) * q.pageSize})
        SELECT counts.pending, counts.done, counts.error, page."imageId"::text AS "imageId", page.status::text AS status, page.outcome, page.error AS "itemError",
               page.evidence, page.reevaluated, page."updatedAt", i.registry, i.repository, i.digest
        FROM counts LEFT JOIN page ON TRUE LEFT JOIN "Image" i ON i.id = page."imageId"
        ORDER BY page."imageId"`;
      const counts = { pending: rows[0]?.pending ?? 0, done: rows[0]?.done ?? 0, error: rows[0]?.error ?? 0 };
      return scanItemListDto.parse({
        scan: toDto(scan),
        counts,
        total: statuses.reduce((n, s) => n + counts[s], 0),
        page: q.page,
        pageSize: q.pageSize,
        rows: rows.flatMap((r) =>
          r.imageId && r.status && r.updatedAt
            ? [
                {
                  imageId: r.imageId,
                  image: r.registry && r.repository ? `${r.registry}/${r.repository}` : null,
                  digest: r.digest,
                  status: r.status,
                  outcome: r.outcome,
                  error: r.itemError,
                  evidence: r.evidence,
                  reevaluated: r.reevaluated,
                  updatedAt: r.updatedAt.toISOString(),
                },
              ]
            : [],
        ),
      });
    },
    30_000,
  );
}

interface ItemRow {
  pending: number;
  done: number;
  error: number;
  // null in the one row of a page with no item
  imageId: string | null;
  status: string | null;
  outcome: string | null;
  itemError: string | null;
  evidence: string | null;
  reevaluated: boolean | null;
  updatedAt: Date | null;
  registry: string | null;
  repository: string | null;
  digest: string | null;
}
