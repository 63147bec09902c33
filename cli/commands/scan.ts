import path from "node:path";
import { parseArgs } from "node:util";
import { databaseUrl } from "@/cli/commands/database";
import type { Command } from "@/cli/commands/types";
import { createScanDb, type Db } from "@/lib/db/client";
import { getEnv, resetEnvCache } from "@/lib/env";
import { listClusterTargets } from "@/lib/kube/clusters";
import type { JobDefinition } from "@/lib/jobs/registry";
import type { ScanError } from "@/lib/scan/pipeline";

const HELP = `Creates a scan and sends it to the worker. With one --context, a scan of that cluster only.

Options:
  --kubeconfig FILE   clusters from this kubeconfig (runs the scan in this process)
  --context NAME      a kubeconfig context to scan (repeatable; runs the scan in this process)
  --wait              wait for the scan to finish and print a summary
  --timeout S         give up waiting after S seconds (default 3600)
  --json              print the summary as JSON

Without a live worker (no fresh heartbeat), or with --kubeconfig / --context (a running worker
would not see them), the scan runs in this process, outside the job queues (no worker takes it, and
this process takes no other scan's work), and the command waits for it. A cluster whose stored
inventory came from complete lists is first proven unchanged since them (no pod is listed again;
docs/decisions/0016); that proof starts before the pipeline loads. It runs as the worker does:
the same heap cap (SIGNET_WORKER_HEAP_MB) and allocator settings (the command starts itself again
with them, see lib/scan/runtime.ts), batches (SIGNET_SCAN_BATCH_SIZE), concurrency
(SIGNET_WORKER_CONCURRENCY) and database pool.

The summary counts the images whose signatures were fetched from their registry, those whose stored
evidence was revalidated (the registry's tag listing still shows the same cosign tags: no signature
is downloaded), those whose stored evidence was reused without asking the registry (it was confirmed
current less than SIGNET_REVALIDATE_SECONDS ago, by a scan or a worker's revalidation: a signature
pushed or deleted since is seen by the first scan past that bound), the images whose verdicts were re-evaluated and those whose verdicts were kept (their
evidence, policies and containers were unchanged), and the images whose check failed. Containers are
counted in their coverage bucket, as on the overview: verified, failed, unsigned, error (Signet could
not look and knows nothing earlier), stale (it could not look now — registry or cluster unreachable —
and knows the last verdict; never counted as verified) and unmatched. Only the summary goes to stdout;
logs go to stderr.

Exit codes: 0 done and nothing rejected, 1 an enforce-mode policy would reject a running container
of the scanned clusters, 2 the scan failed or could not run, 64 usage.`;

interface Summary {
  scanId: string;
  status: string;
  ranIn: "worker" | "this process";
  clusters: { name: string; ok: boolean; errors: string[] }[];
  images: { total: number; checked: number; errors: number; fetched: number; revalidated: number; reused: number; reevaluated: number; verdictsKept: number };
  /**
   * Running containers of the scanned clusters in their coverage bucket (verified, failed, unsigned,
   * error, stale, unmatched; docs/decisions/0013): the coverage snapshot the scan wrote, the same
   * figures as the overview and the coverage. `stale`: Signet could not look now (an error, or the
   * cluster could not be listed) and knows the last verdict — never counted as verified; `error`:
   * it could not look and knows nothing earlier.
   */
  containers: Record<string, number>;
  /** Verdicts (container × applicable policy) by value. */
  verdicts: Record<string, number>;
  coverage: number | null;
  enforceViolations: number;
  errors: ScanError[];
}

async function freshWorkers(db: Db, staleSeconds: number): Promise<number> {
  return db.workerHeartbeat.count({ where: { beatAt: { gt: new Date(Date.now() - staleSeconds * 1000) } } });
}

async function summarize(db: Db, scanId: string, clusterNames: string[], ranIn: Summary["ranIn"]): Promise<Summary> {
  const scan = await db.scan.findUniqueOrThrow({ where: { id: scanId } });
  const counts = (scan.counts ?? {}) as {
    clusters?: number;
    clustersOk?: number;
    imagesChecked?: number;
    imagesError?: number;
    imagesFetched?: number;
    imagesRevalidated?: number;
    imagesReused?: number;
    imagesReevaluated?: number;
    imagesVerdictsKept?: number;
    coverage?: { containersTotal: number; containersVerified: number };
  };
  const errors = (scan.errors ?? []) as unknown as ScanError[];
  // verdicts of the scanned clusters' running containers by value, and those an enforce-mode policy rejects: one statement
  const grouped = await db.$queryRaw<{ value: string; n: number; enforce: number }[]>`
    SELECT v.value::text AS value, count(*)::int AS n, (count(*) FILTER (WHERE v.value <> 'verified' AND pol.mode = 'enforce'))::int AS enforce
    FROM "Verdict" v
    JOIN "Container" c ON c.id = v."containerId"
    JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL
    JOIN "Cluster" cl ON cl.id = p."clusterId"
    JOIN "Policy" pol ON pol.id = v."policyId"
    WHERE cl.name = ANY(${clusterNames}::text[])
    GROUP BY v.value`;
  const verdicts = Object.fromEntries(grouped.map((g) => [g.value, g.n]));
  const enforceViolations = grouped.reduce((n, g) => n + g.enforce, 0);
  const cov = counts.coverage;
  // the per-cluster rows of the snapshot written when the scan finished (the fleet row covers every cluster)
  const snapshot = scan.finishedAt
    ? await db.coverageSnapshot.findMany({ where: { scope: "cluster", takenAt: scan.finishedAt, cluster: { name: { in: clusterNames } } } })
    : [];
  const sum = (k: "containersVerified" | "containersFailed" | "containersUnsigned" | "containersError" | "containersStale" | "containersUnmatched") =>
    snapshot.reduce((n, r) => n + r[k], 0);
  const containers: Record<string, number> = snapshot.length
    ? {
        verified: sum("containersVerified"),
        failed: sum("containersFailed"),
        unsigned: sum("containersUnsigned"),
        error: sum("containersError"),
        stale: sum("containersStale"),
        unmatched: sum("containersUnmatched"),
      }
    : {};
  return {
    scanId,
    status: scan.status,
    ranIn,
    clusters: clusterNames.map((name) => {
      const errs = errors.filter((e) => e.cluster === name && e.stage === "inventory").map((e) => e.message);
      return { name, ok: errs.length === 0, errors: errors.filter((e) => e.cluster === name).map((e) => `${e.stage}: ${e.message}`) };
    }),
    images: {
      total: scan.total,
      checked: counts.imagesChecked ?? 0,
      errors: counts.imagesError ?? 0,
      fetched: counts.imagesFetched ?? 0,
      revalidated: counts.imagesRevalidated ?? 0,
      reused: counts.imagesReused ?? 0,
      reevaluated: counts.imagesReevaluated ?? 0,
      verdictsKept: counts.imagesVerdictsKept ?? 0,
    },
    containers,
    verdicts,
    coverage: cov && cov.containersTotal > 0 ? Math.round((cov.containersVerified / cov.containersTotal) * 1000) / 10 : null,
    enforceViolations,
    errors,
  };
}

function printSummary(s: Summary) {
  const lines = [`scan ${s.scanId}: ${s.status} (ran in ${s.ranIn})`];
  for (const c of s.clusters) lines.push(`  cluster ${c.name}: ${c.ok ? "ok" : "FAILED"}${c.errors.length ? ` — ${c.errors.join("; ")}` : ""}`);
  const i = s.images;
  lines.push(`  images: ${i.total} (${i.checked} checked, ${i.errors} with errors)`);
  lines.push(
    `    signatures: ${i.fetched} fetched from the registry, ${i.revalidated} revalidated (stored; cosign tags unchanged), ${i.reused} reused (stored; confirmed within SIGNET_REVALIDATE_SECONDS)`,
  );
  lines.push(`    evaluation: ${i.reevaluated} image(s) re-evaluated, ${i.verdictsKept} kept (nothing they depend on changed)`);
  const c = s.containers;
  lines.push(`  containers: ${["verified", "failed", "unsigned", "error", "stale", "unmatched"].map((k) => `${k} ${c[k] ?? 0}`).join(", ")}`);
  if (c.stale) lines.push(`    stale: Signet could not look now and shows the last known verdict (never counted as verified)`);
  const v = s.verdicts;
  lines.push(`  verdicts (container × policy): ${["verified", "failed", "unsigned", "error"].map((k) => `${k} ${v[k] ?? 0}`).join(", ")}`);
  lines.push(`  coverage: ${s.coverage === null ? "n/a" : `${s.coverage} %`} of running containers verified`);
  for (const e of s.errors.filter((e) => !e.cluster)) lines.push(`  error (${e.stage}): ${e.message}`);
  if (s.enforceViolations) lines.push(`  ${s.enforceViolations} container verdict(s) an enforce-mode policy would reject`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

export const scan: Command = {
  name: "scan",
  usage: "scan [--kubeconfig F] [--context C]... [--wait] [--json]",
  summary: "scan the clusters now: inventory, discover, verify, evaluate",
  help: HELP,
  async run(args) {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        options: {
          kubeconfig: { type: "string" },
          context: { type: "string", multiple: true, default: [] },
          wait: { type: "boolean", default: false },
          json: { type: "boolean", default: false },
          timeout: { type: "string", default: "3600" },
        },
      }));
    } catch (err) {
      process.stderr.write(`signet scan: ${(err as Error).message}\n`);
      return 64;
    }
    const contexts = values.context as string[];
    const timeoutS = Number(values.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
      process.stderr.write("signet scan: --timeout must be a positive number of seconds\n");
      return 64;
    }
    const live = Boolean(values.kubeconfig) || contexts.length > 0;
    if (live) useClusters(values.kubeconfig, contexts);

    const url = await databaseUrl("scan");
    if (url === undefined) return 2;
    const env = getEnv();
    // the worker's pool and commit mode (lib/jobs/worker.ts): this process runs the same batches
    const db = createScanDb(url, env.SIGNET_WORKER_CONCURRENCY, { asyncCommit: true });
    const cluster = contexts.length === 1 ? contexts[0] : undefined;
    try {
      const inProcess = live || (await freshWorkers(db, env.SIGNET_HEARTBEAT_STALE_SECONDS)) === 0;
      if (inProcess && !live) {
        // no worker to send it to: the scan runs here, as the worker would (lib/scan/runtime.ts);
        // with --kubeconfig / --context cli/main.ts did this before loading the command
        const { rerunUnderScanRuntime, runsUnderScanRuntime } = await import("@/lib/scan/runtime");
        if (!runsUnderScanRuntime(env)) {
          await db.$disconnect();
          return await rerunUnderScanRuntime(env.SIGNET_WORKER_HEAP_MB);
        }
      }
      let scanId: string;
      if (inProcess) {
        // The pipeline runs right here, not through the shared queues: a worker elsewhere must not
        // take this scan (it would not see --kubeconfig / --context), nor this process another's.
        scanId = (await scanHere(db, url, cluster)).scanId;
      } else {
        const [{ createScan }, { createBoss, ensureQueues, sendJob }, { scanStart }] = await Promise.all([
          import("@/lib/scan/pipeline"),
          import("@/lib/jobs/boss"),
          import("@/lib/jobs/definitions/scan"),
        ]);
        scanId = await createScan(db, { cluster, trigger: "cli" });
        const boss = createBoss(url, { max: 2 });
        boss.on("error", () => undefined);
        await boss.start();
        try {
          await ensureQueues(boss, [scanStart as unknown as JobDefinition]);
          await sendJob(boss, scanStart, { scanId });
        } finally {
          await boss.stop({ graceful: false });
        }
      }
      if (!values.wait && !inProcess) {
        if (values.json) process.stdout.write(`${JSON.stringify({ scanId, status: "queued", ranIn: "worker" })}\n`);
        else process.stdout.write(`scan ${scanId} queued; a worker runs it (signet scan --wait to follow it)\n`);
        return 0;
      }
      const deadline = Date.now() + timeoutS * 1000;
      let finished = false;
      while (Date.now() < deadline) {
        const s = await db.scan.findUniqueOrThrow({ where: { id: scanId }, select: { status: true } });
        if (s.status === "succeeded" || s.status === "partial" || s.status === "failed") {
          finished = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      if (!finished) {
        process.stderr.write(`signet scan: scan ${scanId} did not finish within ${timeoutS} s\n`);
        return 2;
      }
      const names = await scannedClusters(db, scanId, inProcess);
      const summary = await summarize(db, scanId, names, inProcess ? "this process" : "worker");
      if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else printSummary(summary);
      if (summary.status === "failed") return 2;
      return summary.enforceViolations > 0 ? 1 : 0;
    } catch (err) {
      process.stderr.write(`signet scan: ${(err as Error).message}\n`);
      return 2;
    } finally {
      await db.$disconnect();
    }
  },
};

/**
 * The clusters of --kubeconfig / --context become the configuration the in-process adapters read
 * (before any adapter exists): KUBECONFIG and SIGNET_KUBE_CONTEXTS of this process.
 */
export function useClusters(kubeconfig: string | undefined, contexts: readonly string[]): void {
  if (kubeconfig) process.env.KUBECONFIG = path.resolve(kubeconfig);
  if (contexts.length) process.env.SIGNET_KUBE_CONTEXTS = contexts.join(",");
  resetEnvCache();
}

/** The clusters a finished scan covered: its own, or every configured one it inventoried (and those it failed on). */
export async function scannedClusters(db: Db, scanId: string, inProcess: boolean): Promise<string[]> {
  const row = await db.scan.findUniqueOrThrow({ where: { id: scanId }, include: { cluster: true } });
  const clusterNames = row.cluster
    ? [row.cluster.name]
    : inProcess
      ? listClusterTargets(getEnv()).map((t) => t.name)
      : (await db.cluster.findMany({ where: { pods: { some: { deletedAt: null } } }, select: { name: true } })).map((c) => c.name);
  const errorClusters = ((row.errors ?? []) as unknown as ScanError[]).map((e) => e.cluster).filter((c): c is string => Boolean(c));
  return [...new Set([...clusterNames, ...errorClusters])].sort();
}

/**
 * A whole scan in this process, outside the job queues (`signet scan --kubeconfig …`, `signet report
 * --kubeconfig …`) on the database at `url` (`db` is its client): of `cluster`, or of every configured cluster. Returns when the scan is finished.
 * The clusters' unchanged-proofs start first, and the pipeline is loaded while they wait for the API
 * server (cli/commands/unchanged-ahead.ts).
 */
export async function scanHere(db: Db, url: string, cluster: string | undefined): Promise<{ scanId: string; status: string }> {
  const { proveUnchangedAhead } = await import("@/cli/commands/unchanged-ahead");
  const proofs = proveUnchangedAhead(url, cluster);
  await proofs.waiting;
  const { runScanHere } = await import("@/cli/commands/scan-here");
  return runScanHere(db, cluster, proofs);
}
