// Scan bench: a real kube-apiserver with 20,000 pods running 2,000 distinct digests, a real registry
// holding those 2,000 images signed in cosign's classic format, an embedded PostgreSQL, and a real
// worker process (scripts/worker.ts). Measures a full scan, then a second scan with nothing changed,
// and the worker's peak resident memory (VmHWM).
//
//   bash scripts/n24.sh tsx --conditions=react-server bench/scan.ts [--pods N] [--digests N] [--concurrency N]
//
// Goals on the 2-core reference machine: full scan ≤ 30 s, rescan ≤ 10 % of it, worker ≤ 400 MB.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { createDb } from "@/lib/db/client";
import { startEmbeddedPostgres } from "@/lib/db/embedded";
import { getEnv } from "@/lib/env";
import { WORKER_ENV, workerNodeFlags } from "@/lib/jobs/worker-runtime";
import { applyMigrations } from "@/lib/db/migrate";
import { startKubeApiserver } from "@/tests/support/kube-apiserver";
import { spawnTs, waitFor } from "@/tests/support/process";
import { startRegistry } from "@/tests/support/registry";
import { generateSigningKey } from "@/tests/support/registry-fixtures";
import { pushSignedImages, saveSigningPolicy, seedPods, waitForScan } from "@/tests/support/scan";
import { createBoss, ensureQueues, sendJob } from "@/lib/jobs/boss";
import { scanStart } from "@/lib/jobs/definitions/scan";
import type { JobDefinition } from "@/lib/jobs/registry";
import { createScan } from "@/lib/scan/pipeline";

const { values } = parseArgs({
  options: {
    pods: { type: "string", default: "20000" },
    digests: { type: "string", default: "2000" },
    namespaces: { type: "string", default: "200" },
    concurrency: { type: "string", default: "" },
    /** NODE_OPTIONS for the worker instead of production's (lib/jobs/worker-runtime.ts), e.g. "--node-options=--max-old-space-size=512". */
    "node-options": { type: "string", default: "" },
    /** LOG_LEVEL of the worker (debug prints per-batch timings); its output goes to --worker-log. */
    "log-level": { type: "string", default: "warn" },
    "worker-log": { type: "string", default: "" },
  },
});

async function vmHwmMb(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, "utf8");
  const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

async function main() {
  const podCount = Number(values.pods);
  const digestCount = Number(values.digests);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-bench-scan-"));
  const log = pino({ level: "warn" });
  const [pg, kube, registry] = await Promise.all([startEmbeddedPostgres(dir, log), startKubeApiserver(), startRegistry()]);
  let worker: ReturnType<typeof spawnTs> | undefined;
  let stopBoss: (() => Promise<void>) | undefined;
  try {
    await applyMigrations(pg.url);
    const db = createDb(pg.url, 4);
    const key = generateSigningKey();
    let t = Date.now();
    process.stderr.write(`pushing ${digestCount} signed images to ${registry.host}\n`);
    const images = await pushSignedImages(registry.url, registry.host, key, digestCount, { repos: 200, concurrency: 32 });
    process.stderr.write(`  pushed in ${((Date.now() - t) / 1000).toFixed(1)} s; seeding ${podCount} pods\n`);
    t = Date.now();
    const copies = Math.max(1, Math.round(podCount / digestCount));
    const seeded = await seedPods(kube, registry.host, images, { perPod: 1, podsPerImage: copies, namespaces: Number(values.namespaces), concurrency: 48, prefix: "bench" });
    process.stderr.write(`  seeded ${seeded.pods} pods in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
    await saveSigningPolicy(db, registry.host, key.publicKeyPem);

    worker = spawnTs("scripts/worker.ts", [], {
      DATABASE_URL: pg.url,
      KUBECONFIG: kube.kubeconfigPath,
      SIGNET_KUBE_CONTEXTS: "admin",
      SIGNET_REGISTRY_INSECURE: registry.host,
      LOG_LEVEL: values["log-level"],
      ...(values.concurrency ? { SIGNET_WORKER_CONCURRENCY: values.concurrency } : {}),
      // the flags and environment scripts/launch.ts gives the worker, unless overridden
      ...WORKER_ENV,
      NODE_OPTIONS: values["node-options"] || workerNodeFlags(getEnv().SIGNET_WORKER_HEAP_MB).join(" "),
    });
    const pid = worker.proc.pid!;
    await waitFor(async () => ((await db.workerHeartbeat.count()) > 0 ? true : undefined), 60_000, "worker heartbeat");
    const idleMb = await vmHwmMb(pid);

    // one pg-boss sender for the whole bench ("scan now" in the web process keeps one too), so that
    // the timings are the scan's, not a sender's start-up
    const boss = createBoss(pg.url, { max: 2 });
    boss.on("error", () => undefined);
    await boss.start();
    await ensureQueues(boss, [scanStart] as unknown as JobDefinition[]);
    stopBoss = () => boss.stop({ graceful: false });
    const run = async (label: string) => {
      const t0 = performance.now();
      const scanId = await createScan(db, { trigger: "bench" });
      await sendJob(boss, scanStart, { scanId });
      const scan = await waitForScan(db, scanId, 600_000);
      const ms = performance.now() - t0;
      const own = scan.startedAt && scan.finishedAt ? ` (${((scan.finishedAt.getTime() - scan.startedAt.getTime()) / 1000).toFixed(2)} s from scan.start to finished)` : "";
      process.stderr.write(`  ${label}: ${scan.status} in ${(ms / 1000).toFixed(2)} s${own} (${scan.total} images, counts ${JSON.stringify(scan.counts)})\n`);
      if (scan.status !== "succeeded") throw new Error(`${label} scan ended ${scan.status}: ${JSON.stringify(scan.errors)}\n${worker!.output().slice(-3000)}`);
      return ms;
    };
    const full = await run("full scan");
    const rescan = await run("rescan");
    if (values["worker-log"]) await fs.writeFile(values["worker-log"], worker.output());
    const peak = await vmHwmMb(pid);
    const verified = await db.verdict.count({ where: { value: "verified" } });
    const containers = await db.container.count();
    if (verified !== containers) throw new Error(`${verified} of ${containers} containers verified`);
    await db.$disconnect();
    const ok = (b: boolean) => (b ? "met" : "NOT met");
    process.stdout.write(
      [
        `scan of ${seeded.pods} pods / ${digestCount} digests (${containers} containers, all verified):`,
        `  full scan ${(full / 1000).toFixed(2)} s — goal ≤ 30 s: ${ok(full <= 30_000)}`,
        `  rescan    ${(rescan / 1000).toFixed(2)} s (${Math.round((rescan / full) * 100)} % of full) — goal ≤ 10 %: ${ok(rescan <= full * 0.1)}`,
        `  worker peak RSS (VmHWM) ${peak} MB (${idleMb} MB idle) — goal ≤ 400 MB: ${ok(peak <= 400)}`,
      ].join("\n") + "\n",
    );
  } finally {
    await stopBoss?.();
    if (worker && worker.proc.exitCode === null) {
      worker.proc.kill("SIGTERM");
      await worker.exited;
    }
    await Promise.all([kube.stop(), registry.stop(), pg.stop()]);
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
