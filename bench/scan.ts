// Scan bench: a real kube-apiserver with 20,000 pods running 2,000 distinct digests, a real registry
// holding those 2,000 images signed in cosign's classic format, an embedded PostgreSQL, and both ways
// a scan runs:
//  - a real worker process (the bundle of scripts/worker.ts, started as scripts/launch.ts starts it): a full scan,
//    then a second scan with nothing changed, and the worker's peak resident memory (VmHWM);
//  - `signet scan --kubeconfig … --wait --json` (bin/signet.mjs, in process, no worker) on a second,
//    empty database of the same server: the same two scans, timed from the command's start to its
//    exit, and the peak memory of its processes (the command re-runs itself under the scan runtime);
//    its stdout must parse as JSON.
//
//   bash scripts/n24.sh tsx --conditions=react-server bench/scan.ts [--pods N] [--digests N] [--clusters N]
//        [--concurrency N] [--skip worker|cli|worker,cli] [--compare-workers] [--large] [--registry-gogc N]
//
// Goals on the 2-core reference machine: full scan ≤ 30 s, rescan ≤ 10 % of it, peak RSS ≤ 400 MB.
//
// --large: 100,000 pods / 10,000 digests / 3 clusters — one kube-apiserver seen through three
// kubeconfig contexts (three apiservers with 33,000 pods each do not fit a shared 2-core machine
// next to the registry and PostgreSQL): each context is a cluster of its own to Signet (its own
// list, its own pod, container and verdict rows), so 33,334 pods in the apiserver are 100,002 pods
// in Signet. The worker path only, and the same full scan by two worker processes on a fresh
// database (--compare-workers; the ratio is printed). Goals: full ≤ 60 s, rescan ≤ 5 %, RSS ≤ 400 MB.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import pino from "pino";
import { createDb } from "@/lib/db/client";
import { startEmbeddedPostgres } from "@/lib/db/embedded";
import { getEnv } from "@/lib/env";
import { SCAN_RUNTIME_ENV, scanRuntimeFlags } from "@/lib/scan/runtime";
import { applyMigrations } from "@/lib/db/migrate";
import { runSignet, vmHwmMb } from "@/tests/support/cli";
import { startKubeApiserver, writeKubeconfig, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { spawnNode, waitFor } from "@/tests/support/process";
import { buildCli } from "@/scripts/build-cli.mjs";
import { startRegistry } from "@/tests/support/registry";
import { generateSigningKey } from "@/tests/support/registry-fixtures";
import { pushSignedImages, saveSigningPolicy, seedPods, waitForScan } from "@/tests/support/scan";
import { createBoss, ensureQueues, sendJob } from "@/lib/jobs/boss";
import { scanStart } from "@/lib/jobs/definitions/scan";
import type { JobDefinition } from "@/lib/jobs/registry";
import { createScan, MANUAL_TRIGGER } from "@/lib/scan/pipeline";
import { cpuDelta, descendantCpu, formatCpu } from "@/bench/cpu";

const { values } = parseArgs({
  options: {
    pods: { type: "string", default: "20000" },
    digests: { type: "string", default: "2000" },
    namespaces: { type: "string", default: "200" },
    concurrency: { type: "string", default: "" },
    /**
     * Node options for the worker after production's (lib/scan/runtime.ts; a V8 flag given again
     * wins), e.g. "--node-options=--max-old-space-size=512" or "--cpu-prof --cpu-prof-dir=/tmp/prof".
     * Appended, not instead: a worker capped at 192 MB without --max-semi-space-size=16 spent most of
     * its CPU collecting garbage (ADR 0019), so a profile taken that way measured the wrong thing.
     */
    "node-options": { type: "string", default: "" },
    /** LOG_LEVEL of the worker (debug prints per-batch timings); its output goes to --worker-log. */
    "log-level": { type: "string", default: "warn" },
    /** Worker logs are written to <worker-log>.worker and <worker-log>.2-workers. */
    "worker-log": { type: "string", default: "" },
    /** Leave paths out: worker, cli, or both (`worker,cli`: only the two-worker run of --compare-workers). */
    skip: { type: "string", default: "" },
    /** Clusters: kubeconfig contexts over the one apiserver; --pods is the total over them. */
    clusters: { type: "string", default: "1" },
    /** Also run the full scan with two worker processes on a fresh database and print the ratio. */
    "compare-workers": { type: "boolean", default: false },
    /** The 100k-pod / 10k-digest / 3-cluster case (see the top of this file). */
    large: { type: "boolean", default: false },
    /**
     * GOGC of the bench's registry (Go's default 100 unless given). The registry stands for whatever
     * registry a cluster pulls from; at the default its garbage collection is about half its CPU
     * (ADR 0019), a floor that is the registry's configuration, not Signet's.
     */
    "registry-gogc": { type: "string", default: "" },
    /**
     * Write PostgreSQL's statements by total time (pg_stat_statements, loaded for the bench) after
     * each of the worker's scans to <pg-stats>.<n>.txt: where the database's share of a scan goes.
     */
    "pg-stats": { type: "string", default: "" },
    /** The worker's full scan only (no rescans, no restarted watching worker): A/B runs of the full scan's CPU. */
    "full-only": { type: "boolean", default: false },
  },
});
if (values.large) {
  Object.assign(values, { pods: "100000", digests: "10000", clusters: "3", namespaces: "300", skip: ["cli", ...values.skip.split(",")].filter(Boolean).join(","), "compare-workers": true });
}
const GOALS = values.large ? { fullMs: 60_000, rescanShare: 0.05, rssMb: 400 } : { fullMs: 30_000, rescanShare: 0.1, rssMb: 400 };

/** The machine's load averages (the bench shares it): `uptime`'s three figures. */
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" ");

interface PathFigures {
  label: string;
  full: number;
  rescan: number;
  peakMb: number;
  note: string;
  /** CPU seconds per process group during each scan. */
  cpu?: { what: string; ms: number; spent: Map<string, number> }[];
}

/**
 * The worker path: `workers` real worker processes, scans sent through pg-boss as "scan now" sends
 * them: a full scan, then (with `rescan`) a second one with nothing changed by the same worker (which
 * does not follow the clusters: it lists them), then the worker restarted as production runs it, with
 * the pod watch (SIGNET_WATCH, the default), and once its watches are in step two more scans keeping
 * the inventories the watches wrote (ADR 0021) (the second is the steady state of periodic rescans: the goal's rescan); each
 * worker's peak RSS, and where the CPU went during each scan.
 */
async function writePgStats(db: ReturnType<typeof createDb>, file: string, what: string): Promise<void> {
  const rows = await db.$queryRawUnsafe<{ calls: bigint; ms: number; rows: bigint; q: string }[]>(
    `SELECT calls, round(total_exec_time)::float8 AS ms, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 300) AS q
       FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT 40`,
  );
  // the write-ahead log it wrote and the checkpoints it caused (a checkpoint in a scan makes every page
  // touched again after it go to the log whole: PostgreSQL's CPU grows with it)
  const [wal] = await db.$queryRawUnsafe<{ mb: number; fpi: bigint; timed: bigint; requested: bigint }[]>(
    `SELECT round(w.wal_bytes / 1048576.0, 1)::float8 AS mb, w.wal_fpi AS fpi, c.num_timed AS timed, c.num_requested AS requested
       FROM pg_stat_wal w, pg_stat_checkpointer c`,
  );
  const walLine = wal ? `WAL ${wal.mb} MB (${wal.fpi} full-page images); checkpoints: ${wal.timed} timed, ${wal.requested} requested` : "";
  await fs.writeFile(file, `${what}\n${walLine}\n${rows.map((r) => `${r.ms} ms\t${r.calls} calls\t${r.rows} rows\t${r.q}`).join("\n")}\n`);
  process.stderr.write(`    PostgreSQL statements by time: ${file}\n`);
}

async function workerPath(url: string, env: Record<string, string>, opts: { workers?: number; rescan?: boolean; expected: Expected }): Promise<PathFigures> {
  const n = opts.workers ?? 1;
  const db = createDb(url, 4);
  const label = n === 1 ? "worker" : `${n} workers`;
  // the bundle scripts/launch.ts runs (outside --dev) and the container image
  const bundle = path.join(await buildCli(process.cwd()), "worker.js");
  const spawnWorker = (extra: Record<string, string> = {}) =>
    spawnNode([bundle], {
      DATABASE_URL: url,
      ...env,
      ...extra,
      LOG_LEVEL: values["log-level"],
      // the flags and environment scripts/launch.ts gives the worker, unless overridden
      ...SCAN_RUNTIME_ENV,
      NODE_OPTIONS: [...scanRuntimeFlags(getEnv().SIGNET_WORKER_HEAP_MB), values["node-options"]].filter(Boolean).join(" "),
    });
  let workers = Array.from({ length: n }, () => spawnWorker());
  const logs: string[] = [];
  const peaks: number[] = [];
  const cpus: PathFigures["cpu"] = [];
  const stopWorkers = async () => {
    for (const w of workers) {
      if (w.proc.exitCode === null) {
        w.proc.kill("SIGTERM");
        await w.exited;
      }
      logs.push(w.output());
    }
  };
  // one pg-boss sender for the whole bench ("scan now" in the web process keeps one too), so that
  // the timings are the scan's, not a sender's start-up
  const boss = createBoss(url, { max: 2 });
  boss.on("error", () => undefined);
  try {
    await waitFor(async () => ((await db.workerHeartbeat.count()) >= n ? true : undefined), 120_000, "worker heartbeats");
    const idleMb = Math.max(...(await Promise.all(workers.map((w) => vmHwmMb(w.proc.pid!).then((mb) => mb ?? 0)))));
    await boss.start();
    await ensureQueues(boss, [scanStart] as unknown as JobDefinition[]);
    /** A scan as the worker's schedule starts it ("schedule"), or as the dashboard's Scan now does. */
    const run = async (what: string, trigger = "schedule") => {
      const roots = new Map(workers.map((w, i) => [w.proc.pid!, n === 1 ? "worker" : `worker ${i + 1}`]));
      if (values["pg-stats"]) {
        await db.$executeRawUnsafe("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
        await db.$executeRawUnsafe("SELECT pg_stat_statements_reset()");
        await db.$executeRawUnsafe("SELECT pg_stat_reset_shared('wal'), pg_stat_reset_shared('checkpointer')");
      }
      const cpu0 = await descendantCpu(roots);
      const t0 = performance.now();
      const scanId = await createScan(db, { trigger });
      await sendJob(boss, scanStart, { scanId });
      // a worker that dies (e.g. out of memory) fails the bench at once, with its last words
      const died = Promise.race(
        workers.map((w) =>
          w.exited.then(({ code, signal }): never => {
            throw new Error(`a worker exited (${code ?? signal}) during the ${what}:\n${w.output().slice(-4000)}`);
          }),
        ),
      );
      died.catch(() => undefined); // (workers stopped later on purpose)
      const scan = await Promise.race([waitForScan(db, scanId, 1_800_000), died]);
      const ms = performance.now() - t0;
      const spent = cpuDelta(cpu0, await descendantCpu(roots));
      cpus.push({ what, ms, spent });
      if (values["pg-stats"]) await writePgStats(db, `${values["pg-stats"]}.${cpus.length}.txt`, `${label} ${what}`);
      const cpu = formatCpu(spent, ms, os.cpus().length);
      const own = scan.startedAt && scan.finishedAt ? ` (${((scan.finishedAt.getTime() - scan.startedAt.getTime()) / 1000).toFixed(2)} s from scan.start to finished)` : "";
      const c = scan.counts as Record<string, unknown>;
      process.stderr.write(
        `  ${label} ${what}: ${scan.status} in ${(ms / 1000).toFixed(2)} s${own}, ${scan.total} images (fetched ${String(c.imagesFetched)}, revalidated ${String(c.imagesRevalidated)}, reused ${String(c.imagesReused)}, re-evaluated ${String(c.imagesReevaluated)}); load ${load()}\n` +
          `    CPU during it (share of ${os.cpus().length} cores): ${cpu}\n`,
      );
      if (scan.status !== "succeeded") throw new Error(`${what} scan ended ${scan.status}: ${JSON.stringify(scan.errors)}\n${workers.map((w) => w.output().slice(-3000)).join("\n")}`);
      await expectCounts(db, opts.expected, `${label} ${what}`);
      return ms;
    };
    const full = await run("full scan");
    let rescan = Number.NaN;
    let listedRescan = "";
    if (opts.rescan !== false) {
      const listed = await run("rescan (no watch: pods listed)");
      listedRescan = `; rescan listing the pods ${(listed / 1000).toFixed(2)} s = ${Math.round((listed / full) * 100)} %`;
      // production's worker: it follows the clusters whose lease it holds with a pod watch
      const peak = (await vmHwmMb(workers[0]!.proc.pid!)) ?? 0;
      await stopWorkers();
      peaks.push(peak);
      const restartedAt = new Date();
      workers = [spawnWorker({ SIGNET_WATCH: "true" })];
      try {
        // in step: each cluster's lease held and its first list written (an unchanged inventory writes no row)
        await waitFor(
          async () => {
            if (workers[0]!.proc.exitCode !== null || workers[0]!.proc.signalCode !== null) throw new Error("the watching worker exited");
            const rows = await db.cluster.findMany({ select: { lastInventoryAt: true } });
            const leases = await db.clusterLease.count({ where: { expiresAt: { gt: new Date() } } });
            return rows.length > 0 && leases >= rows.length && rows.every((r) => r.lastInventoryAt && r.lastInventoryAt > restartedAt) ? true : undefined;
          },
          600_000,
          "the restarted worker's watches",
        );
        // its first scan verifies every signature again (verification results are kept per process);
        // the periodic rescans after it are the steady state the goal is about
        const cold = await run("rescan (watch: stored inventory kept; first scan of the restarted worker)");
        rescan = await run("rescan (watch: stored inventory kept; steady state)");
        // Scan now asks the registry about every image however recently its evidence was confirmed
        // (ADR 0022); the scheduled rescans above take evidence the revalidation cycle confirmed
        const asked = await run("rescan (watch: stored inventory kept; Scan now: every repository listed)", `${MANUAL_TRIGGER}bench`);
        listedRescan += `; first rescan after the restart ${(cold / 1000).toFixed(2)} s = ${Math.round((cold / full) * 100)} %; Scan now ${(asked / 1000).toFixed(2)} s = ${Math.round((asked / full) * 100)} %`;
      } catch (err) {
        // a watching worker that died (e.g. its heap) is a finding, not the end of the bench
        const w = workers[0]!;
        const oom = w.output().includes("heap out of memory") ? "JavaScript heap out of memory" : (err as Error).message.split("\n")[0];
        process.stderr.write(`  the watching worker failed: ${oom} (peak RSS ${(await vmHwmMb(w.proc.pid!)) ?? 0} MB)\n`);
        listedRescan += `; the watching worker failed: ${oom}`;
      }
    }
    peaks.push(...(await Promise.all(workers.map(async (w) => (await vmHwmMb(w.proc.pid!)) ?? 0))));
    const perWorker = n > 1 ? `; per worker ${peaks.join(" / ")} MB` : peaks.length > 1 ? `; listing worker ${peaks[0]} MB, watching worker ${peaks[1]} MB` : "";
    return { label, full, rescan, cpu: cpus, peakMb: Math.max(...peaks), note: `${idleMb} MB idle${perWorker}${listedRescan}` };
  } finally {
    await boss.stop({ graceful: false });
    await stopWorkers();
    if (values["worker-log"]) await fs.writeFile(`${values["worker-log"]}.${label.replace(" ", "-")}`, logs.join("\n"));
    await db.$disconnect();
  }
}

/** A kubeconfig naming the one apiserver `count` times: each context is a cluster to Signet. */
async function clusterContexts(kube: KubeApiserver, dir: string, count: number): Promise<{ kubeconfig: string; contexts: string[] }> {
  if (count <= 1) return { kubeconfig: kube.kubeconfigPath, contexts: ["admin"] };
  const contexts = Array.from({ length: count }, (_, i) => `cluster-${String.fromCharCode(97 + i)}`);
  const kubeconfig = await writeKubeconfig(
    path.join(dir, "kubeconfig-clusters"),
    contexts.map((name) => ({ name, server: kube.url, token: kube.tokens.admin, caPem: kube.caPem })),
  );
  return { kubeconfig, contexts };
}

/** The CLI path: `signet scan --kubeconfig … --wait --json`, in process, as a first-time user runs it. */
async function cliPath(url: string, env: Record<string, string>, kubeconfig: string, contexts: string[], expected: Expected): Promise<PathFigures> {
  const db = createDb(url, 2);
  try {
    // the bundle built first (bin/signet.mjs builds it when a source changed; `--version` loads no
    // command), as an installed command has it: neither the timings nor the memory are esbuild's
    const built = await runSignet(["--version"], env);
    if (built.code !== 0) throw new Error(`signet --version: exit ${built.code}: ${built.stderr}`);
    const run = async (label: string) => {
      const r = await runSignet(["scan", "--kubeconfig", kubeconfig, ...contexts.flatMap((c) => ["--context", c]), "--wait", "--json"], { DATABASE_URL: url, ...env, LOG_LEVEL: "info" }, { measure: true });
      let summary: { status: string; images: Record<string, number> };
      try {
        summary = JSON.parse(r.stdout) as typeof summary;
      } catch {
        throw new Error(`signet scan ${label}: stdout is not one JSON document (exit ${r.code}):\n${r.stdout.slice(0, 2000)}\n${r.stderr.slice(-3000)}`);
      }
      const peaks = [...r.peaks.values()].sort((a, b) => b - a);
      // (LOG_LEVEL info: the scan's log says whether the cluster was listed or proven unchanged)
      const inventory = r.stderr.includes('"msg":"cluster unchanged since its stored inventory (not listed)"') ? "cluster not listed (unchanged)" : "cluster listed";
      process.stderr.write(
        `  signet scan ${label}: ${summary.status} in ${(r.ms / 1000).toFixed(2)} s (CPU ${r.cpuSeconds.toFixed(2)} s), exit ${r.code}, ${inventory}, images ${JSON.stringify(summary.images)}, process peaks ${peaks.join(" / ")} MB; load ${load()}\n`,
      );
      if (summary.status !== "succeeded") throw new Error(`signet scan ${label} ended ${summary.status}:\n${r.stdout}\n${r.stderr.slice(-3000)}`);
      return { ms: r.ms, peakMb: r.peakRssMb, parentMb: (r.pid !== undefined ? r.peaks.get(r.pid) : undefined) ?? 0, cpu: r.cpuSeconds };
    };
    const full = await run("full scan");
    const rescan = await run("rescan");
    await expectCounts(db, expected, "signet scan rescan");
    return {
      label: "signet scan",
      full: full.ms,
      rescan: rescan.ms,
      peakMb: Math.max(full.peakMb, rescan.peakMb),
      // CPU seconds of the command's processes: less dependent on the machine's load than its wall time
      note: `scanning process; the command's first process ${Math.max(full.parentMb, rescan.parentMb)} MB; times include both processes' start; CPU full ${full.cpu.toFixed(1)} s, rescan ${rescan.cpu.toFixed(1)} s = ${Math.round((rescan.cpu / full.cpu) * 100)} %`,
    };
  } finally {
    await db.$disconnect();
  }
}

interface Expected {
  /** Running containers (one per pod) over every cluster: one policy applies to each. */
  containers: number;
}

/**
 * Every running container has exactly one verdict (the one policy applies to all), verified; every
 * verdict has exactly one verdict event (its first evaluation: rescans and a second worker add none).
 */
async function expectCounts(db: ReturnType<typeof createDb>, expected: Expected, what: string) {
  const [row] = await db.$queryRaw<{ containers: number; verdicts: number; verified: number; events: number; distinctEvents: number }[]>`
    SELECT (SELECT count(*)::int FROM "Container" c JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL) AS containers,
           (SELECT count(*)::int FROM "Verdict") AS verdicts,
           (SELECT count(*)::int FROM "Verdict" WHERE value = 'verified') AS verified,
           (SELECT count(*)::int FROM "VerificationEvent" WHERE kind = 'verdict') AS events,
           (SELECT count(DISTINCT ("containerId", "policyName"))::int FROM "VerificationEvent" WHERE kind = 'verdict') AS "distinctEvents"`;
  const r = row!;
  const ok = r.containers === expected.containers && r.verdicts === r.containers && r.verified === r.containers && r.events === r.containers && r.distinctEvents === r.events;
  process.stderr.write(`    counts after the ${what}: ${r.containers} containers, ${r.verdicts} verdicts (${r.verified} verified), ${r.events} verdict events (${r.distinctEvents} distinct) — ${ok ? "as expected" : "WRONG"}\n`);
  if (!ok) throw new Error(`${what}: expected ${expected.containers} containers, each with one verified verdict and one verdict event: ${JSON.stringify(r)}`);
}

/** A second, migrated database on the same server (the CLI's scans start from an empty one too). */
async function secondDatabase(url: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  await applyMigrations(u.toString());
  return u.toString();
}

async function main() {
  const podCount = Number(values.pods);
  const digestCount = Number(values.digests);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-bench-scan-"));
  const log = pino({ level: "warn" }, pino.destination(2));
  const clusterCount = Math.max(1, Number(values.clusters));
  const [pgs, kube, registry] = await Promise.all([startEmbeddedPostgres(dir, log, values["pg-stats"] ? { shared_preload_libraries: "pg_stat_statements" } : {}), startKubeApiserver(), startRegistry(values["registry-gogc"] ? { goGC: Number(values["registry-gogc"]) } : {})]);
  try {
    await applyMigrations(pgs.url);
    const cliUrl = await secondDatabase(pgs.url, "bench_cli");
    const pairUrl = values["compare-workers"] ? await secondDatabase(pgs.url, "bench_pair") : undefined;
    const { kubeconfig, contexts } = await clusterContexts(kube, dir, clusterCount);
    const key = generateSigningKey();
    let t = Date.now();
    let cpu0 = await descendantCpu();
    const phase = async (what: string, n: number) => {
      const ms = Date.now() - t;
      const cpu1 = await descendantCpu();
      process.stderr.write(`  ${what} in ${(ms / 1000).toFixed(1)} s (${Math.round(n / (ms / 1000))}/s; CPU: ${formatCpu(cpuDelta(cpu0, cpu1), ms, os.cpus().length)}; load ${load()})\n`);
      [t, cpu0] = [Date.now(), cpu1];
    };
    process.stderr.write(`pushing ${digestCount} signed images to ${registry.host}\n`);
    const images = await pushSignedImages(registry.url, registry.host, key, digestCount, { repos: 200, concurrency: 32, shareBlobs: true });
    await phase(`pushed ${digestCount} images`, digestCount);
    // the apiserver holds podCount / clusters pods; every context lists them all
    const perCluster = Math.ceil(podCount / clusterCount);
    process.stderr.write(`seeding ${perCluster} pods (a create and a status write each)\n`);
    const seeded = await seedPods(kube, registry.host, images, { perPod: 1, pods: perCluster, namespaces: Number(values.namespaces), concurrency: 64, prefix: "bench" });
    await phase(`seeded ${seeded.pods} pods${clusterCount > 1 ? `, seen through ${clusterCount} kubeconfig contexts of the one kube-apiserver: ${seeded.pods * clusterCount} pods` : ""}`, seeded.pods);
    const expected: Expected = { containers: seeded.containers * clusterCount };
    for (const url of [pgs.url, cliUrl, ...(pairUrl ? [pairUrl] : [])]) {
      const db = createDb(url, 2);
      await saveSigningPolicy(db, registry.host, key.publicKeyPem);
      await db.$disconnect();
    }
    const env = {
      KUBECONFIG: kubeconfig,
      SIGNET_KUBE_CONTEXTS: contexts.join(","),
      SIGNET_REGISTRY_INSECURE: registry.host,
      // the scans are measured: no watch writing the inventory and checking images beside them (bench:latency measures that path)
      SIGNET_WATCH: "false",
      ...(values.concurrency ? { SIGNET_WORKER_CONCURRENCY: values.concurrency } : {}),
    };
    const figures: PathFigures[] = [];
    const loadBefore = load();
    const skipped = new Set(values.skip.split(",").map((s) => s.trim()));
    if (!skipped.has("worker")) figures.push(await workerPath(pgs.url, env, { expected, rescan: !values["full-only"] }));
    if (!skipped.has("cli")) figures.push(await cliPath(cliUrl, env, kubeconfig, contexts, expected));
    const pair = pairUrl ? await workerPath(pairUrl, env, { workers: 2, rescan: false, expected }) : undefined;

    const ok = (b: boolean) => (b ? "met" : "NOT met");
    const pct = (share: number) => `${Math.round(share * 100)} %`;
    const lines = [
      `scan of ${seeded.pods * clusterCount} pods / ${digestCount} digests / ${clusterCount} cluster(s)${clusterCount > 1 ? ` (one kube-apiserver with ${seeded.pods} pods seen through ${clusterCount} kubeconfig contexts, each a cluster to Signet)` : ""} (every container verified), goals: full ≤ ${GOALS.fullMs / 1000} s, rescan ≤ ${pct(GOALS.rescanShare)} of full, peak RSS ≤ ${GOALS.rssMb} MB; load (1/5/15 min) ${loadBefore} before, ${load()} after, ${os.cpus().length} cores`,
    ];
    for (const f of figures) {
      lines.push(
        `  ${f.label.padEnd(11)} full ${(f.full / 1000).toFixed(2)} s (${ok(f.full <= GOALS.fullMs)}), rescan ${(f.rescan / 1000).toFixed(2)} s = ${Math.round((f.rescan / f.full) * 100)} % (${ok(f.rescan <= f.full * GOALS.rescanShare)}), peak RSS ${f.peakMb} MB (${ok(f.peakMb <= GOALS.rssMb)}; ${f.note})`,
      );
    }
    const one = figures.find((f) => f.label === "worker");
    // the registry's share of the machine during each full scan: on 2 cores, a scan whose registry
    // takes a core's worth is bounded by it, whatever the number of workers
    const registryShare = (f: PathFigures | undefined) => {
      const c = f?.cpu?.[0];
      if (!c) return "";
      const reg = c.spent.get("docker-registry") ?? 0;
      const total = [...c.spent.values()].reduce((a, b) => a + b, 0);
      return `registry ${reg.toFixed(1)} CPU-s = ${Math.round((reg / (c.ms / 1000)) * 100)} % of one core, ${Math.round((reg / total) * 100)} % of all CPU spent by the bench's processes (${total.toFixed(1)} CPU-s in ${(c.ms / 1000).toFixed(1)} s: ${Math.round((total / (c.ms / 1000) / os.cpus().length) * 100)} % of the ${os.cpus().length} cores)`;
    };
    if (one) lines.push(`  worker full scan: ${registryShare(one)}`);
    if (pair) {
      lines.push(
        `  ${pair.label.padEnd(11)} full ${(pair.full / 1000).toFixed(2)} s, peak RSS ${pair.peakMb} MB (${ok(pair.peakMb <= GOALS.rssMb)}; ${pair.note})${one ? `; 1 worker / 2 workers = ${(one.full / pair.full).toFixed(2)}×` : ""}`,
        `  2 workers full scan: ${registryShare(pair)}`,
      );
    }
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await Promise.all([kube.stop(), registry.stop(), pgs.stop()]);
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench/scan: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
