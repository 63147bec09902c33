import { describe, expect, it } from "vitest";
import { controllerOf, ownerKey, resolvePodWorkload, type OwnerIndex } from "@/lib/kube/owners";

const rs: OwnerIndex = new Map([
  [ownerKey("a", "web-6d4f"), { apiVersion: "apps/v1", kind: "Deployment", name: "web", controller: true }],
  [ownerKey("a", "lonely-rs"), null],
  [ownerKey("a", "canary-5c"), { apiVersion: "argoproj.io/v1alpha1", kind: "Rollout", name: "canary", controller: true }],
]);
const jobs: OwnerIndex = new Map([
  [ownerKey("a", "backup-2900"), { apiVersion: "batch/v1", kind: "CronJob", name: "backup", controller: true }],
  [ownerKey("a", "migrate"), null],
]);
const owned = (apiVersion: string, kind: string, name: string) => [{ apiVersion, kind, name, controller: true }];

describe("resolvePodWorkload", () => {
  it("follows ReplicaSet → Deployment and Job → CronJob", () => {
    expect(resolvePodWorkload("a", "p", owned("apps/v1", "ReplicaSet", "web-6d4f"), rs, jobs)).toEqual({ workload: { kind: "Deployment", name: "web" } });
    expect(resolvePodWorkload("a", "p", owned("batch/v1", "Job", "backup-2900"), rs, jobs)).toEqual({ workload: { kind: "CronJob", name: "backup" } });
  });
  it("keeps a ReplicaSet or Job without controller, and other controllers as Other", () => {
    expect(resolvePodWorkload("a", "p", owned("apps/v1", "ReplicaSet", "lonely-rs"), rs, jobs).workload).toEqual({ kind: "ReplicaSet", name: "lonely-rs" });
    expect(resolvePodWorkload("a", "p", owned("batch/v1", "Job", "migrate"), rs, jobs).workload).toEqual({ kind: "Job", name: "migrate" });
    expect(resolvePodWorkload("a", "p", owned("apps/v1", "ReplicaSet", "canary-5c"), rs, jobs).workload).toEqual({ kind: "Other", name: "canary", ownerKind: "Rollout" });
  });
  it("reports a missing intermediate owner as unresolved", () => {
    expect(resolvePodWorkload("a", "p", owned("apps/v1", "ReplicaSet", "gone-1"), rs, jobs)).toEqual({ workload: { kind: "ReplicaSet", name: "gone-1" }, unresolved: "ReplicaSet" });
  });
  it("maps StatefulSet, DaemonSet, bare and static pods", () => {
    expect(resolvePodWorkload("a", "db-0", owned("apps/v1", "StatefulSet", "db"), rs, jobs).workload).toEqual({ kind: "StatefulSet", name: "db" });
    expect(resolvePodWorkload("a", "x", owned("apps/v1", "DaemonSet", "agent"), rs, jobs).workload).toEqual({ kind: "DaemonSet", name: "agent" });
    expect(resolvePodWorkload("a", "solo", undefined, rs, jobs).workload).toEqual({ kind: "Pod", name: "solo" });
    expect(resolvePodWorkload("kube-system", "etcd-n1", owned("v1", "Node", "n1"), rs, jobs).workload).toEqual({ kind: "Pod", name: "etcd-n1" });
    expect(resolvePodWorkload("a", "x", owned("example.com/v1", "Deployment", "fake"), rs, jobs).workload).toEqual({ kind: "Other", name: "fake", ownerKind: "Deployment" });
  });
  it("picks the controller among several owner references", () => {
    expect(controllerOf([{ kind: "A", name: "a" }, { kind: "B", name: "b", controller: true }])?.name).toBe("b");
    expect(controllerOf([{ kind: "A", name: "a" }])?.name).toBe("a");
    expect(controllerOf([])).toBeNull();
  });
});
