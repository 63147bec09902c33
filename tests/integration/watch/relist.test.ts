import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, getDb, type Db } from "@/lib/db/client";
import { resetEnvCache } from "@/lib/env";
import { loadKubeconfigClusters } from "@/lib/kube/clusters";
import { stopPodWatches } from "@/lib/kube/pod-watch";
import { getLogger } from "@/lib/log";
import { metricsRegistry } from "@/lib/metrics/process";
import type { ImageCheckPayload } from "@/lib/scan/pipeline";
import { ClusterWatch, type WatchServices } from "@/lib/watch/cluster-watch";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { createNamespace, createPod, setPodStatus, startKubeApiserver, writeKubeconfig, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { isWatch, startKubeHttpProxy, type KubeHttpProxy } from "@/tests/support/kube-http-proxy";
import { waitFor } from "@/tests/support/process";

/**
 * A cluster watch (lib/watch/cluster-watch.ts) on a real kube-apiserver and PostgreSQL, reached through
 * a streaming proxy the test can make slow for one list.
 *
 * - The pod watch is re-seeded (and its new watch started) as soon as the pod list ends, while the
 *   ReplicaSet and Job lists of the same inventory are still running. A pod created and a digest
 *   changed in that window arrive as watch events before the inventory is written; they must be
 *   written after it, not dropped with the changes the list superseded (they were, once: the pod
 *   stayed missing and the old digest kept its verdict until the watch next failed).
 * - Reconciliation: a sync `reconcileMs` after the last list lists again and compares every row (even
 *   when the list hashes as the stored one did); rows the stored inventory lost are written back and
 *   counted as drift. Before that time, a sync lists nothing.
 */
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const HOST = "registry.relist.test";

describe("a cluster watch keeps the changes made while its list is written, and reconciles", () => {
  let tdb: TestDatabase;
  let db: Db;
  let kube: KubeApiserver;
  let proxy: KubeHttpProxy;
  let cw: ClusterWatch;
  let services: WatchServices;
  const queued: ImageCheckPayload[] = [];
  let holding: ((p: string) => boolean) | undefined;
  let held: (() => void)[] = [];

  const release = () => {
    holding = undefined;
    const h = held;
    held = [];
    for (const go of h) go();
  };
  const podRow = (name: string) =>
    db.pod.findFirst({ where: { name }, select: { deletedAt: true, containers: { select: { name: true, digest: true } } } });
  const runPod = async (name: string, d: string) => {
    await createPod(kube, { namespace: "apps", name, containers: [{ name: "app", image: `${HOST}/apps/${name}:v1` }] });
    await setPodStatus(kube, "apps", name, { containers: [{ name: "app", imageID: `${HOST}/apps/${name}@${d}` }] });
  };

  beforeAll(async () => {
    [tdb, kube] = await Promise.all([createTestDatabase(), startKubeApiserver()]);
    db = createDb(tdb.url, 4);
    Object.assign(process.env, { DATABASE_URL: tdb.url });
    resetEnvCache();
    proxy = await startKubeHttpProxy(kube, (req, _res, forward) => {
      if (!holding?.(req.url ?? "")) return false;
      held.push(forward);
      return true;
    });
    const file = path.join(kube.dir, "relist.kubeconfig");
    // (client-node speaks plain HTTP only with TLS verification off)
    await writeKubeconfig(file, [{ name: "relist", server: proxy.url, token: kube.tokens.admin, insecure: true }]);
    await createNamespace(kube, "apps");
    await runPod("before", digest("a"));
    const [target] = loadKubeconfigClusters({ kubeconfigPath: file, contexts: ["relist"] });
    services = {
      db,
      log: getLogger(),
      flushMs: 200,
      reconcileMs: 3_600_000,
      enqueueChecks: async (p) => void queued.push(...p),
      refreshCoverage: async () => undefined,
    };
    cw = new ClusterWatch(target!, services);
  }, 240_000);

  afterAll(async () => {
    release();
    await cw?.stop();
    stopPodWatches();
    await proxy?.stop();
    await db?.$disconnect();
    await getDb().$disconnect().catch(() => undefined);
    await kube?.stop();
    await tdb?.drop();
  });

  it("a pod created and a digest changed after the pod list, before the inventory is written, are written", { timeout: 120_000 }, async () => {
    // the ReplicaSet list (part of the same inventory, taken after the pod list began) is held
    holding = (p) => p.startsWith("/apis/apps/v1/replicasets");
    const started = cw.start();
    await waitFor(async () => (held.length > 0 ? true : undefined), 60_000, "the ReplicaSet list to be held");
    // the pod list is over: the pod watch is seeded and its watch running
    await waitFor(async () => (proxy.seen.some((u) => u.startsWith("/api/v1/pods?") && isWatch(u)) ? true : undefined), 60_000, "the pod watch");
    const events = cw.podStats!.events;
    await runPod("during", digest("b"));
    await setPodStatus(kube, "apps", "before", { containers: [{ name: "app", imageID: `${HOST}/apps/before@${digest("c")}` }] });
    // ADDED and MODIFIED of "during", MODIFIED of "before": all arrived while the inventory waits
    await waitFor(async () => (cw.podStats!.events >= events + 3 ? true : undefined), 60_000, "the watch events");
    expect(held.length).toBeGreaterThan(0);
    release();
    await started;
    // a sync writes whatever is pending (and lists nothing: the watch is sound and the list recent)
    const lists = cw.stats.lists;
    expect(await cw.sync()).toBe(true);
    expect(cw.stats.lists).toBe(lists);
    expect(await podRow("during")).toMatchObject({ deletedAt: null, containers: [{ name: "app", digest: digest("b") }] });
    expect(await podRow("before")).toMatchObject({ deletedAt: null, containers: [{ name: "app", digest: digest("c") }] });
    // the new digests were queued for checks
    const ids = (await db.image.findMany({ where: { digest: { in: [digest("b"), digest("c")] } }, select: { id: true } })).map((i) => i.id);
    expect(ids).toHaveLength(2);
    expect(queued.flatMap((q) => q.imageIds)).toEqual(expect.arrayContaining(ids));
  });

  it("a sync past reconcileMs lists again and writes back what the stored inventory lost; before it, nothing is listed", { timeout: 120_000 }, async () => {
    // a reconciliation of a complete inventory finds nothing (and leaves the stored inventory's digest set)
    services.reconcileMs = 0;
    expect(await cw.sync()).toBe(true);
    expect(cw.stats).toMatchObject({ reconciliations: 1, drift: 0 });
    const hashed = await db.cluster.findFirst({ where: { name: "relist" }, select: { inventoryHash: true } });
    expect(hashed?.inventoryHash).toBeTruthy();

    // rows lost behind the watch's back (what a missed event leaves): a pod marked gone, a container gone
    expect(await db.$executeRaw`UPDATE "Pod" SET "deletedAt" = now() WHERE name = 'during'`).toBe(1);
    expect(await db.$executeRaw`DELETE FROM "Container" WHERE "podId" IN (SELECT id FROM "Pod" WHERE name = 'before')`).toBe(1);

    services.reconcileMs = 3_600_000;
    const lists = cw.stats.lists;
    expect(await cw.sync()).toBe(true);
    expect(cw.stats.lists).toBe(lists);
    expect((await podRow("during"))?.deletedAt).not.toBeNull();

    services.reconcileMs = 0;
    expect(await cw.sync()).toBe(true);
    expect(cw.stats.lists).toBe(lists + 1);
    expect(cw.stats.reconciliations).toBe(2);
    // the pod row written back (undeleted) and the container row inserted: 2 rows of drift
    expect(cw.stats.drift).toBe(2);
    const metrics = await metricsRegistry.metrics();
    expect(metrics).toContain('signet_watch_reconciliations_total{cluster="relist",result="clean"} 1');
    expect(metrics).toContain('signet_watch_reconciliations_total{cluster="relist",result="drift"} 1');
    expect(metrics).toContain('signet_watch_drift_rows_total{cluster="relist"} 2');
    expect(await podRow("during")).toMatchObject({ deletedAt: null, containers: [{ name: "app", digest: digest("b") }] });
    expect(await podRow("before")).toMatchObject({ deletedAt: null, containers: [{ name: "app", digest: digest("c") }] });
  });
});
