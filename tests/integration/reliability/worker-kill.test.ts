import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditChain } from "@/lib/audit/store";
import { createDb, type Db } from "@/lib/db/client";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { seededRandom } from "@/tests/support/fault-proxy";
import { startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { spawnTs, waitFor, type Spawned } from "@/tests/support/process";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { generateSigningKey } from "@/tests/support/registry-fixtures";
import { enqueueScan, enqueueTick, FINISHED, pushSignedImages, saveSigningPolicy, seedPods } from "@/tests/support/scan";

/**
 * The worker is a real process (scripts/worker.ts) and is killed with SIGKILL ten times at random
 * points of a scan. Each restart picks up: the scan.tick sweep re-sends what the dead worker held
 * (stale after SIGNET_SWEEP_STALE_SECONDS), and the images it was discovering are taken over once
 * its discovery claims expire (SIGNET_DISCOVERY_CLAIM_SECONDS). In the end the scan completes with
 * exactly one verdict per (container, policy), exactly one verdict event per container for its first
 * evaluation, and an intact audit chain.
 */
const N = 300;
const KILLS = 10;

describe("worker killed during a scan", () => {
  let tdb: TestDatabase;
  let db: Db;
  let kube: KubeApiserver;
  let registry: TestRegistry;
  let worker: Spawned | undefined;
  const outputs: string[] = [];

  beforeAll(async () => {
    [tdb, kube, registry] = await Promise.all([createTestDatabase(), startKubeApiserver(), startRegistry()]);
    db = createDb(tdb.url, 4);
    const key = generateSigningKey();
    const images = await pushSignedImages(registry.url, registry.host, key, N, { repos: 30 });
    await seedPods(kube, registry.host, images, { perPod: 10, namespaces: 3 });
    await saveSigningPolicy(db, registry.host, key.publicKeyPem);
  }, 120_000);

  afterAll(async () => {
    if (worker && worker.proc.exitCode === null && worker.proc.signalCode === null) {
      worker.proc.kill("SIGTERM");
      await worker.exited;
    }
    await db?.$disconnect();
    await Promise.all([kube?.stop(), registry?.stop()]);
    await tdb?.drop();
  });

  const startWorkerProcess = async () => {
    const w = spawnTs("scripts/worker.ts", [], {
      DATABASE_URL: tdb.url,
      KUBECONFIG: kube.kubeconfigPath,
      SIGNET_KUBE_CONTEXTS: "admin",
      SIGNET_REGISTRY_INSECURE: registry.host,
      SIGNET_WORKER_CONCURRENCY: "1",
      // small batches: many jobs, so that every kill lands inside the scan
      SIGNET_SCAN_BATCH_SIZE: "3",
      SIGNET_HEARTBEAT_SECONDS: "1",
      SIGNET_SWEEP_STALE_SECONDS: "3",
      // a killed worker's discovery claims hold its images off the next one until they expire: 10 s,
      // not the default 2 minutes (still longer than a batch of 3 takes to discover)
      SIGNET_DISCOVERY_CLAIM_SECONDS: "10",
      LOG_LEVEL: "warn",
    });
    // up when its heartbeat row exists
    await waitFor(async () => ((await db.workerHeartbeat.count({ where: { pid: w.proc.pid! } })) > 0 ? true : undefined), 60_000, "worker heartbeat");
    return w;
  };

  it("completes the scan after ten SIGKILLs without losing or duplicating verdicts or events", async () => {
    const random = seededRandom(424242);
    const scanId = await enqueueScan(db, tdb.url);
    const stages: string[] = [];
    let kills = 0;
    while (kills < KILLS) {
      worker = await startWorkerProcess();
      await enqueueTick(tdb.url);
      // a random point: anywhere from just after start-up to most of a second into the work (the
      // whole scan is a few seconds of work: longer waits would finish it before the tenth kill)
      const delay = Math.floor(random() * 800);
      await new Promise((r) => setTimeout(r, delay));
      const scan = await db.scan.findUniqueOrThrow({ where: { id: scanId } });
      if (FINISHED.includes(scan.status)) break;
      stages.push(`${scan.stage}:${scan.done}/${scan.total}`);
      worker.proc.kill("SIGKILL");
      const exit = await worker.exited;
      expect(exit.signal).toBe("SIGKILL");
      outputs.push(worker.output());
      kills++;
    }
    // the kills landed in the scan, not after it
    expect(kills).toBe(KILLS);
    worker = await startWorkerProcess();
    let lastTick = 0;
    const scan = await waitFor(
      async () => {
        if (Date.now() - lastTick > 2000) {
          lastTick = Date.now();
          await enqueueTick(tdb.url);
        }
        const s = await db.scan.findUniqueOrThrow({ where: { id: scanId } });
        return FINISHED.includes(s.status) ? s : undefined;
      },
      150_000,
      "the scan to finish after the kills",
    );
    expect(worker.proc.exitCode).toBe(null);
    expect(scan.status).toBe("succeeded");
    expect(scan.total).toBe(N);
    expect(scan.done).toBe(N);
    expect(await db.scanItem.count({ where: { scanId, status: "done" } })).toBe(N);

    const containers = await db.container.count({ where: { pod: { deletedAt: null } } });
    expect(containers).toBe(N);
    const verdicts = await db.verdict.groupBy({ by: ["containerId", "policyId"], _count: true });
    expect(verdicts.length).toBe(containers);
    expect(verdicts.every((v) => v._count === 1)).toBe(true);
    expect(await db.verdict.count({ where: { value: { not: "verified" } } })).toBe(0);

    const events = await db.verificationEvent.groupBy({ by: ["containerId", "policyName"], where: { kind: "verdict" }, _count: true });
    expect(events.length).toBe(containers);
    expect(events.filter((e) => e._count !== 1)).toEqual([]);
    const chain = await verifyAuditChain(db);
    expect(chain.ok).toBe(true);
    // nothing crashed on its own: every worker exit was our SIGKILL
    for (const out of outputs) expect(out).not.toMatch(/"level":(50|60)/);
    expect(stages.length).toBe(KILLS);
  }, 400_000);
});
