import { createHash } from "node:crypto";
import { z } from "zod";
import type { Db } from "@/lib/db/client";
import { withTransaction } from "@/lib/db/transaction";
import { getEnv } from "@/lib/env";
import { notifyTick } from "@/lib/jobs/definitions/notify";
import { defineJob, type JobContext } from "@/lib/jobs/registry";
import { DISCOVERY_CLAIM_MS } from "@/lib/scan/discovery-claim";
import { getScanAdapters } from "@/lib/scan/real-adapters";
import { writeCoverageSnapshot } from "@/lib/scan/snapshot";
import { checkImages, createScan, finalizeScan, imageBatches, startReevaluation, startScan, type PipelineContext } from "@/lib/scan/pipeline";

/**
 * The scan pipeline's jobs. Keys make them deterministic: one start per scan, one check per
 * (image, scan); handlers are idempotent, so pg-boss retries after a crash are harmless.
 */
function pipeline(ctx: JobContext): PipelineContext {
  return {
    db: ctx.db,
    adapters: getScanAdapters(),
    log: ctx.log,
    enqueueImageCheck: (p) => ctx.enqueue(imageCheck, p),
    enqueueImageChecks: (ps) => ctx.enqueueMany(imageCheck, ps),
    evidenceMaxAgeMs: getEnv().SIGNET_EVIDENCE_MAX_AGE_MINUTES * 60_000,
    revalidatedWithinMs: getEnv().SIGNET_REVALIDATE_SECONDS * 1000,
    batchSize: getEnv().SIGNET_SCAN_BATCH_SIZE,
    discoveryClaimMs: (getEnv().SIGNET_DISCOVERY_CLAIM_SECONDS ?? DISCOVERY_CLAIM_MS / 1000) * 1000,
  };
}

/** A deterministic key for a batch: the same images of the same scan collapse into one queued job. */
function batchKey(p: { imageIds: string[]; scanId?: string | undefined; mode: string }): string {
  const ids = [...p.imageIds].sort().join(",");
  return `${p.scanId ?? p.mode}:${createHash("sha256").update(ids).digest("hex").slice(0, 32)}`;
}

export const scanStart = defineJob({
  name: "scan.start",
  schema: z.object({ scanId: z.uuid() }),
  key: (p) => p.scanId,
  queue: { policy: "short", notify: true, retryLimit: 5, retryDelay: 5, retryBackoff: true, expireInSeconds: 1800 },
  concurrency: 2,
  handler: async (p, ctx) => startScan(pipeline(ctx), p.scanId),
});

export const imageCheck = defineJob({
  name: "image.check",
  schema: z.object({
    imageIds: z.array(z.uuid()).min(1).max(500),
    scanId: z.uuid().optional(),
    mode: z.enum(["scan", "reverify"]),
    trigger: z.string().max(100).optional(),
    rediscover: z.boolean().optional(),
    confirmedSince: z.iso.datetime().optional(),
  }),
  key: batchKey,
  queue: { policy: "short", notify: true, retryLimit: 8, retryDelay: 2, retryBackoff: true, retryDelayMax: 120, expireInSeconds: 900 },
  handler: async (p, ctx) => {
    const r = await checkImages(pipeline(ctx), p);
    if (r.changed > 0) {
      // Best effort (the minute's notify.tick and the next scan catch up; a worker running only some
      // jobs may lack these queues): new failures are told within seconds, not at the next tick (one
      // queued run collapses the rest), and outside a scan (watch, revalidation, policy change)
      // nothing else refreshes coverage.
      const followUps = [ctx.enqueue(notifyTick, {}), ...(p.scanId ? [] : [ctx.enqueue(coverageRefresh, {})])];
      for (const f of await Promise.allSettled(followUps)) {
        if (f.status === "rejected") ctx.log.debug({ err: (f.reason as Error).message }, "follow-up of an image check not queued");
      }
    }
    return r;
  },
});

/** Seconds a coverage refresh waits, so that a burst of changes is counted once. */
const COVERAGE_DEBOUNCE_SECONDS = 3;
/** A refresh replaces the snapshot of its bucket: at most one point per 5 minutes on the charts. */
const COVERAGE_BUCKET_MS = 5 * 60_000;

/**
 * Changes between scans (a pod that left, a verdict a watch or a revalidation changed): a coverage
 * snapshot a few seconds later, replacing the one of the same 5-minute bucket. One queued at a time.
 */
export const coverageRefresh = defineJob({
  name: "coverage.refresh",
  schema: z.object({}).loose(),
  key: () => "coverage",
  queue: { policy: "short", retryLimit: 2, expireInSeconds: 300 },
  concurrency: 1,
  startAfterSeconds: COVERAGE_DEBOUNCE_SECONDS,
  handler: async (_p, ctx) => {
    const r = await withTransaction(ctx.db, (tx) => writeCoverageSnapshot(tx as unknown as Db, new Date(), { replaceWithinMs: COVERAGE_BUCKET_MS }), { timeout: 120_000 });
    return { rows: r.rows };
  },
});

/**
 * Every minute: start the periodic full scan when due, and sweep — re-send checks that were lost
 * (a worker killed between claiming and finishing, a job expired), finalize scans whose items are all
 * settled, restart scans stuck in inventory.
 */
export const scanTick = defineJob({
  name: "scan.tick",
  schema: z.object({}).loose(),
  cron: "* * * * *",
  queue: { policy: "short", retryLimit: 0, expireInSeconds: 300 },
  handler: async (_p, ctx) => {
    const { db } = ctx;
    const now = Date.now();
    const intervalMs = getEnv().SIGNET_SCAN_INTERVAL_MINUTES * 60_000;
    const staleMs = getEnv().SIGNET_SWEEP_STALE_SECONDS * 1000;
    // Several workers, and a tick that outlasts its minute, can run two ticks at once: the decision and
    // the new scan row commit under one lock, so the second tick sees the first one's scan and a
    // periodic scan never starts twice.
    const started = await withTransaction(
      db,
      async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('scan-schedule'))`;
        const active = await tx.scan.findFirst({ where: { status: { in: ["queued", "running"] }, kind: "full" }, select: { id: true } });
        const last = await tx.scan.findFirst({ where: { kind: "full" }, orderBy: { createdAt: "desc" }, select: { createdAt: true } });
        if (active || (last && now - last.createdAt.getTime() < intervalMs)) return null;
        return createScan(tx, { trigger: "schedule" });
      },
      { timeout: 30_000 },
    );
    if (started) await ctx.enqueue(scanStart, { scanId: started });
    const running = await db.scan.findMany({ where: { status: { in: ["queued", "running"] } } });
    let resent = 0;
    for (const scan of running) {
      if (scan.id === started) continue;
      const age = now - (scan.startedAt ?? scan.createdAt).getTime();
      if (scan.kind === "reevaluate" && scan.stage === "queued") {
        // its job was lost before it started (the key makes a live one absorb this)
        if (age > staleMs) await ctx.enqueue(reevaluateAll, { reason: scan.trigger.slice(0, 200), scanId: scan.id });
        continue;
      }
      if ((scan.stage === "queued" || scan.stage === "inventory" || scan.stage === "resolve") && age > staleMs) {
        // a live scan.start holds the scan's lock, so a duplicate returns at once (startScan)
        await ctx.enqueue(scanStart, { scanId: scan.id });
        continue;
      }
      if (scan.stage !== "verify") continue;
      const stale = await db.scanItem.findMany({
        where: { scanId: scan.id, status: "pending", updatedAt: { lt: new Date(now - staleMs) } },
        select: { imageId: true },
        take: 5000,
      });
      const batches = imageBatches(stale.map((i) => i.imageId), { scanId: scan.id, mode: "scan", trigger: scan.trigger }, getEnv().SIGNET_SCAN_BATCH_SIZE);
      await ctx.enqueueMany(imageCheck, batches);
      resent += stale.length;
      if (stale.length) await db.scanItem.updateMany({ where: { scanId: scan.id, imageId: { in: stale.map((s) => s.imageId) } }, data: { updatedAt: new Date() } });
      await finalizeScan(pipeline(ctx), scan.id);
    }
    return { started, resent };
  },
});

/**
 * A policy or an authority changed: re-verify and re-evaluate every running image from stored
 * evidence (no registry traffic), as a `reevaluate` scan whose finalize writes the coverage snapshot
 * (the overview shows "re-evaluating…" until then). The web creates the scan row when it saves
 * (lib/data/enqueue.ts); without one, the job creates it.
 */
export const reevaluateAll = defineJob({
  name: "policy.reevaluate",
  schema: z.object({ reason: z.string().max(200), scanId: z.uuid().optional() }),
  key: (p) => p.scanId ?? "all",
  queue: { policy: "short", notify: true, retryLimit: 3, retryBackoff: true, expireInSeconds: 600 },
  concurrency: 1,
  handler: async (p, ctx) => {
    const scanId = p.scanId ?? (await createScan(ctx.db, { trigger: p.reason, kind: "reevaluate" }));
    return (await startReevaluation(pipeline(ctx), scanId)) ?? { skipped: true };
  },
});
