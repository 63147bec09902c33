import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetKeyring } from "@/lib/crypto/keys";
import { createDb, getDb, type Db } from "@/lib/db/client";
import { resetEnvCache } from "@/lib/env";
import { coverageRefresh, imageCheck } from "@/lib/jobs/definitions/scan";
import type { JobDefinition } from "@/lib/jobs/registry";
import { startWorker, type RunningWorker } from "@/lib/jobs/worker";
import { stopPodWatches } from "@/lib/kube/pod-watch";
import { getLogger } from "@/lib/log";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { createNamespace, createPod, setPodStatus, startKubeApiserver, writeKubeconfig, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { waitFor } from "@/tests/support/process";
import { generateSigningKey, pushSignedImage } from "@/tests/support/registry-fixtures";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { saveSigningPolicy } from "@/tests/support/scan";
import { startTcpProxy, type TcpProxy } from "@/tests/support/tcp-proxy";

/**
 * The watch's connection to the API server is cut (as when the API server restarts or a load
 * balancer drops it) while pods are created, on real parts: a kube-apiserver without its watch cache
 * (watches are served by etcd, so a compaction makes an old resourceVersion 410 Gone at once), reached
 * by the worker through a TCP proxy the test cuts; a registry; PostgreSQL; a worker that runs image
 * checks but never a scan.
 *
 * - cut, a pod created, restored: the watch resumes from its last resourceVersion (no list) and the
 *   pod gets its verdict;
 * - cut, a pod created, etcd compacted past the watch's version, restored: the resumed watch is
 *   answered 410 Gone, the cluster is listed again, and the pod gets its verdict.
 * Neither starts a scan.
 */
describe("the watch survives a dropped connection and a 410 Gone", () => {
  let tdb: TestDatabase;
  let db: Db;
  let kube: KubeApiserver;
  let registry: TestRegistry;
  let proxy: TcpProxy;
  let worker: RunningWorker;
  const key = generateSigningKey();
  const digests: Record<string, string> = {};

  const verdictsOf = async (pod: string) =>
    ((await db.container.findFirst({ where: { pod: { name: pod, deletedAt: null } }, include: { verdicts: true } }))?.verdicts ?? []).map((v) => v.value);
  const runPod = async (name: string, image: string) => {
    const h = registry.host;
    await createPod(kube, { namespace: "apps", name, containers: [{ name: "app", image: `${h}/apps/${image}:v1` }] });
    await setPodStatus(kube, "apps", name, { containers: [{ name: "app", imageID: `${h}/apps/${image}@${digests[image]}` }] });
  };
  const clusterWatch = () => worker.watches!.watchOf("gap")!;

  beforeAll(async () => {
    [tdb, kube, registry] = await Promise.all([createTestDatabase(), startKubeApiserver({ watchCache: false }), startRegistry()]);
    db = createDb(tdb.url, 4);
    proxy = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(kube.url).port) });
    const kubeconfig = await writeKubeconfig(path.join(kube.dir, "gap.kubeconfig"), [
      { name: "gap", server: `https://127.0.0.1:${proxy.port}`, token: kube.tokens.admin, caPem: kube.caPem },
    ]);
    Object.assign(process.env, {
      DATABASE_URL: tdb.url,
      KUBECONFIG: kubeconfig,
      SIGNET_KUBE_CONTEXTS: "gap",
      SIGNET_REGISTRY_INSECURE: registry.host,
      SIGNET_SECRET_KEY: randomBytes(32).toString("base64"),
    });
    resetEnvCache();
    resetKeyring();
    for (const name of ["before", "resumed", "gone"]) {
      digests[name] = (await pushSignedImage(registry.url, registry.host, `apps/${name}`, key, { tag: "v1", sign: name !== "gone" })).digest;
    }
    await saveSigningPolicy(db, registry.host, key.publicKeyPem);
    await createNamespace(kube, "apps");
    await runPod("before", "before");
    worker = await startWorker({
      databaseUrl: tdb.url,
      jobs: [imageCheck, coverageRefresh] as unknown as JobDefinition[],
      log: getLogger(),
      heartbeatSeconds: 5,
      concurrency: 2,
      watch: { flushMs: 200, revalidateSeconds: 0, batchSize: 100, leaseSeconds: 15 },
    });
    await waitFor(async () => ((await verdictsOf("before")).join() === "verified" ? true : undefined), 120_000, "the first pod verified");
  }, 240_000);

  afterAll(async () => {
    await worker?.stop();
    stopPodWatches();
    await proxy?.stop();
    await db?.$disconnect();
    await getDb().$disconnect().catch(() => undefined);
    await Promise.all([kube?.stop(), registry?.stop()]);
    await tdb?.drop();
  });

  /** Cuts the proxy until the pod watch has noticed (its watch ended), runs `during`, restores. */
  const gap = async (during: () => Promise<void>) => {
    const ends = clusterWatch().podStats!.ends;
    proxy.cut();
    await waitFor(async () => (clusterWatch().podStats!.ends > ends ? true : undefined), 60_000, "the pod watch to notice the cut");
    await during();
    proxy.restore();
  };

  it("a dropped watch resumes from its resourceVersion: the pod created meanwhile gets its verdict without a list", { timeout: 180_000 }, async () => {
    const lists = clusterWatch().stats.lists;
    const resumes = clusterWatch().podStats!.resumes;
    await gap(() => runPod("resumed", "resumed"));
    await waitFor(async () => ((await verdictsOf("resumed")).join() === "verified" ? true : undefined), 120_000, "the pod created during the gap verified");
    expect(clusterWatch().podStats!.resumes).toBeGreaterThan(resumes);
    expect(clusterWatch().podStats!.resyncs).toBe(0);
    expect(clusterWatch().stats.lists).toBe(lists);
    expect(await db.scan.count()).toBe(0);
  });

  it("a watch answered 410 Gone lists again: the pod created meanwhile gets its verdict, still without a scan", { timeout: 180_000 }, async () => {
    const lists = clusterWatch().stats.lists;
    await gap(async () => {
      await runPod("gone", "gone");
      // every version the watch could resume from is compacted away
      await kube.compactEtcd();
    });
    await waitFor(async () => ((await verdictsOf("gone")).join() === "unsigned" ? true : undefined), 120_000, "the pod created during the gap checked");
    expect(clusterWatch().podStats!.resyncs).toBeGreaterThanOrEqual(1);
    expect(clusterWatch().stats.lists).toBeGreaterThan(lists);
    // the relist kept what was there: every pod is still running, each with one verdict
    for (const pod of ["before", "resumed", "gone"]) expect(await verdictsOf(pod)).toHaveLength(1);
    expect(await db.scan.count()).toBe(0);
  });
});
