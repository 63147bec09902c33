import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listClusterImagePolicies } from "@/lib/kube/cluster-policies";
import { loadInClusterTarget, loadKubeconfigClusters, type KubeTarget } from "@/lib/kube/clusters";
import { inventoryCluster } from "@/lib/kube/inventory";
import { listAdmissionRejections } from "@/lib/kube/rejections";
import {
  applyManifest,
  createCoreEvent,
  createCronJob,
  createDeployment,
  createJob,
  createNamespace,
  createPod,
  createReplicaSet,
  fakeDigest,
  installCrd,
  looseCrd,
  ownedBy,
  podManifest,
  requestServiceAccountToken,
  setPodStatus,
  startKubeApiserver,
  writeKubeconfig,
  type KubeApiserver,
} from "@/tests/support/kube-apiserver";
import { DENIALS, SAMPLE_CIP, SAMPLE_KYVERNO } from "@/tests/support/kube-fixtures";
import { ROOT } from "@/tests/support/process";

let kube: KubeApiserver;
let token: string;
let sa: KubeTarget;

beforeAll(async () => {
  kube = await startKubeApiserver();
  await installCrd(kube, looseCrd("policy.sigstore.dev", "ClusterImagePolicy", "clusterimagepolicies", "Cluster", ["v1beta1", "v1alpha1"]));
  await installCrd(kube, looseCrd("kyverno.io", "ClusterPolicy", "clusterpolicies", "Cluster", ["v1"]));
  await installCrd(kube, looseCrd("kyverno.io", "Policy", "policies", "Namespaced", ["v1"]));
  await kube.request("POST", "/apis/policy.sigstore.dev/v1beta1/clusterimagepolicies", SAMPLE_CIP);
  await kube.request("POST", "/apis/kyverno.io/v1/clusterpolicies", SAMPLE_KYVERNO);

  await createNamespace(kube, "app", { team: "app" });
  const c = [{ name: "c", image: "registry.example.com/app:1" }];
  const rs = await createReplicaSet(kube, "app", "api-5f7c9d", c, await createDeployment(kube, "app", "api", c));
  await createPod(kube, { namespace: "app", name: "api-5f7c9d-x", containers: c, owner: ownedBy(rs) });
  await setPodStatus(kube, "app", "api-5f7c9d-x", { containers: [{ name: "c", imageID: `registry.example.com/app@${fakeDigest("app")}` }] });
  const job = await createJob(kube, "app", "report-1", c, await createCronJob(kube, "app", "report", c));
  await createPod(kube, { namespace: "app", name: "report-1-y", containers: c, owner: ownedBy(job) });
  await createCoreEvent(kube, { namespace: "app", name: "api.1", involved: { kind: "ReplicaSet", name: "api-5f7c9d" }, message: DENIALS.policyController });

  const created = await applyManifest(kube, path.join(ROOT, "deploy/rbac.yaml"));
  expect(created.map((o) => o.kind)).toEqual(["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"]);
  token = await requestServiceAccountToken(kube, "signet", "signet");
  const file = await writeKubeconfig(path.join(kube.dir, "signet-sa"), [{ name: "signet", server: kube.url, token, caPem: kube.caPem }]);
  sa = loadKubeconfigClusters({ kubeconfigPath: file })[0]!;
});
afterAll(async () => kube?.stop());

describe("deploy/rbac.yaml", () => {
  it("is enough for the inventory: every list succeeds and owners resolve, without warnings", async () => {
    const inv = await inventoryCluster(sa, { pageSize: 2 });
    expect(inv.error).toBeNull();
    expect(inv.warnings).toEqual([]);
    expect(inv.namespaces.find((n) => n.name === "app")?.labels.team).toBe("app");
    expect(inv.pods.map((p) => [p.name, p.workload])).toEqual(
      expect.arrayContaining([
        ["api-5f7c9d-x", { kind: "Deployment", name: "api" }],
        ["report-1-y", { kind: "CronJob", name: "report" }],
      ]),
    );
    expect(inv.stats.replicaSetPages).toBeGreaterThan(0);
    expect(inv.stats.jobPages).toBeGreaterThan(0);
  });

  it("is enough for rejections (both Event APIs) and the cluster's image policies", async () => {
    const rej = await listAdmissionRejections(sa);
    expect(rej.error).toBeNull();
    expect(rej.warnings).toEqual([]);
    expect(rej.rejections).toHaveLength(1);
    expect(rej.rejections[0]).toMatchObject({ workloadKind: "Deployment", workloadName: "api", policyName: "my-cip" });
    const pol = await listClusterImagePolicies(sa);
    expect(pol.error).toBeNull();
    expect(pol.warnings).toEqual([]);
    expect(pol.policies.map((p) => p.name).sort()).toEqual(["check-image-signature", "signed-by-ci"]);
  });

  it("grants nothing else: writes, secrets and other resources are forbidden", async () => {
    const as = { token, allow: [403] };
    const status = async (method: string, url: string, body?: unknown) =>
      (await kube.request<{ code?: number; reason?: string }>(method, url, body, as))?.code;
    expect(await status("POST", "/api/v1/namespaces/app/pods", podManifest({ namespace: "app", name: "evil", containers: [{ name: "c", image: "x" }] }))).toBe(403);
    expect(await status("DELETE", "/api/v1/namespaces/app/pods/api-5f7c9d-x")).toBe(403);
    expect(await status("PATCH", "/api/v1/namespaces/app", { metadata: { labels: { x: "y" } } })).toBe(403);
    expect(await status("GET", "/api/v1/secrets")).toBe(403);
    expect(await status("GET", "/apis/apps/v1/deployments")).toBe(403);
    expect(await status("GET", "/api/v1/configmaps")).toBe(403);
  });

  it("works in-cluster through the mounted service-account token", async () => {
    const dir = path.join(kube.dir, "serviceaccount");
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, "token"), token);
    await fs.writeFile(path.join(dir, "ca.crt"), kube.caPem);
    const port = new URL(kube.url).port;
    const target = loadInClusterTarget({ env: { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: port }, serviceAccountDir: dir, name: "home" });
    const inv = await inventoryCluster(target);
    expect(inv.cluster).toEqual({ name: "home", source: "in_cluster", context: null, server: kube.url });
    expect(inv.error).toBeNull();
    expect(inv.pods.length).toBe(2);
  });
});
