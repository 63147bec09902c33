// A whole scan in this process, outside the job queues: `signet scan --kubeconfig …` and `signet report
// --kubeconfig …`. Loaded by those commands only once they know the scan runs here (it brings the whole
// pipeline: registry, Sigstore, Kubernetes and database clients).
import { mapLimit } from "@/lib/concurrency";
import type { Db } from "@/lib/db/client";
import { getEnv } from "@/lib/env";
import { listClusterTargets } from "@/lib/kube/clusters";
import { getLogger } from "@/lib/log";
import { DISCOVERY_CLAIM_MS } from "@/lib/scan/discovery-claim";
import { checkImages, createScan, startScan, verifyStoredAhead, type ImageCheckPayload, type PipelineContext } from "@/lib/scan/pipeline";
import { createScanAdapters } from "@/lib/scan/real-adapters";
import type { UnchangedProofs } from "@/cli/commands/unchanged-ahead";

/**
 * A scan of `cluster`, or of every configured cluster, run here (cli/commands/scan.ts scanHere);
 * returns when it is finished. `proofs`: the clusters' unchanged-proofs started earlier
 * (proveUnchangedAhead), which the scan's inventory stage takes instead of starting its own.
 */
export async function runScanHere(db: Db, cluster: string | undefined, proofs?: UnchangedProofs): Promise<{ scanId: string; status: string }> {
  const scanId = await createScan(db, { cluster, trigger: "cli" });
  await runScanInProcess(db, scanId, cluster, getEnv().SIGNET_WORKER_CONCURRENCY, proofs);
  const { status } = await db.scan.findUniqueOrThrow({ where: { id: scanId }, select: { status: true } });
  return { scanId, status };
}

/**
 * The scan pipeline in this process: scan.start, then every image batch, `concurrency` at a time.
 * While scan.start waits on the API servers: when every cluster's unchanged-proof is pending, the
 * images of the stored inventory are checked meanwhile (PipelineContext.checkAhead; checked again
 * after a new list if a cluster changed); otherwise (the clusters are listed) the stored evidence of
 * their running images is verified ahead (verifyStoredAhead), so the checks after the lists find
 * those results instead of verifying again.
 */
async function runScanInProcess(db: Db, scanId: string, cluster: string | undefined, concurrency: number, proofs: UnchangedProofs | undefined): Promise<void> {
  const env = getEnv();
  const queued: ImageCheckPayload[] = [];
  const adapters = createScanAdapters();
  const checkAhead = proofs ? await proofs.coverEvery : false;
  const ctx: PipelineContext = {
    db,
    adapters: proofs ? proofs.adapt(adapters) : adapters,
    log: getLogger().child({ component: "cli-scan" }),
    enqueueImageCheck: async (p) => void queued.push(p),
    evidenceMaxAgeMs: env.SIGNET_EVIDENCE_MAX_AGE_MINUTES * 60_000,
    revalidatedWithinMs: env.SIGNET_REVALIDATE_SECONDS * 1000,
    // what verification ahead reads, the checks do not read again
    storedArtifacts: new Map(),
    batchSize: env.SIGNET_SCAN_BATCH_SIZE,
    discoveryClaimMs: (env.SIGNET_DISCOVERY_CLAIM_SECONDS ?? DISCOVERY_CLAIM_MS / 1000) * 1000,
    ...(checkAhead ? { checkAhead: async (batches: ImageCheckPayload[]) => void (await mapLimit(batches, concurrency, (p) => checkImages(ctx, p))) } : {}),
  };
  // (never failing the scan: what was not verified ahead is verified by the checks; a configuration
  // that cannot be read is reported by scan.start)
  const ahead = (async () => {
    if (checkAhead) return 0;
    const clusters = listClusterTargets(env).filter((t) => cluster === undefined || t.name === cluster).map((t) => t.name);
    return verifyStoredAhead(ctx, clusters);
  })().catch((err: unknown) => void ctx.log.warn({ err: (err as Error).message }, "stored evidence not verified ahead"));
  await startScan(ctx, scanId);
  await ahead;
  await mapLimit(queued, concurrency, (p) => checkImages(ctx, p));
}
