import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditChain } from "@/lib/audit/store";
import { createDb, type Db } from "@/lib/db/client";
import { listLeases } from "@/lib/jobs/lease";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { spawnTs, waitFor, type Spawned } from "@/tests/support/process";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { generateSigningKey } from "@/tests/support/registry-fixtures";
import { pushSignedImages, saveSigningPolicy, seedPods } from "@/tests/support/scan";

/**
 * Two real worker processes (scripts/worker.ts) on one PostgreSQL, a real kube-apiserver and
 * registry, no scan ever started: the worker holding the cluster's watch lease follows the cluster
 * (its list is written and every image checked through the shared image.check queue). Pods are
 * created and the owner is SIGKILLed at once; the other worker takes the lease over (a newer fencing
 * token), lists the cluster again and checks what the dead one left. In the end: every running
 * container has exactly one verdict per policy, exactly one verdict event, the right value (signed →
 * verified, unsigned → unsigned), and the audit chain is intact.
 */
const SIGNED = 24;
const UNSIGNED = 6;
const LATE_SIGNED = 8;
const LATE_UNSIGNED = 4;

describe("two workers share the cluster watches: the owner killed, the other takes over", () => {
  let tdb: TestDatabase;
  let db: Db;
  let kube: KubeApiserver;
  let registry: TestRegistry;
  const workers: Spawned[] = [];
  let key: ReturnType<typeof generateSigningKey>;

  beforeAll(async () => {
    [tdb, kube, registry] = await Promise.all([createTestDatabase(), startKubeApiserver(), startRegistry()]);
    db = createDb(tdb.url, 4);
    key = generateSigningKey();
    const signed = await pushSignedImages(registry.url, registry.host, key, SIGNED, { repos: 6 });
    const unsigned = await pushSignedImages(registry.url, registry.host, key, UNSIGNED, { repos: 2, sign: false });
    await seedPods(kube, registry.host, [...signed, ...unsigned], { perPod: 3, namespaces: 2, prefix: "early" });
    await saveSigningPolicy(db, registry.host, key.publicKeyPem);
    // a full scan that just finished: with a day's interval, the scheduler starts none during the test
    await db.scan.create({ data: { kind: "full", trigger: "test", status: "succeeded", stage: "done", finishedAt: new Date() } });
  }, 180_000);

  afterAll(async () => {
    for (const w of workers) {
      if (w.proc.exitCode === null && w.proc.signalCode === null) {
        w.proc.kill("SIGTERM");
        await w.exited;
      }
    }
    await db?.$disconnect();
    await Promise.all([kube?.stop(), registry?.stop()]);
    await tdb?.drop();
  });

  const startWorker = () => {
    const w = spawnTs("scripts/worker.ts", [], {
      DATABASE_URL: tdb.url,
      KUBECONFIG: kube.kubeconfigPath,
      SIGNET_KUBE_CONTEXTS: "admin",
      SIGNET_REGISTRY_INSECURE: registry.host,
      SIGNET_WORKER_CONCURRENCY: "2",
      SIGNET_SCAN_BATCH_SIZE: "4",
      SIGNET_HEARTBEAT_SECONDS: "1",
      // no periodic scan in this test: everything reaches the database through the watch
      SIGNET_SCAN_INTERVAL_MINUTES: "1440",
      SIGNET_WATCH: "true",
      SIGNET_WATCH_FLUSH_MS: "300",
      // the default lease (15 s): the takeover is what production does
      LOG_LEVEL: "info",
    });
    workers.push(w);
    return w;
  };

  const running = () => db.container.count({ where: { pod: { deletedAt: null } } });
  const lease = async () => (await listLeases(db)).find((l) => l.cluster === "admin");
  const pidOf = (holder: string) => Number(holder.split(":")[1]);

  it("nothing lost, nothing duplicated", async () => {
    const a = startWorker();
    const b = startWorker();
    await waitFor(async () => ((await db.workerHeartbeat.count()) === 2 ? true : undefined), 90_000, "two worker heartbeats");
    const first = await waitFor(async () => {
      const l = await lease();
      return l?.live ? l : undefined;
    }, 60_000, "one worker holds the cluster's watch lease");
    const owner = [a, b].find((w) => w.proc.pid === pidOf(first.holder))!;
    const other = owner === a ? b : a;
    expect(owner).toBeDefined();

    const early = SIGNED + UNSIGNED;
    await waitFor(async () => ((await running()) === early && (await db.verdict.count()) === early ? true : undefined), 120_000, "the first list written and checked");

    // more pods, and the owner killed right away: their changes may be in its memory only
    const lateSigned = await pushSignedImages(registry.url, registry.host, key, LATE_SIGNED, { repos: 2 });
    const lateUnsigned = await pushSignedImages(registry.url, registry.host, key, LATE_UNSIGNED, { repos: 1, sign: false });
    await seedPods(kube, registry.host, [...lateSigned, ...lateUnsigned], { perPod: 2, namespaces: 1, prefix: "late" });
    owner.proc.kill("SIGKILL");
    expect((await owner.exited).signal).toBe("SIGKILL");

    // the other worker takes the lease over: a newer token, its holder id
    const taken = await waitFor(async () => {
      const l = await lease();
      return l?.live && l.holder !== first.holder ? l : undefined;
    }, 90_000, "the surviving worker to take the lease over");
    expect(pidOf(taken.holder)).toBe(other.proc.pid);
    expect(taken.token).toBeGreaterThan(first.token);

    const total = early + LATE_SIGNED + LATE_UNSIGNED;
    await waitFor(async () => ((await running()) === total && (await db.verdict.count()) === total ? true : undefined), 180_000, "every container written and checked after the takeover");
    // settled: a little later the counts are the same (no late duplicate from a retried job)
    await new Promise((r) => setTimeout(r, 3000));

    // no scan ran: everything came through the watch and the shared image.check queue
    expect(await db.scan.count()).toBe(1);
    expect(await running()).toBe(total);
    const verdicts = await db.verdict.groupBy({ by: ["containerId", "policyId"], _count: true });
    expect(verdicts).toHaveLength(total);
    expect(verdicts.filter((v) => v._count !== 1)).toEqual([]);
    expect(await db.verdict.count({ where: { value: "verified" } })).toBe(SIGNED + LATE_SIGNED);
    expect(await db.verdict.count({ where: { value: "unsigned" } })).toBe(UNSIGNED + LATE_UNSIGNED);

    const events = await db.verificationEvent.groupBy({ by: ["containerId", "policyName"], where: { kind: "verdict" }, _count: true });
    expect(events).toHaveLength(total);
    expect(events.filter((e) => e._count !== 1)).toEqual([]);
    expect((await verifyAuditChain(db)).ok).toBe(true);

    // the survivor followed the cluster from the takeover on; it never crashed
    expect(other.proc.exitCode).toBe(null);
    expect(other.output()).toMatch(/cluster watch lease gained/);
    expect(other.output()).not.toMatch(/"level":(50|60)/);
  }, 600_000);
});
