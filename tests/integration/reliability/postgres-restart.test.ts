import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditChain } from "@/lib/audit/store";
import { createDb, type Db } from "@/lib/db/client";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "@/lib/db/embedded";
import { applyMigrations } from "@/lib/db/migrate";
import { startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { spawnTs, waitFor, type Spawned } from "@/tests/support/process";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { generateSigningKey } from "@/tests/support/registry-fixtures";
import { enqueueScan, enqueueTick, FINISHED, pushSignedImages, saveSigningPolicy, seedPods } from "@/tests/support/scan";

/**
 * PostgreSQL itself (an embedded server of this test's own, on its own data directory) is stopped in
 * the middle of a scan and started again on the same directory and port. The worker process must ride
 * out the outage — pg-boss and Prisma reconnect, failed jobs are retried or re-sent by the sweep —
 * and the scan completes with every verdict and event exactly once.
 */
const N = 300;

describe("PostgreSQL restarted during a scan", () => {
  let dir: string;
  let pg: EmbeddedPostgres;
  let db: Db;
  let kube: KubeApiserver;
  let registry: TestRegistry;
  let worker: Spawned | undefined;
  const pgLog = pino({ level: "silent" });

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-pg-restart-"));
    [pg, kube, registry] = await Promise.all([startEmbeddedPostgres(dir, pgLog), startKubeApiserver(), startRegistry()]);
    await applyMigrations(pg.url);
    db = createDb(pg.url, 4);
    const key = generateSigningKey();
    const images = await pushSignedImages(registry.url, registry.host, key, N, { repos: 20 });
    await seedPods(kube, registry.host, images, { perPod: 10, namespaces: 2 });
    await saveSigningPolicy(db, registry.host, key.publicKeyPem);
    worker = spawnTs("scripts/worker.ts", [], {
      DATABASE_URL: pg.url,
      KUBECONFIG: kube.kubeconfigPath,
      SIGNET_KUBE_CONTEXTS: "admin",
      SIGNET_REGISTRY_INSECURE: registry.host,
      SIGNET_WORKER_CONCURRENCY: "1",
      SIGNET_HEARTBEAT_SECONDS: "1",
      SIGNET_SWEEP_STALE_SECONDS: "3",
      SIGNET_DB_CONNECT_TIMEOUT_MS: "2000",
      // the scan does the checking: a watch started with the worker checks every new image on its own,
      // and a scan after it has little left to do — too short a verify stage to stop the database in
      SIGNET_WATCH: "false",
      LOG_LEVEL: "warn",
    });
    await waitFor(async () => ((await db.workerHeartbeat.count()) > 0 ? true : undefined), 60_000, "worker heartbeat");
  }, 150_000);

  afterAll(async () => {
    if (worker && worker.proc.exitCode === null && worker.proc.signalCode === null) {
      worker.proc.kill("SIGTERM");
      await worker.exited;
    }
    await db?.$disconnect();
    await Promise.all([kube?.stop(), registry?.stop(), pg?.stop()]);
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("completes the scan after the database comes back, with the worker alive throughout", async () => {
    const scanId = await enqueueScan(db, pg.url);
    // stop the database once the scan is verifying images, with work left
    let seen = "";
    const at = await waitFor(
      async () => {
        const s = await db.scan.findUniqueOrThrow({ where: { id: scanId } });
        seen = `${s.status} / ${s.stage} / ${s.done} of ${s.total}`;
        return s.stage === "verify" && s.done >= 10 ? s : undefined;
      },
      120_000,
      "the scan to be verifying",
    ).catch((err: Error) => {
      // where it stopped, and what the worker said
      throw new Error(`${err.message} (last seen: ${seen}); worker output:\n${worker!.output().slice(-3000)}`);
    });
    expect(at.done).toBeLessThan(N);
    await db.$disconnect();
    await pg.stop();
    // the worker notices: a query cannot succeed now
    await waitFor(async () => (/heartbeat failed|pg-boss error|job failed/.test(worker!.output()) ? true : undefined), 30_000, "the worker to notice the outage");
    expect(worker!.proc.exitCode).toBe(null);

    const restartedAt = new Date();
    pg = await startEmbeddedPostgres(dir, pgLog);
    db = createDb(pg.url, 4);
    // the worker reconnects: heartbeats resume
    await waitFor(
      async () => ((await db.workerHeartbeat.count({ where: { beatAt: { gt: restartedAt } } })) > 0 ? true : undefined),
      60_000,
      "a heartbeat after the restart",
    );
    let lastTick = 0;
    const scan = await waitFor(
      async () => {
        if (Date.now() - lastTick > 2000) {
          lastTick = Date.now();
          await enqueueTick(pg.url);
        }
        const s = await db.scan.findUniqueOrThrow({ where: { id: scanId } });
        return FINISHED.includes(s.status) ? s : undefined;
      },
      150_000,
      "the scan to finish after the restart",
    );
    expect(worker!.proc.exitCode).toBe(null);
    expect(worker!.proc.signalCode).toBe(null);
    expect(scan.status).toBe("succeeded");
    expect(scan.done).toBe(N);
    const containers = await db.container.count();
    expect(containers).toBe(N);
    const verdicts = await db.verdict.groupBy({ by: ["containerId", "policyId", "value"], _count: true });
    expect(verdicts.length).toBe(N);
    expect(verdicts.every((v) => v._count === 1 && v.value === "verified")).toBe(true);
    const events = await db.verificationEvent.groupBy({ by: ["containerId", "policyName"], where: { kind: "verdict" }, _count: true });
    expect(events.length).toBe(N);
    expect(events.filter((e) => e._count !== 1)).toEqual([]);
    expect((await verifyAuditChain(db)).ok).toBe(true);
    // the process never died of the outage
    expect(worker!.output()).not.toMatch(/"level":60|worker failed to start|Unhandled|uncaught/i);
  }, 300_000);
});
