import "server-only";
import { candidateKeys } from "@/lib/policy/compile";
import type { Logger } from "pino";
import type { Db } from "@/lib/db/client";
import { createLimiter, mapLimit } from "@/lib/concurrency";
import { insertRows } from "@/lib/db/bulk";
import { refreshPlannerStatistics } from "@/lib/db/statistics";
import { withTransaction, type Tx } from "@/lib/db/transaction";
import type { DiscoveredArtifact, DiscoveryResult } from "@/lib/evidence/types";
import { parseImageReference } from "@/lib/kube/image-ref";
import type { DiscoveryFact } from "@/lib/policy/facts";
import { loadActivePolicies, type LoadedPolicy } from "@/lib/policy/store";
import type { ClusterTarget, DiscoveryBatch, ScanAdapters } from "@/lib/scan/adapters";
import { evaluateImages, evaluateUnresolvedContainers, UNRESOLVED_CONTAINERS_A_TRANSACTION, type EvaluateImageInput, type UnresolvedContainer } from "@/lib/scan/evaluate-image";
import { discoveryClaims } from "@/lib/scan/discovery-claim";
import { loadStoredArtifactsMany, storeEvidenceBatch, type EvidenceUpdate } from "@/lib/scan/evidence-store";
import { toEvidenceFact } from "@/lib/scan/facts";
import { addImageReferences, keepInventory, persistInventory, persistRejections, storedListVersions, updateRunningContainers } from "@/lib/scan/persist-inventory";
import { mergeSources, pullSecretSourcesOfContainers, pullSecretSourcesOfImages } from "@/lib/scan/pull-secret-sources";
import { writeCoverageSnapshot } from "@/lib/scan/snapshot";
import { imageChecks, scanDurationSeconds, scansFinished, scanStageSeconds } from "@/lib/metrics/process";

/**
 * The scan pipeline as plain functions over the database and the adapters; lib/jobs/definitions/scan.ts
 * runs them as pg-boss jobs:
 *   scan.start (per scan): inventory every cluster → persist → resolve tags → one ScanItem per image
 *   image.check (per image): discover (or reuse stored artifacts) → verify → evaluate → store
 *   finalize (when every item is settled): coverage snapshot, scan status and counts
 * Every step is idempotent: a job killed at any point and run again converges on the same rows.
 */
export interface PipelineContext {
  db: Db;
  adapters: ScanAdapters;
  log: Logger;
  now?: () => Date;
  enqueueImageCheck(payload: ImageCheckPayload): Promise<unknown>;
  /** Many at once (one statement); without it, enqueueImageCheck for each. */
  enqueueImageChecks?(payloads: ImageCheckPayload[]): Promise<unknown>;
  /**
   * In a scan, stored evidence younger than this is reused when the repository's tag listing still
   * shows the cosign tags it came from (SIGNET_EVIDENCE_MAX_AGE_MINUTES). 0 or unset: always discover.
   */
  evidenceMaxAgeMs?: number;
  /**
   * In a scan, stored evidence (within evidenceMaxAgeMs) confirmed current against the registry less
   * than this long ago (`Image.revalidatedAt`: a discovery, a matching tag listing, the worker's
   * revalidation cycle) is reused without asking the registry: SIGNET_REVALIDATE_SECONDS, the bound
   * within which the worker notices a pushed or deleted signature. 0 or unset: always list. Set by the
   * in-process scan of `signet scan` (cli/commands/scan-here.ts) and by the worker (its revalidation
   * cycle keeps the stored evidence confirmed within the bound between scans); a scan someone asked
   * for ("Scan now": `listsEveryRepository`) lists every repository all the same (ADR 0022).
   */
  revalidatedWithinMs?: number;
  /**
   * Stored artifacts this process read ahead (verifyStoredAhead), by image, with the discovery they
   * came from (`Image.discoveredAt`, which moves in the transaction that replaces an image's evidence):
   * a check takes an entry whose discovery is the image's instead of reading the rows again, and drops
   * it. Unset: every check reads what it reuses. Set by the in-process scan (cli/commands/scan-here.ts).
   */
  storedArtifacts?: Map<string, { discoveredAt: number; artifacts: DiscoveredArtifact[] }>;
  /** Images per image-check job (SIGNET_SCAN_BATCH_SIZE); unset: scanBatchSize. */
  batchSize?: number;
  /** How long a discovery claim holds off other checks of the same image (default DISCOVERY_CLAIM_MS). */
  discoveryClaimMs?: number;
  /**
   * Runs image-check batches now and resolves once they are settled. Set by the in-process scan
   * (cli/commands/scan-here.ts), whose clusters are proven unchanged by a watch that waits 1–2 s for
   * the API server: when every scanned cluster has stored list versions (its proof is pending),
   * scan.start checks the stored inventory's images with it during that wait, and redoes the checks
   * after a cluster's new list when one changed (docs/decisions/0016). Unset (the worker): inventory
   * first, then the checks.
   */
  checkAhead?(batches: ImageCheckPayload[]): Promise<void>;
}

export interface ImageCheckPayload {
  /** A batch of images (see imageBatches). */
  imageIds: string[];
  scanId?: string;
  /** scan: discover from the registry; reverify: use stored artifacts (policy or key change, no network). */
  mode: "scan" | "reverify";
  trigger?: string;
  /** Discover from the registry whatever is stored (revalidation saw the image's signatures change). */
  rediscover?: boolean;
  /**
   * The scan's start (ISO time): evidence discovered since then — by this scan's discovery ahead of
   * its checks (discoverAhead) — is as current as a discovery now, and is reused without a listing.
   */
  confirmedSince?: string;
}

export interface ScanError {
  cluster?: string;
  imageId?: string;
  stage: string;
  message: string;
}

const clock = (ctx: PipelineContext) => (ctx.now ? ctx.now() : new Date());

/**
 * A scan row: a full scan, one cluster's, or a re-evaluation from stored evidence after a policy or key
 * change (kind `reevaluate`: no inventory, no registry traffic; its finalize writes the coverage
 * snapshot every figure of the overview reads, so they follow the change).
 */
export async function createScan(db: Db | Tx, opts: { cluster?: string; trigger: string; kind?: "reevaluate" }): Promise<string> {
  let clusterId: string | null = null;
  if (opts.cluster) {
    const c = await db.cluster.upsert({ where: { name: opts.cluster }, create: { name: opts.cluster }, update: {}, select: { id: true } });
    clusterId = c.id;
  }
  const kind = opts.kind ?? (opts.cluster ? "cluster" : "full");
  const scan = await db.scan.create({ data: { kind, trigger: opts.trigger, clusterId, status: "queued", stage: "queued" } });
  return scan.id;
}

/**
 * Runs `fn` while holding a transaction-scoped advisory lock on `key` (on a connection of its own), or
 * returns `{ skipped: true }` at once when another live process holds it. A process that dies releases
 * the lock with its connection, so the sweep's re-sent job takes over.
 */
async function exclusively<T>(db: Db, key: string, fn: () => Promise<T>): Promise<{ skipped: true } | { skipped: false; value: T }> {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let settle!: (ok: boolean) => void;
  let fail!: (err: unknown) => void;
  const acquired = new Promise<boolean>((res, rej) => ((settle = res), (fail = rej)));
  const tx = withTransaction(
    db,
    async (t) => {
      const rows = await t.$queryRaw<{ ok: boolean }[]>`SELECT pg_try_advisory_xact_lock(hashtext(${key})) AS ok`;
      const ok = rows[0]?.ok === true;
      settle(ok);
      if (ok) await held;
    },
    { timeout: 6 * 3600_000, maxWait: 30_000 },
  ).catch((err: unknown) => fail(err));
  try {
    if (!(await acquired)) return { skipped: true };
    return { skipped: false, value: await fn() };
  } finally {
    release();
    await tx;
  }
}

/**
 * Inventory → persist → resolve → work items. Safe to run again after a crash at any point; a second
 * run while the first is alive (the sweep re-sends scans that look stuck) returns without doing anything.
 */
export async function startScan(ctx: PipelineContext, scanId: string): Promise<void> {
  await exclusively(ctx.db, `scan-start:${scanId}`, () => startScanLocked(ctx, scanId));
}

async function startScanLocked(ctx: PipelineContext, scanId: string): Promise<void> {
  const { db, adapters, log } = ctx;
  const scan = await db.scan.findUnique({ where: { id: scanId }, include: { cluster: true } });
  if (!scan || scan.status === "succeeded" || scan.status === "partial" || scan.status === "failed") return;
  const startedAt = scan.startedAt ?? clock(ctx);
  await db.scan.update({ where: { id: scanId }, data: { status: "running", stage: "inventory", startedAt } });

  const errors: ScanError[] = [];
  let targets = await adapters.listClusters();
  if (scan.cluster) targets = targets.filter((t) => t.name === scan.cluster!.name);
  const problem = adapters.configurationProblem?.() ?? null;
  if (scan.cluster && targets.length === 0) errors.push({ cluster: scan.cluster.name, stage: "inventory", message: problem ?? "no such cluster in the configuration" });
  if (!scan.cluster && targets.length === 0) errors.push({ stage: "configuration", message: problem ?? "no clusters configured (no kubeconfig context and no in-cluster service account)" });
  if (!scan.cluster && targets.length === 0) {
    // no cluster can be read any more: what the known ones run is last known (stale), with the reason
    await db.cluster.updateMany({
      where: { enabled: true, lastError: null },
      data: { lastError: `configuration: ${problem ?? "no clusters configured"}`, lastErrorAt: clock(ctx) },
    });
  }
  await db.scan.update({ where: { id: scanId }, data: { total: targets.length, done: 0 } });

  let clustersOk = 0;
  const t0 = performance.now();
  const lap: Record<string, number> = {};
  let lapAt = t0;
  const mark = (name: string) => {
    const at = performance.now();
    lap[name] = Math.round(at - lapAt);
    scanStageSeconds.observe({ stage: name }, (at - lapAt) / 1000);
    lapAt = at;
  };
  // Small clusters are listed 4 at once and written one at a time (a write's working set — the stored
  // rows it compares with, its upsert batches, the inventory's digest — is the larger part); a cluster
  // whose last inventory had LARGE_CLUSTER_PODS pods or more, or was never taken, is listed and written
  // alone, after them: three of 33,000 pods held at once exceeded the worker's heap (docs/decisions/0019)
  const writeOne = createLimiter(1);
  const sizes = new Map(
    (
      await db.$queryRaw<{ name: string; pods: number }[]>`
        SELECT c.name, count(p.id)::int AS pods FROM "Cluster" c LEFT JOIN "Pod" p ON p."clusterId" = c.id AND p."deletedAt" IS NULL
        WHERE c.name = ANY(${targets.map((t) => t.name)}::text[]) GROUP BY c.name`
    ).map((r) => [r.name, r.pods]),
  );
  const small = targets.filter((t) => (sizes.get(t.name) ?? Infinity) < LARGE_CLUSTER_PODS);
  const large = targets.filter((t) => !small.includes(t));
  const clusterNames = targets.map((t) => t.name);
  // In process, every cluster's unchanged-proof pending: the stored inventory's images are checked
  // while the proofs wait (checkAhead); inventory writes wait for those checks (no row contention),
  // and a cluster listed after all makes the checks run again over its new inventory (below).
  const storedVersions = new Map(
    await Promise.all(targets.map(async (t) => [t.name, !adapters.followedInStep && adapters.unchangedSince ? await storedListVersions(db, t.name) : null] as const)),
  );
  const ahead =
    ctx.checkAhead && targets.length > 0 && targets.every((t) => storedVersions.get(t.name))
      ? prepareItems(ctx, scanId, scan.trigger, clusterNames).then(async (errs) => {
          await ctx.checkAhead!((await pendingChecks(ctx, scanId, scan.trigger, startedAt.toISOString())).batches);
          return errs;
        })
      : undefined;
  ahead?.catch(() => undefined); // (awaited below)
  let listed = 0;
  const inventoryOne = async (t: ClusterTarget) => {
    const started = performance.now();
    // followed by this worker's watch, which wrote every change: the stored inventory is the cluster's
    const followed = adapters.followedInStep ? await adapters.followedInStep(t) : false;
    // without a pod watch between scans: a cluster proven unchanged since its stored lists is not listed
    const since = followed ? null : (storedVersions.get(t.name) ?? null);
    const proof = since ? await adapters.unchangedSince!(t, since) : undefined;
    if (followed || proof?.unchanged) {
      await ahead?.catch(() => undefined);
      const kept = await keepInventory(db, t.name, clock(ctx));
      clustersOk++;
      log.info(
        { cluster: t.name, pods: kept.pods, checkedMs: Math.round(performance.now() - started) },
        followed ? "cluster followed by this worker's watch: stored inventory in step (not listed)" : "cluster unchanged since its stored inventory (not listed)",
      );
    } else {
      const inv = await adapters.inventory(t);
      const listedMs = Math.round(performance.now() - started);
      await ahead?.catch(() => undefined);
      listed++;
      // (the running-container counts of every image are recounted once, after the last cluster: prepareItems)
      const persisted = await writeOne(() => persistInventory(db, inv, { recount: false }));
      // its new images' evidence while the next clusters are listed
      discovering.add(persisted.imageIds);
      if (inv.error) errors.push({ cluster: t.name, stage: "inventory", message: `${inv.error.kind}: ${inv.error.message}` });
      else clustersOk++;
      log.info(
        { cluster: t.name, pods: persisted.pods, error: inv.error?.message, listedMs, persistedMs: Math.round(performance.now() - started) - listedMs, ...(proof ? { listedBecause: proof.why } : {}) },
        "cluster inventoried",
      );
    }
    try {
      await persistRejections(db, await adapters.rejections(t));
    } catch (err) {
      errors.push({ cluster: t.name, stage: "rejections", message: (err as Error).message });
    }
    await db.scan.update({ where: { id: scanId }, data: { done: { increment: 1 } } });
  };
  const discovering = discoverAhead(ctx, { scanId, trigger: scan.trigger });
  try {
    await mapLimit(small, 4, inventoryOne);
    for (const t of large) await inventoryOne(t);
  } finally {
    await ahead?.catch(() => undefined);
    const discovered = await discovering.finish();
    if (discovered > 0) log.debug({ scanId, images: discovered }, "images discovered ahead of the image checks");
  }
  mark("inventory");
  if (listed > 0) {
    // the checks join the inventory just written: by statistics of it, not of the tables as they were
    // before (a first scan: none; ADR 0019); a failure costs plans, not the scan
    try {
      const analyzed = await refreshPlannerStatistics(db);
      if (analyzed.length) log.debug({ scanId, tables: analyzed }, "planner statistics refreshed after the inventory");
    } catch (err) {
      log.warn({ scanId, err: (err as Error).message }, "planner statistics not refreshed");
    }
    mark("statistics");
  }
  let resolveErrors = ahead ? await ahead : undefined;
  if (resolveErrors && listed > 0) {
    // a cluster changed since its stored lists: what was checked ahead is checked again over the
    // inventory now stored (an image whose evaluation inputs did not change keeps its verdicts); items
    // of images no longer running leave the scan, and the new ones join it
    await db.$executeRaw`
      DELETE FROM "ScanItem" si WHERE si."scanId" = ${scanId}::uuid AND NOT EXISTS (
        SELECT 1 FROM "Container" c JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL JOIN "Cluster" cl ON cl.id = p."clusterId"
        WHERE c."imageId" = si."imageId" AND cl.name = ANY(${clusterNames}::text[]))`;
    await db.$executeRaw`UPDATE "ScanItem" SET status = 'pending' WHERE "scanId" = ${scanId}::uuid`;
    resolveErrors = undefined;
  }
  if (resolveErrors) mark("ahead");
  else {
    await db.scan.update({ where: { id: scanId }, data: { stage: "resolve" } });
    resolveErrors = await prepareItems(ctx, scanId, scan.trigger, clusterNames, mark);
  }
  errors.push(...resolveErrors);
  const { total, pending, batches } = await pendingChecks(ctx, scanId, scan.trigger, startedAt.toISOString());
  const done = total - pending;
  await db.scan.update({
    where: { id: scanId },
    data: {
      stage: "verify",
      total,
      done,
      errors: errors as never,
      counts: { clusters: targets.length, clustersOk, images: total } as never,
    },
  });
  mark("items");
  if (ctx.enqueueImageChecks) await ctx.enqueueImageChecks(batches);
  else for (const b of batches) await ctx.enqueueImageCheck(b);
  mark("enqueue");
  log.info({ scanId, images: total, pending, batches: batches.length, checkedAhead: ahead !== undefined, ms: Math.round(performance.now() - t0), stages: lap }, "scan inventoried; image checks queued");
  if (pending === 0) await finalizeScan(ctx, scanId);
}

/**
 * The scan's work items over the inventory stored now: tags without an observed digest resolved,
 * running-container counts kept true, one ScanItem per distinct image running in `clusterNames`.
 * Returns the resolutions that failed.
 */
async function prepareItems(
  ctx: PipelineContext,
  scanId: string,
  trigger: string,
  clusterNames: string[],
  mark: (stage: string) => void = () => undefined,
): Promise<ScanError[]> {
  const { db, adapters } = ctx;
  const errors: ScanError[] = [];
  // Tags without an observed digest: resolve each distinct reference once through its registry.
  const unresolved = await db.container.findMany({
    where: { digest: null, pod: { deletedAt: null, cluster: { name: { in: clusterNames } } } },
    select: { id: true, imageRef: true },
  });
  const byRef = new Map<string, string[]>();
  for (const c of unresolved) byRef.set(c.imageRef, [...(byRef.get(c.imageRef) ?? []), c.id]);
  const stillUnresolved: UnresolvedContainer[] = [];
  const refSources = adapters.readsPullSecrets ? await pullSecretSourcesOfContainers(db, unresolved.map((c) => c.id)) : undefined;
  await mapLimit([...byRef], 8, async ([ref, ids]) => {
    const parsed = parseImageReference(ref);
    if (!parsed) {
      errors.push({ stage: "resolve", message: `${ref}: not a valid image reference` });
      stillUnresolved.push(...ids.map((id) => ({ id, reason: "not a valid image reference" })));
      return;
    }
    const r = await adapters.resolveDigest(parsed, refSources ? mergeSources(ids.map((id) => refSources.get(id))) : undefined, { scanId });
    if ("error" in r) {
      errors.push({ stage: "resolve", message: `${ref}: ${r.error}` });
      stillUnresolved.push(...ids.map((id) => ({ id, reason: r.error })));
      return;
    }
    const image = await db.image.upsert({
      where: { registry_repository_digest: { registry: parsed.registry, repository: parsed.repository, digest: r.digest } },
      create: { registry: parsed.registry, repository: parsed.repository, digest: r.digest },
      update: { lastSeen: clock(ctx) },
      select: { id: true },
    });
    const resolved = await db.container.updateMany({ where: { id: { in: ids }, digest: null }, data: { digest: r.digest, digestSource: "resolved", imageId: image.id } });
    if (resolved.count > 0) await addImageReferences(db, [{ image: image.id, ref }], clock(ctx));
  });

  // containers still without a digest: an `error` verdict for every policy that applies to them
  if (stillUnresolved.length) {
    await evaluateUnresolvedContainers(db, { containers: stillUnresolved, policies: await loadActivePolicies(db), now: clock(ctx), trigger });
  }
  mark("resolve");
  // Keep the denormalized count of running containers true for every image (image lists filter on it),
  // including images whose last pod just went away.
  await updateRunningContainers(db);
  mark("counts");

  // One work item per distinct image running in the scanned clusters (one statement: no id travels),
  // from the clusters each image runs in as just recounted (`Image.runningClusters`, GIN index): the
  // scanned clusters' images, not a second pass over every live container (100,000 at scale)
  await db.$executeRaw`
    INSERT INTO "ScanItem" ("scanId", "imageId")
    SELECT ${scanId}::uuid, i.id FROM "Image" i
    WHERE i."runningClusters" && ARRAY(SELECT id FROM "Cluster" WHERE name = ANY(${clusterNames}::text[]))
    ON CONFLICT DO NOTHING`;
  return errors;
}

/** The scan's items still pending, as image-check batches, and how many items it has. */
async function pendingChecks(
  ctx: PipelineContext,
  scanId: string,
  trigger: string,
  confirmedSince: string,
): Promise<{ total: number; pending: number; batches: ImageCheckPayload[] }> {
  const { db } = ctx;
  // batches of images of the same repositories share the registry round trips of discovery; an item
  // whose image was deleted in between still gets a check (which settles it as gone), last
  const pending = (
    await db.$queryRaw<{ imageId: string }[]>`
      SELECT si."imageId" FROM "ScanItem" si LEFT JOIN "Image" i ON i.id = si."imageId"
      WHERE si."scanId" = ${scanId}::uuid AND si.status = 'pending'
      ORDER BY i.registry, i.repository, i.id, si."imageId"`
  ).map((r) => ({ imageId: r.imageId }));
  const total = await db.scanItem.count({ where: { scanId } });
  return { total, pending: pending.length, batches: imageBatches(pending.map((p) => p.imageId), { scanId, mode: "scan", trigger, confirmedSince }, ctx.batchSize) };
}

/** A cluster with this many pods (or never inventoried) is listed and written alone (memory). */
export const LARGE_CLUSTER_PODS = 10_000;

/** Images per image-check job: big enough to share round trips, small enough to spread over workers. */
export const IMAGE_BATCH_SIZE = 100;

/**
 * The batch size of a scan of `images` images: IMAGE_BATCH_SIZE, or larger for a large scan — at least
 * 32 batches (four workers' eight slots each busy to the end) of at most 250 images (a worker's eight
 * slots hold eight batches' containers and verdicts at once: its peak memory). Every batch costs
 * the same fixed work whatever its size (about 20 statements, its job, the policies loaded): a rescan
 * with nothing changed, where that is most of the work, of 10,000 images ran 100 batches
 * (docs/decisions/0004).
 */
export function scanBatchSize(images: number): number {
  return Math.min(250, Math.max(IMAGE_BATCH_SIZE, Math.ceil(images / 32)));
}

/** Splits image ids into image-check payloads of `size` (scanBatchSize when unset), in the given order. */
export function imageBatches(imageIds: readonly string[], base: Omit<ImageCheckPayload, "imageIds">, size = scanBatchSize(imageIds.length)): ImageCheckPayload[] {
  const out: ImageCheckPayload[] = [];
  for (let i = 0; i < imageIds.length; i += size) out.push({ ...base, imageIds: imageIds.slice(i, i + size) });
  return out;
}

/**
 * Discovery ahead of a scan's image checks. A scan lists its large clusters one after the other (a
 * cluster's inventory is held in memory while it is written), and its checks start when the last one
 * is written; meanwhile the registry and the verification would wait, and the machine is far from
 * busy (listing is the API server's work, writing the database's, one at a time). So the images of
 * each cluster written that need a discovery (never discovered, failed, or older than the evidence
 * bound) are discovered, verified and stored here, a batch at a time, while the next clusters are
 * listed. Evaluation is left to the checks: containers of the clusters not listed yet may run the
 * same images. A check then reuses evidence discovered since the scan started without asking the
 * registry again (ImageCheckPayload.confirmedSince), and one whose image is being discovered here
 * waits for it (discovery claims). `finish` stops taking batches and waits for the one running.
 * Best effort: a batch that fails is left to the checks, which discover as always.
 */
export function discoverAhead(ctx: PipelineContext, payload: { scanId: string; trigger: string }): { add(imageIds: readonly string[]): void; finish(): Promise<number> } {
  const maxAgeMs = ctx.evidenceMaxAgeMs ?? 0;
  const queued = new Set<string>();
  let pending: string[] = [];
  let stopped = false;
  let discovered = 0;
  let running: Promise<void> | undefined;
  const size = ctx.batchSize ?? IMAGE_BATCH_SIZE;
  const loop = async () => {
    while (!stopped && pending.length > 0) {
      const ids = pending.slice(0, size);
      pending = pending.slice(size);
      try {
        // only what a check would discover: no stored evidence within the bound
        const due = await ctx.db.$queryRaw<{ id: string }[]>`
          SELECT id FROM "Image" WHERE id = ANY(${ids}::uuid[])
            AND (discovery NOT IN ('found', 'none') OR "discoveredAt" IS NULL OR "discoveredAt" <= ${new Date(clock(ctx).getTime() - maxAgeMs)})
          ORDER BY registry, repository, id`;
        if (due.length === 0) continue;
        await checkImages(ctx, { imageIds: due.map((r) => r.id), scanId: payload.scanId, mode: "scan", trigger: payload.trigger }, { discoverOnly: true });
        discovered += due.length;
      } catch (err) {
        ctx.log.warn({ err: (err as Error).message, images: ids.length }, "discovery ahead of the image checks failed (the checks discover)");
      }
    }
  };
  const kick = () => {
    if (running || stopped || pending.length === 0) return;
    running = loop().finally(() => {
      running = undefined;
      kick();
    });
  };
  return {
    add(imageIds) {
      // without reusable evidence (no bound) a check discovers again whatever was discovered ahead
      if (stopped || maxAgeMs <= 0) return;
      for (const id of imageIds) {
        if (queued.has(id)) continue;
        queued.add(id);
        pending.push(id);
      }
      kick();
    },
    async finish() {
      stopped = true;
      pending = [];
      await running;
      return discovered;
    },
  };
}

/** The cosign tags recorded for an image's stored artifacts (tag-stored signatures and the referrers tag). */
function storedTags(artifacts: readonly DiscoveredArtifact[]): Set<string> {
  const tags = new Set<string>();
  for (const a of artifacts) if (a.tag && (a.source === "tag" || a.source === "referrers-tag")) tags.add(a.tag);
  return tags;
}

const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>) => a.size === b.size && [...a].every((x) => b.has(x));

interface Checked {
  imageId: string;
  artifacts: DiscoveredArtifact[];
  discovery: DiscoveryFact;
  /** Discovery ran and must be stored (found / none replacing the evidence set, or error). */
  store?: DiscoveryResult;
  /** Discovery ran and found exactly the stored artifacts: only discoveredAt moves. */
  unchanged?: boolean;
  /** The stored verification hash when it is newer than the batch's read (another check's discovery reused). */
  storedHash?: string | null;
  /**
   * How the stored evidence was confirmed current: a tag listing now, one within the revalidation
   * bound, or a discovery in this scan (discoverAhead).
   */
  confirmed?: "listed" | "recently" | "this-scan";
}

/**
 * Discovers (or reuses stored artifacts), verifies, evaluates and stores a batch of images; settles
 * their scan items. Stored evidence is reused, without registry traffic, for a re-verification
 * (policy or key change) and, in a scan, while it is younger than `evidenceMaxAgeMs` and the
 * repository's tag listing still shows exactly the cosign tags it was discovered from (a deleted or
 * newly pushed .sig / .att tag is noticed on the next pass; any other change once it is stale).
 */
export async function checkImages(
  ctx: PipelineContext,
  payload: ImageCheckPayload,
  opts: { discoverOnly?: boolean } = {},
): Promise<{ outcomes: Record<string, number>; changed: number }> {
  const { db, adapters } = ctx;
  const now = clock(ctx);
  const ids = [...new Set(payload.imageIds)];
  // what a check reads of an image (not its denormalized lists: running clusters, signers, policy verdicts)
  const found = await db.image.findMany({
    where: { id: { in: ids } },
    select: {
      id: true, registry: true, repository: true, digest: true, discovery: true, discoveryError: true, discoveredAt: true,
      artifactDigests: true, revalidatedAt: true, verificationHash: true,
    },
  });
  const gone = ids.filter((id) => !found.some((i) => i.id === id));
  // a re-verification never asks a registry: an image never discovered yet is left to its scan
  const awaiting = payload.mode === "reverify" ? found.filter((i) => i.discovery === "pending") : [];
  const images = payload.mode === "reverify" ? found.filter((i) => i.discovery !== "pending") : found;
  const policies = await loadActivePolicies(db);
  const keys = verificationKeys(policies);
  const maxAgeMs = ctx.evidenceMaxAgeMs ?? 0;
  const revalidatedWithinMs = listsEveryRepository(payload.trigger) ? 0 : (ctx.revalidatedWithinMs ?? 0);
  const confirmedSince = payload.confirmedSince ? Date.parse(payload.confirmedSince) : Number.POSITIVE_INFINITY;

  const reusable = images.filter(
    (i) =>
      !payload.rediscover &&
      (i.discovery === "found" || i.discovery === "none") &&
      (payload.mode === "reverify" || (maxAgeMs > 0 && i.discoveredAt !== null && now.getTime() - i.discoveredAt.getTime() < maxAgeMs)),
  );
  const stored = await storedArtifactsOf(ctx, reusable);
  let opened: Promise<DiscoveryBatch> | undefined;
  const openBatch = () => (opened ??= adapters.openDiscoveryBatch({ ...(payload.scanId ? { scanId: payload.scanId } : {}) }));
  // the pull secrets the pods running each image name (read by the adapters, SIGNET_PULL_SECRETS)
  const sources = adapters.readsPullSecrets ? await pullSecretSourcesOfImages(db, images.map((i) => i.id)) : undefined;

  // one discovery per image across concurrent checks (discovery-claim.ts): each round claims what it
  // will discover, stores it and releases the claims; an image another check holds is deferred to a
  // later round, which first waits (holding no claim, so two checks never wait on each other) and then
  // reuses that check's stored evidence, or discovers it itself if the claim expired unanswered
  const t = { start: performance.now(), discovered: 0, stored: 0, verified: 0, evaluated: 0 };
  const byId = new Map(images.map((i) => [i.id, i]));
  const checked: Checked[] = [];
  const evaluations: EvaluateImageInput[] = [];
  let round = images;
  let waitFor: string[] = [];
  while (round.length > 0) {
    const claims = discoveryClaims(db, { ...(ctx.discoveryClaimMs !== undefined ? { ttlMs: ctx.discoveryClaimMs } : {}) });
    for (const id of waitFor) await claims.waitForOther(id);
    const deferred: typeof images = [];
    try {
      const updates: EvidenceUpdate[] = [];
      const mustDiscover = payload.mode === "scan" ? round.filter((i) => !(stored.has(i.id) && i.discovery !== "pending" && i.discovery !== "error")) : [];
      const claimed = new Set<string>();
      /** Claims `ids`; returns those another check discovered since this batch read them (reuse, not fetch). */
      const claimFresh = async (ids: readonly string[]): Promise<Map<string, Checked>> => {
        const got = await claims.claim(ids);
        for (const id of got) claimed.add(id);
        const reuse = new Map<string, Checked>();
        if (got.size === 0) return reuse;
        const fresh = await db.image.findMany({ where: { id: { in: [...got] } }, select: { id: true, discovery: true, discoveredAt: true, verificationHash: true } });
        const newer = fresh.filter((f) => {
          const mine = byId.get(f.id)!;
          return (f.discovery === "found" || f.discovery === "none") && (f.discovery !== mine.discovery || f.discoveredAt?.getTime() !== mine.discoveredAt?.getTime());
        });
        const artifacts = await loadStoredArtifactsMany(db, newer.map((f) => f.id));
        for (const f of newer) reuse.set(f.id, { imageId: f.id, artifacts: artifacts.get(f.id) ?? [], discovery: { outcome: f.discovery as "found" | "none" }, storedHash: f.verificationHash });
        return reuse;
      };
      const reused = await claimFresh(mustDiscover.map((i) => i.id));

      const results = await mapLimit(round, 32, async (image): Promise<Checked | null> => {
        const at = { registry: image.registry, repository: image.repository, digest: image.digest };
        const kept = stored.get(image.id);
        if (kept && image.discovery !== "pending" && image.discovery !== "error") {
          if (payload.mode === "reverify") return { imageId: image.id, artifacts: kept, discovery: { outcome: image.discovery } };
          // discovered by this scan, ahead of its check: nothing to ask the registry again
          if (!payload.rediscover && image.discoveredAt && image.discoveredAt.getTime() >= confirmedSince) {
            return { imageId: image.id, artifacts: kept, discovery: { outcome: image.discovery }, confirmed: "this-scan" };
          }
          // confirmed current within the revalidation bound: a change since then is noticed by the first scan past it
          if (!payload.rediscover && image.revalidatedAt && now.getTime() - image.revalidatedAt.getTime() < revalidatedWithinMs) {
            return { imageId: image.id, artifacts: kept, discovery: { outcome: image.discovery }, confirmed: "recently" };
          }
          const tags = await (await openBatch()).cosignTags(at, sources?.get(image.id));
          if (tags && sameSet(tags, storedTags(kept))) return { imageId: image.id, artifacts: kept, discovery: { outcome: image.discovery }, confirmed: "listed" };
        }
        // a re-verification of an image whose last discovery failed: the same error again, from what is
        // stored (its verdicts stay error, with their last known values: ADR 0013), no registry traffic
        if (payload.mode === "reverify") return { imageId: image.id, artifacts: [], discovery: { outcome: "error", reason: image.discoveryError ?? "the last discovery failed" } };
        // nothing reusable in a scan: discover, unless another check discovered it meanwhile or is doing it
        const other = reused.get(image.id) ?? (claimed.has(image.id) ? undefined : (await claimFresh([image.id])).get(image.id));
        if (other) return other;
        if (!claimed.has(image.id)) return null;
        const result = await (await openBatch()).discover(at, sources?.get(image.id));
        const artifacts = result.outcome === "found" ? result.artifacts : result.outcome === "error" ? result.partial : [];
        const discovery: DiscoveryFact = result.outcome === "error" ? { outcome: "error", reason: `${result.code}: ${result.reason}` } : { outcome: result.outcome };
        const unchanged =
          result.outcome !== "error" &&
          result.outcome === image.discovery &&
          sameSet(new Set(result.outcome === "found" ? result.manifestDigests : []), new Set(image.artifactDigests));
        return unchanged ? { imageId: image.id, artifacts, discovery, unchanged: true } : { imageId: image.id, artifacts, discovery, store: result };
      });

      t.discovered = performance.now();
      // verify (CPU only)
      for (const [n, c] of results.entries()) {
        if (!c) {
          deferred.push(round[n]!);
          continue;
        }
        const image = byId.get(c.imageId)!;
        const at = { registry: image.registry, repository: image.repository, digest: image.digest };
        const verifiable = verifiableArtifacts(c.artifacts);
        const verified = verifiable.length ? await adapters.verify({ image: at, artifacts: verifiable, keys, now }) : [];
        updates.push({
          imageId: image.id,
          ...(c.store ? { discovery: c.store } : {}),
          ...(c.unchanged ? { rediscovered: true } : {}),
          ...(c.confirmed === "listed" ? { revalidated: true } : {}),
          // after a failed discovery there is nothing new to record about the stored evidence
          ...(c.discovery.outcome !== "error" ? { verified } : {}),
          storedHash: c.storedHash !== undefined ? c.storedHash : image.verificationHash,
        });
        checked.push(c);
        evaluations.push({ imageId: image.id, facts: verified.map(toEvidenceFact), discovery: c.discovery, policies, now, trigger: payload.trigger ?? payload.mode });
      }
      t.stored = performance.now();
      // store: evidence sets that changed, errors, verification results that changed — one transaction
      await storeEvidenceBatch(db, updates, now);
    } finally {
      // stored (or failed): checks waiting on these images go on and read what was stored
      await claims.release().catch((err: unknown) => ctx.log.warn({ err: (err as Error).message }, "discovery claims not released (they expire)"));
    }
    round = deferred;
    waitFor = deferred.map((i) => i.id);
  }
  t.verified = performance.now();
  // ahead of the scan's checks (discoverAhead): the evidence is stored; evaluation and the scan's
  // items are the checks' (the containers of clusters not listed yet are not known)
  if (opts.discoverOnly) return { outcomes: {}, changed: 0 };
  const evaluated = await evaluateImages(db, evaluations);
  t.evaluated = performance.now();

  const outcomes: Record<string, number> = {};
  const settled: SettledItem[] = gone.map((imageId) => ({
    imageId,
    status: "error",
    outcome: "gone",
    error: "the image no longer exists",
    evidence: null,
    reevaluated: null,
  }));
  for (const i of awaiting) settled.push({ imageId: i.id, status: "done", outcome: "awaiting-scan", error: null, evidence: null, reevaluated: null });
  checked.forEach((c, i) => {
    const error = c.discovery.outcome === "error";
    settled.push({
      imageId: c.imageId,
      status: error ? "error" : "done",
      outcome: c.discovery.outcome,
      error: error ? (c.discovery as { reason: string }).reason : null,
      // (the scan summary's counts: see finalizeScan)
      evidence: error ? null : c.store || c.unchanged || c.confirmed === "this-scan" ? "fetched" : c.confirmed === "recently" ? "reused" : "revalidated",
      reevaluated: !evaluated[i]!.reused,
    });
  });
  for (const s of settled) outcomes[s.outcome] = (outcomes[s.outcome] ?? 0) + 1;
  for (const [outcome, n] of Object.entries(outcomes)) imageChecks.inc({ outcome }, n);
  if (payload.scanId) await settleItems(ctx, payload.scanId, settled);
  const ms = (a: number, b: number) => Math.round(b - a);
  ctx.log.debug(
    {
      images: ids.length,
      reused: checked.filter((c) => !c.store && !c.unchanged).length,
      discoverMs: ms(t.start, t.discovered),
      verifyMs: ms(t.discovered, t.stored),
      storeMs: ms(t.stored, t.verified),
      evaluateMs: ms(t.verified, t.evaluated),
      settleMs: ms(t.evaluated, performance.now()),
    },
    "image batch checked",
  );
  return { outcomes, changed: evaluated.reduce((n, e) => n + e.changed, 0) };
}

/**
 * A scan someone asked for (the dashboard's "Scan now", of the fleet or of one cluster: trigger
 * `manual:<who>`) asks the registry about every image it checks, however recently its evidence was
 * confirmed: whoever pressed it has just pushed or deleted a signature, or wants to know it was seen.
 * Scheduled, CLI and watch-driven checks take evidence confirmed within the revalidation bound.
 */
export const listsEveryRepository = (trigger: string | undefined): boolean => trigger?.startsWith(MANUAL_TRIGGER) ?? false;
/** The trigger prefix of a scan asked for in the dashboard or API (app/api/scans). */
export const MANUAL_TRIGGER = "manual:";

/** Verification checks each signature against every active policy's keys. */
const verificationKeys = (policies: readonly LoadedPolicy[]) => candidateKeys(policies.flatMap((p) => (p.policy ? [p.policy] : [])));
const verifiableArtifacts = (artifacts: readonly DiscoveredArtifact[]) => artifacts.filter((a) => a.kind === "signature" || a.kind === "attestation" || a.kind === "bundle");

/**
 * Verifies the stored evidence of the images running in `clusters` ahead of their checks, into the
 * adapters' verification results kept by their inputs (lib/scan/verify-memo.ts): what checkImages
 * verifies for an image whose stored evidence it reuses — the same artifacts, keys and trusted roots —
 * is then found there instead of verified again. Reads only, writes nothing: an in-process scan
 * (cli/commands/scan-here.ts) runs it while its inventory stage waits on the API server. Evidence a
 * check does not reuse (stale, its signatures changed, a policy saved meanwhile) is simply verified by
 * the check as always. Returns the number of images verified ahead.
 */
export async function verifyStoredAhead(ctx: PipelineContext, clusters: readonly string[]): Promise<number> {
  const { db, adapters } = ctx;
  const maxAgeMs = ctx.evidenceMaxAgeMs ?? 0;
  if (clusters.length === 0 || maxAgeMs <= 0) return 0;
  const now = clock(ctx);
  const images = await db.$queryRaw<{ id: string; registry: string; repository: string; digest: string; discoveredAt: Date }[]>`
    SELECT i.id, i.registry, i.repository, i.digest, i."discoveredAt" FROM "Image" i
    WHERE i.discovery = 'found' AND i."discoveredAt" > ${new Date(now.getTime() - maxAgeMs)} AND EXISTS (
      SELECT 1 FROM "Container" c JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL JOIN "Cluster" cl ON cl.id = p."clusterId"
      WHERE c."imageId" = i.id AND cl.name = ANY(${[...clusters]}::text[]))
    ORDER BY i.registry, i.repository, i.digest`;
  if (images.length === 0) return 0;
  const keys = verificationKeys(await loadActivePolicies(db));
  // a chunk's stored evidence at a time (bounded memory), the event loop let through between images
  for (let i = 0; i < images.length; i += 100) {
    const chunk = images.slice(i, i + 100);
    const stored = await loadStoredArtifactsMany(db, chunk.map((c) => c.id));
    for (const image of chunk) {
      const artifacts = stored.get(image.id) ?? [];
      // kept for the image's check (storedArtifacts), which then reads nothing it was handed here
      if (ctx.storedArtifacts && ctx.storedArtifacts.size < KEPT_AHEAD_MAX) ctx.storedArtifacts.set(image.id, { discoveredAt: image.discoveredAt.getTime(), artifacts });
      const verifiable = verifiableArtifacts(artifacts);
      if (verifiable.length) await adapters.verify({ image: { registry: image.registry, repository: image.repository, digest: image.digest }, artifacts: verifiable, keys, now });
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  return images.length;
}

/** Images kept ahead at most (storedArtifacts): ~1–3 KB each for key-signed images. */
const KEPT_AHEAD_MAX = 5000;

/** The stored artifacts of `images`: those read ahead for the same discovery (taken out), the rest read now. */
async function storedArtifactsOf(ctx: PipelineContext, images: ReadonlyArray<{ id: string; discoveredAt: Date | null }>): Promise<Map<string, DiscoveredArtifact[]>> {
  const out = new Map<string, DiscoveredArtifact[]>();
  const read: string[] = [];
  for (const i of images) {
    const kept = ctx.storedArtifacts?.get(i.id);
    ctx.storedArtifacts?.delete(i.id);
    if (kept && i.discoveredAt !== null && kept.discoveredAt === i.discoveredAt.getTime()) out.set(i.id, kept.artifacts);
    else read.push(i.id);
  }
  for (const [id, artifacts] of await loadStoredArtifactsMany(ctx.db, read)) out.set(id, artifacts);
  return out;
}

interface SettledItem {
  imageId: string;
  status: "done" | "error";
  outcome: string;
  error: string | null;
  evidence: "fetched" | "revalidated" | "reused" | null;
  reevaluated: boolean | null;
}

/** Marks items settled once; only the first transition of each advances the scan's progress. */
async function settleItems(ctx: PipelineContext, scanId: string, items: readonly SettledItem[]) {
  const { db } = ctx;
  if (items.length === 0) return;
  // one transaction: a worker killed between settling items and counting them would otherwise leave
  // the scan's progress short for good
  const r = await withTransaction(db, async (tx) => {
    const rows = await tx.$queryRaw<{ done: number; total: number }[]>`
      WITH settled AS (
        UPDATE "ScanItem" si SET status = u.status::"ScanItemStatus", outcome = u.outcome, error = u.error,
          -- an item checked again in the same scan (scan.start's checks ahead, then over a new list) says
          -- what the scan did: fetched or listed the first time stays so, re-evaluated either time is
          evidence = CASE WHEN u.evidence = 'reused' AND si.evidence IN ('fetched', 'revalidated') THEN si.evidence ELSE u.evidence END,
          reevaluated = u.reevaluated OR COALESCE(si.reevaluated, false), "updatedAt" = ${clock(ctx)}
        FROM unnest(${items.map((i) => i.imageId)}::uuid[], ${items.map((i) => i.status)}::text[], ${items.map((i) => i.outcome)}::text[],
                    ${items.map((i) => i.error?.slice(0, 2000) ?? null)}::text[], ${items.map((i) => i.evidence)}::text[],
                    ${items.map((i) => i.reevaluated)}::boolean[]) AS u("imageId", status, outcome, error, evidence, reevaluated)
        WHERE si."scanId" = ${scanId}::uuid AND si."imageId" = u."imageId" AND si.status = 'pending'
        RETURNING 1)
      UPDATE "Scan" SET done = done + (SELECT count(*) FROM settled)::int WHERE id = ${scanId}::uuid AND stage = 'verify' RETURNING done, total`;
    return rows[0];
  }, { timeout: 60_000 });
  if (r && r.done >= r.total) await finalizeScan(ctx, scanId);
}

/** Coverage snapshot, final status and counts. Runs once per scan (advisory lock + status check). */
export async function finalizeScan(ctx: PipelineContext, scanId: string): Promise<boolean> {
  const { db } = ctx;
  const t0 = performance.now();
  const t: Record<string, number> = {};
  const finalized = await withTransaction(
    db,
    async (tx) => {
      const locked = await tx.$queryRaw<{ ok: boolean }[]>`SELECT pg_try_advisory_xact_lock(hashtext(${`scan:${scanId}`})) AS ok`;
      if (!locked[0]?.ok) return false;
      const scan = await tx.scan.findUnique({ where: { id: scanId } });
      if (!scan || scan.status !== "running" || scan.stage !== "verify") return false;
      type ItemCount = "pending" | "done" | "error" | "fetched" | "revalidated" | "reused" | "reevaluated" | "kept";
      const [items] = await tx.$queryRaw<Record<ItemCount, number>[]>`
        SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending, count(*) FILTER (WHERE status = 'done')::int AS done,
               count(*) FILTER (WHERE status = 'error')::int AS error, count(*) FILTER (WHERE evidence = 'fetched')::int AS fetched,
               count(*) FILTER (WHERE evidence = 'revalidated')::int AS revalidated, count(*) FILTER (WHERE evidence = 'reused')::int AS reused,
               count(*) FILTER (WHERE reevaluated)::int AS reevaluated, count(*) FILTER (WHERE NOT reevaluated)::int AS kept
        FROM "ScanItem" WHERE "scanId" = ${scanId}::uuid`;
      const count = (s: ItemCount) => items?.[s] ?? 0;
      if (count("pending") > 0) return false;
      const now = clock(ctx);
      t.items = performance.now();
      const snapshot = await writeCoverageSnapshot(tx as unknown as Db, now);
      t.snapshot = performance.now();
      t.reused = snapshot.reused ? 1 : 0;
      const counts = (scan.counts ?? {}) as { clusters?: number; clustersOk?: number };
      const errors = (scan.errors ?? []) as unknown as ScanError[];
      // a scan that could look at no cluster failed, whatever the reason (none configured, none reachable);
      // a re-evaluation lists no cluster (counts.clusters unset)
      const status = counts.clusters !== undefined && (counts.clustersOk ?? 0) === 0 ? "failed" : errors.length || count("error") ? "partial" : "succeeded";
      await tx.scan.update({
        where: { id: scanId },
        data: {
          status,
          stage: "done",
          finishedAt: now,
          // progress as the items say (every item is settled here)
          done: count("done") + count("error"),
          counts: {
            ...counts,
            imagesChecked: count("done"),
            imagesError: count("error"),
            // where the evidence came from, and whether verdicts were recomputed (the summary of `signet scan`)
            imagesFetched: count("fetched"),
            imagesRevalidated: count("revalidated"),
            imagesReused: count("reused"),
            imagesReevaluated: count("reevaluated"),
            imagesVerdictsKept: count("kept"),
            coverage: snapshot.fleet,
          } as never,
        },
      });
      scansFinished.inc({ status });
      scanDurationSeconds.observe((now.getTime() - (scan.startedAt ?? scan.createdAt).getTime()) / 1000);
      return true;
    },
    { timeout: 120_000 },
  );
  if (finalized) {
    const ms = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : Math.round(b - a));
    ctx.log.debug({ scanId, itemsMs: ms(t0, t.items), snapshotMs: ms(t.items, t.snapshot), snapshotReused: t.reused === 1, commitMs: ms(t.snapshot, performance.now()) }, "scan finalized");
  }
  // the verdicts as OpenReports in the clusters (when enabled): after the commit, never failing the scan
  if (finalized && ctx.adapters.publishReports) {
    await ctx.adapters.publishReports(db).catch((err: unknown) => ctx.log.warn({ err: (err as Error).message, scanId }, "OpenReports not published"));
  }
  return finalized;
}

const UNRESOLVED_PREFIX = "the image digest could not be resolved: ";

/**
 * After a policy change, running containers whose digest is still unknown get their `error` verdicts
 * for the policies that now apply (and lose those of policies that no longer do) at once, not at the
 * next scan: no running container is left without a verdict for an applicable policy. The reason is
 * the one the last resolution attempt recorded.
 */
/**
 * A re-evaluation run (kind `reevaluate`) from stored evidence: unresolved containers first, then one
 * item per running image checked in `reverify` mode (no registry traffic); the last settled item
 * finalizes it (coverage snapshot). Returns the number of images, or null when the run had already
 * started (a retried job: the sweep of scan.tick finishes it).
 */
export async function startReevaluation(ctx: PipelineContext, scanId: string): Promise<{ images: number; unresolved: number } | null> {
  const { db } = ctx;
  const scan = await db.scan.findUnique({ where: { id: scanId } });
  if (!scan || scan.kind !== "reevaluate" || scan.status !== "queued") return null;
  const claimed = await db.scan.updateMany({ where: { id: scanId, status: "queued" }, data: { status: "running", stage: "resolve", startedAt: clock(ctx) } });
  if (claimed.count === 0) return null;
  const unresolved = await reevaluateUnresolvedContainers(db, { trigger: scan.trigger, now: clock(ctx) });
  const images = await db.image.findMany({ where: { containers: { some: { pod: { deletedAt: null } } } }, select: { id: true }, orderBy: [{ registry: "asc" }, { repository: "asc" }, { id: "asc" }] });
  await insertRows(db, "ScanItem", ["scanId", "imageId"], images.map((i) => ({ scanId, imageId: i.id })), { generateId: false, onConflictDoNothing: true });
  await db.scan.update({ where: { id: scanId }, data: { stage: "verify", total: images.length, done: 0, counts: { images: images.length, unresolvedContainers: unresolved } as never } });
  const batches = imageBatches(images.map((i) => i.id), { scanId, mode: "reverify", trigger: scan.trigger }, ctx.batchSize);
  if (ctx.enqueueImageChecks) await ctx.enqueueImageChecks(batches);
  else for (const b of batches) await ctx.enqueueImageCheck(b);
  if (images.length === 0) await finalizeScan(ctx, scanId);
  return { images: images.length, unresolved };
}

export async function reevaluateUnresolvedContainers(db: Db, opts: { trigger: string; now?: Date }): Promise<number> {
  // read a page at a time (by id), each evaluated before the next is read: bounded at any count
  let policies: LoadedPolicy[] | undefined;
  let after: string | undefined;
  let count = 0;
  for (;;) {
    const rows = await db.container.findMany({
      where: { digest: null, pod: { deletedAt: null }, ...(after ? { id: { gt: after } } : {}) },
      select: { id: true, verdicts: { select: { reasons: true }, take: 1 } },
      orderBy: { id: "asc" },
      take: UNRESOLVED_CONTAINERS_A_TRANSACTION,
    });
    if (rows.length === 0) return count;
    const containers: UnresolvedContainer[] = rows.map((c) => {
      const first = (c.verdicts[0]?.reasons as { message?: unknown }[] | undefined)?.[0]?.message;
      const reason = typeof first === "string" && first.startsWith(UNRESOLVED_PREFIX) ? first.slice(UNRESOLVED_PREFIX.length) : "not resolved yet (awaiting the next scan)";
      return { id: c.id, reason };
    });
    policies ??= await loadActivePolicies(db);
    await evaluateUnresolvedContainers(db, { containers, policies, now: opts.now ?? new Date(), trigger: opts.trigger });
    count += containers.length;
    after = rows[rows.length - 1]!.id;
  }
}
