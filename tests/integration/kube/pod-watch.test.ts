import v8 from "node:v8";
import vm from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mapLimit } from "@/lib/concurrency";
import { loadKubeconfigClusters, type KubeTarget } from "@/lib/kube/clusters";
import { inventoryCluster } from "@/lib/kube/inventory";
import { podFingerprint, podWatchFor, stopPodWatches, type CachedPod, type PodWatchFollower } from "@/lib/kube/pod-watch";
import { createNamespace, createPod, fakeDigest, setPodStatus, startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { waitFor } from "@/tests/support/process";

/** A follower recording what the watch reports, in order. */
function recorder() {
  const changes: { kind: "upserted" | "deleted"; pod: CachedPod }[] = [];
  const follower: PodWatchFollower = { change: (kind, pod) => void changes.push({ kind, pod }), resync: () => undefined, sync: async () => true };
  return { changes, follower };
}

/**
 * A real kube-apiserver: the watch seeded by a list reports every change the inventory keeps (and none
 * it does not), its state equals a fresh list change after change, and it keeps a fingerprint per pod,
 * never the pod (docs/decisions/0021).
 */
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

  it("lists once, then reports creations, deletions and status changes, and nothing for changes the inventory does not keep", async () => {
    const w = podWatchFor(target);
    const { changes, follower } = recorder();
    w.follow(follower);
    const first = await inventoryCluster(target, { watch: true, pageSize: 2 });
    expect(first.error).toBeNull();
    expect(first.stats.podPages).toBeGreaterThanOrEqual(2);
    expect(w.size).toBe(3);
    await waitFor(async () => (w.stats.watches > 0 && w.usable() ? true : undefined), 10_000, "the watch to start");
    const uidOf = (name: string) => first.pods.find((p) => p.name === name)!.uid;

    // a label changes nothing the inventory keeps: not reported (the pod created after it shows the
    // watch got that far, events come in order)
    await kube.request("PATCH", "/api/v1/namespaces/apps/pods/a", { metadata: { labels: { touched: "yes" } } }, { contentType: "application/merge-patch+json" });
    await createPod(kube, { namespace: "apps", name: "d", containers: [{ name: "app", image: "registry.example.com/apps/d:1" }] });
    await kube.request("DELETE", "/api/v1/namespaces/apps/pods/b?gracePeriodSeconds=0");
    await setPodStatus(kube, "apps", "c", { containers: [{ name: "app", imageID: `registry.example.com/apps/c@${fakeDigest("c")}` }] });
    await waitFor(
      async () => (changes.some((c) => c.kind === "upserted" && c.pod.record.name === "c" && c.pod.record.containers[0]?.digest === fakeDigest("c")) ? true : undefined),
      10_000,
      "the watch to report the changes",
    );
    expect(changes.some((c) => c.pod.record.name === "a")).toBe(false);
    expect(changes.find((c) => c.pod.record.name === "d")?.kind).toBe("upserted");
    expect(changes.filter((c) => c.kind === "deleted").map((c) => c.pod.record.uid)).toEqual([uidOf("b")]);

    // what it keeps is what a fresh list gives, pod for pod
    const listed = await inventoryCluster(target, { pageSize: 2 });
    expect(listed.pods.map((p) => p.name).sort()).toEqual(["a", "c", "d"]);
    expect(w.size).toBe(3);
    for (const p of listed.pods) expect(w.fingerprintOf(p.uid)).toBe(podFingerprint({ record: p, owners: undefined }));
    expect(w.fingerprintOf(uidOf("b"))).toBeUndefined();
    // 128 bits: a pod's updater chooses much of what is hashed, and a change hashing like the state
    // before it would never be written (48 bits were a birthday search of ~2^24 away)
    const a = listed.pods.find((p) => p.name === "a")!;
    const fp = podFingerprint({ record: a, owners: undefined });
    expect(Buffer.from(fp, "latin1")).toHaveLength(16);
    const moved = podFingerprint({ record: { ...a, containers: a.containers.map((c) => ({ ...c, digest: `sha256:${"0".repeat(64)}` })) }, owners: undefined });
    expect(moved).not.toBe(fp);
  });

  it("a watch that ended is not trusted: the next inventory lists pods again and watches anew", async () => {
    const w = podWatchFor(target);
    w.stop();
    expect(w.usable()).toBe(false);
    await createPod(kube, { namespace: "apps", name: "e", containers: [{ name: "app", image: "registry.example.com/apps/e:1" }] });
    const relisted = await inventoryCluster(target, { watch: true, pageSize: 2 });
    expect(relisted.stats.podPages).toBeGreaterThanOrEqual(2);
    expect(relisted.pods.some((p) => p.name === "e")).toBe(true);
    expect(w.size).toBe(relisted.pods.length);
    await waitFor(async () => (w.usable() ? true : undefined), 10_000, "the new watch");
  });

  it("keeps a fingerprint per pod, not the pod: the heap it retains is far below a pod record's", async () => {
    // 3,000 pods of a ReplicaSet, each with two containers (a record with its owner reference is
    // ~600 bytes; a fingerprint ~130)
    const n = 3000;
    await createNamespace(kube, "bulk");
    const owner = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "bulk-rs", uid: "00000000-0000-4000-8000-000000000001" };
    await mapLimit(Array.from({ length: n }, (_, i) => i), 32, (i) =>
      createPod(kube, {
        namespace: "bulk",
        name: `bulk-${i}`,
        owner,
        containers: [
          { name: "app", image: `registry.example.com/bulk/app-${i % 50}:1` },
          { name: "sidecar", image: "registry.example.com/bulk/sidecar:1" },
        ],
      }),
    );
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    const heap = () => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const w = podWatchFor(target);
    w.stop();
    const listed = (await inventoryCluster(target, { watch: true, pageSize: 500 })).pods.length;
    expect(listed).toBeGreaterThanOrEqual(n);
    await waitFor(async () => (w.usable() ? true : undefined), 10_000, "the watch");
    expect(w.size).toBe(listed);
    // what the watch holds: the heap with it, less the heap once it is stopped (which forgets the pods)
    const withWatch = heap();
    w.stop();
    expect(w.size).toBe(0);
    const retained = withWatch - heap();
    console.log(`pod watch: ${Math.round(retained / listed)} bytes retained a pod (${listed} pods)`);
    // a record with its owner reference would be ~600 bytes; a fingerprint is ~130
    expect(retained).toBeGreaterThan(0);
    expect(retained / listed).toBeLessThan(250);
  }, 240_000);
});
