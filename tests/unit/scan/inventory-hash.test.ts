import { describe, expect, it } from "vitest";
import type { ContainerRecord, NamespaceRecord, PodRecord, WorkloadRecord } from "@/lib/kube/types";
import { inventoryHash } from "@/lib/scan/persist-inventory";

// Cluster.inventoryHash is compared with the next list's: a scan finding the same digest writes no pod
// or container row. The digest of a given inventory must not change between versions (an unchanged
// cluster would be compared row by row after an upgrade) however it is computed.
const container = (i: number): ContainerRecord => ({
  kind: "app",
  name: `c${i % 3}`,
  imageRef: `ghcr.io/acme/a${i % 7}:v1`,
  image: { registry: "ghcr.io", repository: `acme/a${i % 7}`, tag: "v1", digest: null, name: "x" },
  digest: i % 5 ? `sha256:${String(i).padStart(64, "0")}` : null,
  digestSource: i % 5 ? "observed" : "unknown",
  digestOrigin: null,
  needsResolution: false,
  imageID: null,
  observedRepository: null,
});
const pods: PodRecord[] = Array.from({ length: 3000 }, (_, i) => ({
  namespace: `ns-${i % 13}`,
  uid: `uid-${(i * 7919) % 3001}`,
  name: `p-${i}`,
  phase: i % 4 ? "Running" : null,
  nodeName: i % 6 ? `node-${i % 5}` : null,
  workload: { kind: i % 3 ? "Deployment" : "Pod", name: `w-${i % 50}` },
  containers: [container(i), container(i + 1)].slice(0, 1 + (i % 2)),
  pullSecrets: i % 9 ? [] : ["reg", 'x"y'],
  serviceAccount: i % 8 ? null : "sa",
}));
const workloads: WorkloadRecord[] = Array.from({ length: 300 }, (_, i) => ({ namespace: `ns-${(i * 31) % 13}`, kind: i % 2 ? "Deployment" : "Job", name: `w-${(i * 17) % 300}` }));
const namespaces: NamespaceRecord[] = Array.from({ length: 13 }, (_, i) => ({ name: `ns-${(i * 5) % 13}`, uid: null, labels: { b: String(i), a: "x" } }));

describe("inventoryHash", () => {
  it("is the digest the first version computed, independent of list order", () => {
    const expected = "9e12cea781d9b1163dd336ff15b47203c1e545278d5eeb4ff9ff054a5338543c";
    expect(inventoryHash({ namespaces, workloads, pods })).toBe(expected);
    expect(inventoryHash({ namespaces: [...namespaces].reverse(), workloads: [...workloads].reverse(), pods: [...pods].reverse() })).toBe(expected);
  });

  it("changes with any field of a pod or container", () => {
    const base = inventoryHash({ namespaces, workloads, pods });
    const edited = (i: number, p: Partial<PodRecord>) => inventoryHash({ namespaces, workloads, pods: pods.map((x, j) => (j === i ? { ...x, ...p } : x)) });
    expect(edited(2999, { phase: "Failed" })).not.toBe(base);
    expect(edited(1234, { containers: [{ ...container(1234), digest: `sha256:${"f".repeat(64)}` }] })).not.toBe(base);
    expect(edited(0, { pullSecrets: ["other"] })).not.toBe(base);
  });
});
