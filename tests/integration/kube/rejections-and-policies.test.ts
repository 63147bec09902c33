import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listClusterImagePolicies } from "@/lib/kube/cluster-policies";
import { loadKubeconfigClusters, type KubeTarget } from "@/lib/kube/clusters";
import { listAdmissionRejections } from "@/lib/kube/rejections";
import type { AdmissionRejectionRecord, ClusterRejections } from "@/lib/kube/types";
import {
  createCoreEvent,
  createCronJob,
  createDeployment,
  createEventsV1Event,
  createJob,
  createNamespace,
  createReplicaSet,
  installCrd,
  looseCrd,
  startKubeApiserver,
  type KubeApiserver,
} from "@/tests/support/kube-apiserver";
import { D1, D2, DENIALS, SAMPLE_CIP, SAMPLE_KYVERNO } from "@/tests/support/kube-fixtures";
import { spawnTs } from "@/tests/support/process";

let kube: KubeApiserver;
let admin: KubeTarget;

beforeAll(async () => {
  kube = await startKubeApiserver();
  admin = loadKubeconfigClusters({ kubeconfigPath: kube.kubeconfigPath, contexts: ["admin"] })[0]!;
});
afterAll(async () => kube?.stop());

describe("admission rejections from Events", () => {
  let result: ClusterRejections;
  const byUid = new Map<string, AdmissionRejectionRecord>();
  const uids: Record<string, string> = {};
  const uidOf = (o: { metadata?: unknown }) => (o.metadata as { uid: string }).uid;

  beforeAll(async () => {
    await createNamespace(kube, "shop");
    await createNamespace(kube, "data");
    const c = [{ name: "c", image: "registry.example.com/app:1" }];
    const api = await createDeployment(kube, "shop", "api", c);
    await createReplicaSet(kube, "shop", "api-5f7c9d", c, api);
    const cron = await createCronJob(kube, "data", "report", c);
    await createJob(kube, "data", "report-29001000", c, cron);

    // core/v1, as client-go's legacy recorder writes FailedCreate events.
    uids.pc = uidOf(await createCoreEvent(kube, { namespace: "shop", name: "api-5f7c9d.1", involved: { kind: "ReplicaSet", name: "api-5f7c9d", apiVersion: "apps/v1" }, message: DENIALS.policyController, count: 12, firstSeen: "2026-03-01T10:00:00Z", lastSeen: "2026-03-01T10:42:00Z" }));
    uids.ky = uidOf(await createCoreEvent(kube, { namespace: "data", name: "report-29001000.1", involved: { kind: "Job", name: "report-29001000", apiVersion: "batch/v1" }, message: DENIALS.kyverno, reportingController: "job-controller" }));
    uids.gk = uidOf(await createCoreEvent(kube, { namespace: "shop", name: "web.1", involved: { kind: "StatefulSet", name: "web", apiVersion: "apps/v1" }, message: DENIALS.gatekeeperRatify, reportingController: "statefulset-controller" }));
    await createCoreEvent(kube, { namespace: "shop", name: "quota.1", involved: { kind: "ReplicaSet", name: "api-5f7c9d" }, message: 'Error creating: pods "api-5f7c9d-x" is forbidden: exceeded quota: compute' });
    await createCoreEvent(kube, { namespace: "shop", name: "normal.1", involved: { kind: "Pod", name: "x" }, message: DENIALS.policyController, type: "Normal" });
    // events.k8s.io/v1, as the new recorder writes them (note, regarding, series).
    uids.pc2 = uidOf(await createEventsV1Event(kube, { namespace: "shop", name: "agent.1", involved: { kind: "DaemonSet", name: "agent", apiVersion: "apps/v1" }, message: DENIALS.policyControllerTwo, count: 5, firstSeen: "2026-03-02T08:00:00Z", lastSeen: "2026-03-02T09:30:00Z", reportingController: "daemonset-controller" }));
    uids.ky2 = uidOf(await createEventsV1Event(kube, { namespace: "shop", name: "gone.1", involved: { kind: "ReplicaSet", name: "deleted-rs-1234" }, message: DENIALS.kyvernoMutate }));
    uids.gk2 = uidOf(await createEventsV1Event(kube, { namespace: "shop", name: "gk.2", involved: { kind: "ReplicaSet", name: "api-5f7c9d" }, message: DENIALS.gatekeeper }));

    result = await listAdmissionRejections(admin, { pageSize: 2 });
    for (const r of result.rejections) byUid.set(r.eventUid, r);
  });

  it("finds every denial once across both Event APIs and ignores other events", () => {
    expect(result.error).toBeNull();
    expect(result.warnings).toEqual([]);
    expect([...byUid.keys()].sort()).toEqual(Object.values(uids).sort());
  });

  it("policy-controller: policy, image, owning Deployment, count and times", () => {
    expect(byUid.get(uids.pc!)).toMatchObject({
      cluster: "admin",
      namespace: "shop",
      controller: "policy_controller",
      webhook: "policy.sigstore.dev",
      policyName: "my-cip",
      image: `registry.example.com/app@${D1}`,
      workloadKind: "Deployment",
      workloadName: "api",
      involvedObject: { kind: "ReplicaSet", name: "api-5f7c9d" },
      count: 12,
      firstSeen: new Date("2026-03-01T10:00:00Z"),
      lastSeen: new Date("2026-03-01T10:42:00Z"),
    });
    expect(byUid.get(uids.pc2!)).toMatchObject({
      controller: "policy_controller",
      policyName: "keyless-cip",
      images: [`index.docker.io/library/nginx@${D2}`, `ghcr.io/org/init@${D1}`],
      workloadKind: "DaemonSet",
      workloadName: "agent",
      count: 5,
      firstSeen: new Date("2026-03-02T08:00:00Z"),
      lastSeen: new Date("2026-03-02T09:30:00Z"),
    });
  });

  it("Kyverno and Gatekeeper, with Job → CronJob and a ReplicaSet that no longer exists", () => {
    expect(byUid.get(uids.ky!)).toMatchObject({ controller: "kyverno", webhook: "validate.kyverno.svc-fail", policyName: "check-image-signature", image: "ghcr.io/kyverno/test-verify-image:signed", workloadKind: "CronJob", workloadName: "report" });
    expect(byUid.get(uids.ky2!)).toMatchObject({ controller: "kyverno", webhook: "mutate.kyverno.svc-fail", policyName: "verify-image", workloadKind: "ReplicaSet", workloadName: "deleted-rs-1234" });
    expect(byUid.get(uids.gk!)).toMatchObject({ controller: "gatekeeper", policyName: "ratify-constraint", image: `registry.example.com/db@${D2}`, workloadKind: "StatefulSet", workloadName: "web" });
    expect(byUid.get(uids.gk2!)).toMatchObject({ controller: "gatekeeper", policyNames: ["prod-repo-is-openpolicyagent", "must-have-owner"], workloadKind: "Deployment", workloadName: "api" });
    expect(byUid.get(uids.gk2!)!.message.startsWith('admission webhook "validation.gatekeeper.sh" denied the request: [prod-repo')).toBe(true);
  });

  it("signet rejections prints them", async () => {
    const p = spawnTs("cli/main.ts", ["rejections", "--kubeconfig", kube.kubeconfigPath, "--context", "admin"], { LOG_LEVEL: "silent" });
    const { code } = await p.exited;
    expect(code).toBe(0);
    expect(p.output()).toContain("cluster admin");
    expect(p.output()).toContain("6 admission rejection(s)");
    expect(p.output()).toMatch(/2026-03-01T10:42:00\.000Z {2}shop\/Deployment\/api {2}policy_controller policy=my-cip image=registry\.example\.com\/app@sha256:9272c2be[0-9a-f]+ {2}×12/);
  });
});

describe("the cluster's own image policies", () => {
  it("reports engines whose CRDs are absent as not installed, without error", async () => {
    const r = await listClusterImagePolicies(admin);
    expect(r).toMatchObject({ error: null, warnings: [], policies: [], policyController: { installed: false, version: null }, kyverno: { installed: false, version: null } });
  });

  it("reads ClusterImagePolicies and Kyverno verifyImages policies with a classification", async () => {
    await installCrd(kube, looseCrd("policy.sigstore.dev", "ClusterImagePolicy", "clusterimagepolicies", "Cluster", ["v1beta1", "v1alpha1"]));
    await installCrd(kube, looseCrd("kyverno.io", "ClusterPolicy", "clusterpolicies", "Cluster", ["v1"]));
    await installCrd(kube, looseCrd("kyverno.io", "Policy", "policies", "Namespaced", ["v1"]));
    await kube.request("POST", "/apis/policy.sigstore.dev/v1beta1/clusterimagepolicies", SAMPLE_CIP);
    await kube.request("POST", "/apis/policy.sigstore.dev/v1alpha1/clusterimagepolicies", {
      apiVersion: "policy.sigstore.dev/v1alpha1",
      kind: "ClusterImagePolicy",
      metadata: { name: "legacy-alpha" },
      spec: { images: [{ glob: "**" }], authorities: [{ static: { action: "pass" } }] },
    });
    await kube.request("POST", "/apis/kyverno.io/v1/clusterpolicies", SAMPLE_KYVERNO);
    await kube.request("POST", "/apis/kyverno.io/v1/clusterpolicies", { apiVersion: "kyverno.io/v1", kind: "ClusterPolicy", metadata: { name: "require-labels" }, spec: { rules: [{ name: "x", validate: { pattern: {} } }] } });
    await kube.request("POST", "/apis/kyverno.io/v1/namespaces/shop/policies", {
      apiVersion: "kyverno.io/v1",
      kind: "Policy",
      metadata: { name: "shop-signed", namespace: "shop" },
      spec: { rules: [{ name: "verify", verifyImages: [{ imageReferences: ["registry.example.com/shop/*"], attestors: [{ entries: [{ keys: { publicKeys: "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----" } }] }] }] }] },
    });

    const r = await listClusterImagePolicies(admin, { pageSize: 1 });
    expect(r.error).toBeNull();
    expect(r.warnings).toEqual([]);
    expect(r.policyController).toEqual({ installed: true, version: "v1beta1" });
    expect(r.kyverno).toEqual({ installed: true, version: "v1" });
    const summary = r.policies.map((p) => [p.engine, p.kind, p.namespace, p.name, p.classification.supported]).sort((a, b) => String(a[3]).localeCompare(String(b[3])));
    expect(summary).toEqual([
      ["kyverno", "ClusterPolicy", null, "check-image-signature", false],
      ["policy-controller", "ClusterImagePolicy", null, "legacy-alpha", true],
      ["kyverno", "Policy", "shop", "shop-signed", true],
      ["policy-controller", "ClusterImagePolicy", null, "signed-by-ci", false],
    ]);
    const cip = r.policies.find((p) => p.name === "signed-by-ci")!;
    expect(cip.raw).toMatchObject({ apiVersion: "policy.sigstore.dev/v1beta1", spec: SAMPLE_CIP.spec });
    expect(cip.classification.rules.map((x) => x.supported)).toEqual([true, true, false, false]);
  });
});
