import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadKubeconfigClusters, type KubeTarget } from "@/lib/kube/clusters";
import { inventoryCluster } from "@/lib/kube/inventory";
import { podWatchFor, stopPodWatches } from "@/lib/kube/pod-watch";
import type { ClusterInventory } from "@/lib/kube/types";
import { createNamespace, createPod, fakeDigest, setPodStatus, startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { waitFor } from "@/tests/support/process";

/** The pods of an inventory, comparable across runs (order and owner-less details aside). */
const podsOf = (inv: ClusterInventory) =>
  inv.pods
    .map((p) => ({ ns: p.namespace, name: p.name, uid: p.uid, phase: p.phase, workload: p.workload, containers: p.containers.map((c) => [c.name, c.imageRef, c.digest]) }))
    .sort((a, b) => a.uid.localeCompare(b.uid));

/** A real kube-apiserver: the watch-backed inventory must equal a fresh list, change after change. */
describe("pod watch between inventories", () => {
  let kube: KubeApiserver;
  let target: KubeTarget;

  beforeAll(async () => {
    kube = await startKubeApiserver();
    await createNamespace(kube, "apps");
    for (const name of ["a", "b", "c"]) await createPod(kube, { namespace: "apps", name, containers: [{ name: "app", image: `registry.example.com/apps/${name}:1` }] });
    [target] = loadKubeconfigClusters({ kubeconfigPath: kube.kubeconfigPath, contexts: ["admin"] }) as [KubeTarget];
  }, 120_000);

  afterAll(async () => {
    stopPodWatches();
    await kube?.stop();
  });

  it("lists once, then follows creations, deletions and status changes without listing pods again", async () => {
    const first = await inventoryCluster(target, { watch: true, pageSize: 2 });
    expect(first.error).toBeNull();
    expect(first.stats.podPages).toBeGreaterThanOrEqual(2);
    const w = podWatchFor(target);
    await waitFor(async () => (w.stats.watches > 0 && w.usable() ? true : undefined), 10_000, "the watch to start");

    await createPod(kube, { namespace: "apps", name: "d", containers: [{ name: "app", image: "registry.example.com/apps/d:1" }] });
    await kube.request("DELETE", "/api/v1/namespaces/apps/pods/b?gracePeriodSeconds=0");
    await setPodStatus(kube, "apps", "c", { containers: [{ name: "app", imageID: `registry.example.com/apps/c@${fakeDigest("c")}` }] });
    // the watch is eventually consistent: wait until it has seen all three changes
    await waitFor(
      async () => {
        const names = new Map(w.snapshot().map((p) => [p.record.name, p.record]));
        return names.has("d") && !names.has("b") && names.get("c")?.containers[0]?.digest === fakeDigest("c") ? true : undefined;
      },
      10_000,
      "the watch to see the changes",
    );

    const watched = await inventoryCluster(target, { watch: true, pageSize: 2 });
    expect(watched.error).toBeNull();
    expect(watched.stats.podPages).toBe(0);
    const listed = await inventoryCluster(target, { pageSize: 2 });
    expect(listed.stats.podPages).toBeGreaterThanOrEqual(2);
    expect(podsOf(watched)).toEqual(podsOf(listed));
    expect(podsOf(watched).map((p) => p.name)).toEqual(expect.arrayContaining(["a", "c", "d"]));
    expect(podsOf(watched).some((p) => p.name === "b")).toBe(false);
    expect(watched.pods.find((p) => p.name === "c")!.containers[0]!.digest).toBe(fakeDigest("c"));
  });

  it("a watch that ended is not trusted: the next inventory lists pods again and watches anew", async () => {
    const w = podWatchFor(target);
    w.stop();
    expect(w.usable()).toBe(false);
    await createPod(kube, { namespace: "apps", name: "e", containers: [{ name: "app", image: "registry.example.com/apps/e:1" }] });
    const relisted = await inventoryCluster(target, { watch: true, pageSize: 2 });
    expect(relisted.stats.podPages).toBeGreaterThanOrEqual(2);
    expect(relisted.pods.some((p) => p.name === "e")).toBe(true);
    await waitFor(async () => (w.usable() ? true : undefined), 10_000, "the new watch");
  });
});
