import "server-only";
import type { Db } from "@/lib/db/client";

/**
 * What a running Signet stops keeping (docs/decisions/0028). Two tables grow without bound otherwise:
 * a scan writes one ScanItem per image it checks (10,000 a scan at 100,000 pods: 1.4 million a day at
 * the default 10-minute interval), and a pod that leaves its cluster keeps its row, its containers and
 * their verdicts (marked deleted: they leave coverage at once) — a cluster with churn (jobs, autoscaling)
 * adds thousands a day. The sweep removes, in bounded statements:
 *
 * - the items of scans finished more than `scanItemsKeepDays` ago; the Scan row, its counts and errors
 *   stay, and `itemsRemovedAt` says when the items went;
 * - pods deleted more than `gonePodsKeepDays` ago, with their containers, the containers' verdicts and
 *   stored buckets (foreign keys cascade). The audit log keeps every event they had (it is append-only
 *   and names a container by id, without a foreign key); images, their evidence, namespaces and
 *   workloads stay.
 *
 * A live pod is never touched, nor a pod deleted within the keep time; a pod's uid is unique for ever in
 * Kubernetes, so no later inventory can list a removed one again. Each statement removes at most
 * `chunk` rows, so a first sweep over a large backlog holds no lock long; it goes on until the backlog
 * is gone or `maxStatements` ran (the next sweep continues).
 */
export interface RetentionOptions {
  now: Date;
  scanItemsKeepDays: number;
  gonePodsKeepDays: number;
  /** Rows per statement (default 5,000). */
  chunk?: number;
  /** Statements per kind of row and sweep at most (default 200: a million rows of each). */
  maxStatements?: number;
}

export interface RetentionResult {
  /** Scans whose items were all removed. */
  scans: number;
  scanItems: number;
  pods: number;
  /** More was due than this sweep removed (maxStatements): the next sweep continues. */
  more: boolean;
}

const DAY_MS = 86_400_000;

export async function sweepRetention(db: Db, opts: RetentionOptions): Promise<RetentionResult> {
  const chunk = opts.chunk ?? 5000;
  const maxStatements = opts.maxStatements ?? 200;
  const result: RetentionResult = { scans: 0, scanItems: 0, pods: 0, more: false };

  // the items of scans finished before the cutoff, oldest scan first
  const itemsCutoff = new Date(opts.now.getTime() - opts.scanItemsKeepDays * DAY_MS);
  const scans = await db.$queryRaw<{ id: string }[]>`
    SELECT id FROM "Scan" WHERE "finishedAt" < ${itemsCutoff} AND "itemsRemovedAt" IS NULL ORDER BY "finishedAt"`;
  let budget = maxStatements;
  scans: for (const { id } of scans) {
    for (;;) {
      if (budget-- <= 0) {
        result.more = true;
        break scans;
      }
      const n = await db.$executeRaw`
        DELETE FROM "ScanItem" WHERE "scanId" = ${id}::uuid AND "imageId" IN (
          SELECT "imageId" FROM "ScanItem" WHERE "scanId" = ${id}::uuid LIMIT ${chunk})`;
      result.scanItems += n;
      if (n < chunk) break;
    }
    await db.$executeRaw`UPDATE "Scan" SET "itemsRemovedAt" = ${opts.now} WHERE id = ${id}::uuid`;
    result.scans++;
  }

  // pods gone before the cutoff (Pod (deletedAt) index), with what cascades from them
  const podsCutoff = new Date(opts.now.getTime() - opts.gonePodsKeepDays * DAY_MS);
  budget = maxStatements;
  for (;;) {
    if (budget-- <= 0) {
      result.more = true;
      break;
    }
    const n = await db.$executeRaw`
      DELETE FROM "Pod" WHERE id IN (
        SELECT id FROM "Pod" WHERE "deletedAt" IS NOT NULL AND "deletedAt" < ${podsCutoff} LIMIT ${chunk})`;
    result.pods += n;
    if (n < chunk) break;
  }
  return result;
}
