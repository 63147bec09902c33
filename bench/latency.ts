// Latency bench: seconds from a new pod to its verdict, and the idle cost of following clusters.
//
// A real kube-apiserver with 20,000 pods already running (and verified) 2,000 signed digests, a real
// registry, an embedded PostgreSQL and a real worker process (scripts/worker.ts, watches on, as
// `npm start` runs it). Once every running container is verified and the worker is quiet, 100 pods are
// created (status through the status subresource, as a kubelet would report the digest) running 100
// digests never seen before, half signed, half unsigned. Per pod: the time from its creation request
// to its verdict being readable through the read API's model (lib/data/images listImages, what
// GET /api/images answers). Then the worker's CPU over an idle window (watches and revalidation only).
//
//   bash scripts/n24.sh tsx --conditions=react-server bench/latency.ts [--pods N] [--digests N] [--new N] [--idle-seconds S]
//   (SIGNET_BENCH_IDLE_SECONDS also shortens the idle window for a quick run; default 300 s;
//   --worker-cpu-prof DIR writes the worker's CPU profile there — the profiler itself costs CPU, so
//   the idle figure of a profiled run is not the real one; the idle CPU is also printed per thread)
//
// Goals: p95 ≤ 10 s from creation to verdict; idle worker CPU ≤ 2 % of one core.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { createDb, type Db } from "@/lib/db/client";
import { startEmbeddedPostgres } from "@/lib/db/embedded";
import { applyMigrations } from "@/lib/db/migrate";
import { listImages } from "@/lib/data/images";
import { imageListQuery } from "@/lib/dto/read";
import { getEnv } from "@/lib/env";
import { SCAN_RUNTIME_ENV, scanRuntimeFlags } from "@/lib/scan/runtime";
import { mapLimit } from "@/lib/concurrency";
import { cpuSeconds, threadCpuSeconds } from "@/bench/cpu";
import { podManifest, startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { spawnTs, waitFor } from "@/tests/support/process";
import { startRegistry } from "@/tests/support/registry";
import { generateSigningKey, pushSignedImage } from "@/tests/support/registry-fixtures";
import { pushSignedImages, saveSigningPolicy, seedPods } from "@/tests/support/scan";

const { values } = parseArgs({
  options: {
    pods: { type: "string", default: "20000" },
    digests: { type: "string", default: "2000" },
    new: { type: "string", default: "100" },
    "idle-seconds": { type: "string", default: process.env.SIGNET_BENCH_IDLE_SECONDS ?? "300" },
    "log-level": { type: "string", default: "warn" },
    "worker-log": { type: "string", default: "" },
    /** Writes the worker's CPU profile (node --cpu-prof) into this directory when it stops. */
    "worker-cpu-prof": { type: "string", default: "" },
  },
});

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function allVerified(db: Db): Promise<{ verified: number; containers: number }> {
  const [verified, containers] = await Promise.all([
    db.verdict.count({ where: { value: "verified", container: { pod: { deletedAt: null } } } }),
    db.container.count({ where: { pod: { deletedAt: null } } }),
  ]);
  return { verified, containers };
}

/** The worker is quiet: no scan running, no image check queued or active. */
async function quiet(db: Db): Promise<boolean> {
  const running = await db.scan.count({ where: { status: { in: ["queued", "running"] } } });
  const jobs = await db.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name IN ('image.check', 'scan.start') AND state IN ('created', 'retry', 'active')`);
  return running === 0 && (jobs[0]?.n ?? 0) === 0;
}

async function createRunningPod(kube: KubeApiserver, host: string, ns: string, name: string, repo: string, digest: string) {
  await kube.request("POST", `/api/v1/namespaces/${ns}/pods`, podManifest({ namespace: ns, name, containers: [{ name: "app", image: `${host}/${repo}:v1` }] }));
  await kube.request(
    "PATCH",
    `/api/v1/namespaces/${ns}/pods/${name}/status`,
    {
      status: {
        phase: "Running",
        containerStatuses: [
          {
            name: "app",
            image: `${host}/${repo}:v1`,
            imageID: `${host}/${repo}@${digest}`,
            ready: true,
            restartCount: 0,
            started: true,
            state: { running: { startedAt: new Date().toISOString() } },
          },
        ],
      },
    },
    { contentType: "application/merge-patch+json" },
  );
}

async function main() {
  const podCount = Number(values.pods);
  const digestCount = Number(values.digests);
  const newCount = Number(values.new);
  const idleSeconds = Number(values["idle-seconds"]);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-bench-latency-"));
  const log = pino({ level: "warn" }, pino.destination(2));
  const [pgs, kube, registry] = await Promise.all([startEmbeddedPostgres(dir, log), startKubeApiserver(), startRegistry()]);
  let worker: ReturnType<typeof spawnTs> | undefined;
  const db = createDb(pgs.url, 4);
  try {
    await applyMigrations(pgs.url);
    const key = generateSigningKey();
    let t = Date.now();
    process.stderr.write(`pushing ${digestCount} signed images and ${newCount} new ones (half signed) to ${registry.host}\n`);
    const images = await pushSignedImages(registry.url, registry.host, key, digestCount, { repos: 200, concurrency: 32 });
    const fresh = await mapLimit(Array.from({ length: newCount }, (_, i) => i), 16, async (i) => {
      const signed = i % 2 === 0;
      const repo = `apps/latency-${i % 10}`;
      const pushed = await pushSignedImage(registry.url, registry.host, repo, key, { sign: signed });
      return { i, repo, digest: pushed.digest, signed };
    });
    process.stderr.write(`  pushed in ${((Date.now() - t) / 1000).toFixed(1)} s; seeding ${podCount} pods\n`);
    t = Date.now();
    const copies = Math.max(1, Math.round(podCount / digestCount));
    const seeded = await seedPods(kube, registry.host, images, { perPod: 1, podsPerImage: copies, namespaces: 200, concurrency: 48, prefix: "bench" });
    process.stderr.write(`  seeded ${seeded.pods} pods in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
    await saveSigningPolicy(db, registry.host, key.publicKeyPem);

    worker = spawnTs("scripts/worker.ts", [], {
      DATABASE_URL: pgs.url,
      KUBECONFIG: kube.kubeconfigPath,
      SIGNET_KUBE_CONTEXTS: "admin",
      SIGNET_REGISTRY_INSECURE: registry.host,
      SIGNET_WATCH: "true",
      // one full scan (the first tick's); the idle window measures the watches and revalidation, not a periodic scan
      SIGNET_SCAN_INTERVAL_MINUTES: "1440",
      LOG_LEVEL: values["log-level"],
      ...SCAN_RUNTIME_ENV,
      NODE_OPTIONS: [
        ...scanRuntimeFlags(getEnv().SIGNET_WORKER_HEAP_MB),
        ...(values["worker-cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(values["worker-cpu-prof"])}`] : []),
      ].join(" "),
    });
    const pid = worker.proc.pid!;
    t = Date.now();
    // the watch's first list writes the 20,000 pods and queues their checks; the first scan.tick starts a full scan too
    await waitFor(
      async () => {
        const v = await allVerified(db);
        return v.containers >= seeded.containers && v.verified === v.containers && (await quiet(db)) ? v : undefined;
      },
      1_200_000,
      "every running container verified and the worker quiet",
    );
    process.stderr.write(`  ${seeded.containers} containers verified ${((Date.now() - t) / 1000).toFixed(1)} s after the worker started\n`);
    // settle: the first full scan (scan.tick) may start within the minute; wait for it to end
    await new Promise((r) => setTimeout(r, 5000));
    await waitFor(async () => ((await quiet(db)) ? true : undefined), 600_000, "the worker quiet");

    // 100 new pods, 10 at a time, each timed from its creation request
    const created = new Map<string, { at: number; signed: boolean; name: string }>();
    const creating = mapLimit(fresh, 10, async (f) => {
      const name = `latency-${f.i}`;
      created.set(f.digest, { at: performance.now(), signed: f.signed, name });
      await createRunningPod(kube, registry.host, "bench-0", name, f.repo, f.digest);
    });
    const seen = new Map<string, { ms: number; verdict: string }>();
    const query = imageListQuery.parse({ q: "latency", registry: registry.host, pageSize: 200 });
    while (seen.size < fresh.length) {
      const page = await listImages(db, query);
      const now = performance.now();
      for (const row of page.rows) {
        const c = created.get(row.digest);
        if (c && row.verdict && !seen.has(row.digest)) seen.set(row.digest, { ms: now - c.at, verdict: row.verdict });
      }
      if (performance.now() - (created.values().next().value?.at ?? now) > 600_000) throw new Error(`only ${seen.size} of ${fresh.length} verdicts after 10 minutes`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await creating;
    const wrong = fresh.filter((f) => seen.get(f.digest)!.verdict !== (f.signed ? "verified" : "unsigned"));
    if (wrong.length) throw new Error(`${wrong.length} new pods got an unexpected verdict`);
    const ms = [...seen.values()].map((s) => s.ms).sort((a, b) => a - b);

    // idle: nothing changes in the cluster or the registry; the watches and revalidation run
    await waitFor(async () => ((await quiet(db)) ? true : undefined), 600_000, "the worker quiet after the new pods");
    await new Promise((r) => setTimeout(r, 5000));
    process.stderr.write(`  measuring the worker's CPU over ${idleSeconds} idle seconds\n`);
    const xacts = async () => (await db.$queryRawUnsafe<{ n: bigint }[]>(`SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()`))[0]!.n;
    const cpu0 = await cpuSeconds(pid);
    const threads0 = await threadCpuSeconds(pid);
    const xact0 = await xacts();
    const wall0 = performance.now();
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const cpu1 = await cpuSeconds(pid);
    const threads1 = await threadCpuSeconds(pid);
    const idleWall = (performance.now() - wall0) / 1000;
    const byThread = [...threads1]
      .map(([name, s]) => [name, ((s - (threads0.get(name) ?? 0)) / idleWall) * 100] as const)
      .filter(([, p]) => p >= 0.05)
      .sort((a, b) => b[1] - a[1])
      .map(([name, p]) => `${name} ${p.toFixed(2)} %`)
      .join(", ");
    const xactPerSecond = Number((await xacts()) - xact0) / ((performance.now() - wall0) / 1000);
    const idlePct = ((cpu1 - cpu0) / ((performance.now() - wall0) / 1000)) * 100;
    const rss = Math.round(Number(/^VmRSS:\s+(\d+) kB/m.exec(await fs.readFile(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024);
    if (values["worker-log"]) await fs.writeFile(values["worker-log"], worker.output());

    const s = (x: number) => `${(x / 1000).toFixed(2)} s`;
    const ok = (b: boolean) => (b ? "met" : "NOT met");
    process.stdout.write(
      [
        `pod → verdict latency with ${seeded.pods} pods running (${digestCount} digests, all verified); ${newCount} new pods, ${fresh.filter((f) => f.signed).length} signed / ${fresh.filter((f) => !f.signed).length} unsigned new digests`,
        `  p50 ${s(pct(ms, 50))}, p95 ${s(pct(ms, 95))} (goal ≤ 10 s: ${ok(pct(ms, 95) <= 10_000)}), max ${s(ms.at(-1)!)}`,
        `  idle worker CPU over ${idleSeconds} s: ${idlePct.toFixed(2)} % of one core (goal ≤ 2 %: ${ok(idlePct <= 2)}${idleSeconds < 300 ? "; shortened window, the goal is over 300 s" : ""}); RSS ${rss} MB; ${xactPerSecond.toFixed(1)} database transactions a second`,
        `  idle CPU by thread: ${byThread || "none measurable"}`,
        `  load average during the run: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")} (${os.cpus().length} cores)`,
      ].join("\n") + "\n",
    );
  } finally {
    if (worker && worker.proc.exitCode === null) {
      worker.proc.kill("SIGTERM");
      await worker.exited;
    }
    await db.$disconnect();
    await Promise.all([kube.stop(), registry.stop(), pgs.stop()]);
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench/latency: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
