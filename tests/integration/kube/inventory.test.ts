import { mapLimit } from "@/lib/concurrency";
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadKubeconfigClusters } from "@/lib/kube/clusters";
import { inventoryCluster, inventoryClusters } from "@/lib/kube/inventory";
import type { ClusterInventory, PodRecord } from "@/lib/kube/types";
import {
  addEphemeralContainers,
  createCronJob,
  createDaemonSet,
  createDeployment,
  createJob,
  createNamespace,
  createPod,
  createReplicaSet,
  createStatefulSet,
  fakeDigest,
  freePort,
  ownedBy,
  setPodStatus,
  startKubeApiserver,
  writeKubeconfig,
  type KubeApiserver,
} from "@/tests/support/kube-apiserver";
import { spawnTs } from "@/tests/support/process";

const D = { web: fakeDigest("web"), busybox: fakeDigest("busybox"), job: fakeDigest("job"), db: fakeDigest("db"), agent: fakeDigest("agent"), nginx: fakeDigest("nginx") };
const MANY = 23;
const PAGE = 7;

let kube: KubeApiserver;
let inv: ClusterInventory;
const pod = (ns: string, name: string): PodRecord => {
  const p = inv.pods.find((x) => x.namespace === ns && x.name === name);
  if (!p) throw new Error(`pod ${ns}/${name} not in the inventory`);
  return p;
};

beforeAll(async () => {
  kube = await startKubeApiserver();
  await Promise.all([
    createNamespace(kube, "shop", { team: "shop", env: "prod" }),
    createNamespace(kube, "batch", { team: "data" }),
    createNamespace(kube, "infra"),
    createNamespace(kube, "misc"),
    createNamespace(kube, "many", { load: "pagination" }),
  ]);

  // Deployment → ReplicaSet → 2 pods (dockershim and containerd imageID forms), one with an init
  // container and an ephemeral debug container added through the ephemeralcontainers subresource.
  const web = [{ name: "web", image: "registry.example.com/shop/web:2.1" }];
  const deploy = await createDeployment(kube, "shop", "web", web);
  const rs = await createReplicaSet(kube, "shop", "web-6d4f9c8b7", web, deploy);
  await createPod(kube, { namespace: "shop", name: "web-6d4f9c8b7-aaaaa", containers: web, initContainers: [{ name: "setup", image: "busybox:1.36" }], owner: ownedBy(rs) });
  await createPod(kube, { namespace: "shop", name: "web-6d4f9c8b7-bbbbb", containers: web, owner: ownedBy(rs) });
  await setPodStatus(kube, "shop", "web-6d4f9c8b7-aaaaa", {
    containers: [{ name: "web", imageID: `docker-pullable://registry.example.com/shop/web@${D.web}` }],
    initContainers: [{ name: "setup", imageID: `docker.io/library/busybox@${D.busybox}` }],
  });
  await setPodStatus(kube, "shop", "web-6d4f9c8b7-bbbbb", { containers: [{ name: "web", imageID: `registry.example.com/shop/web@${D.web}` }] });
  await addEphemeralContainers(kube, "shop", "web-6d4f9c8b7-aaaaa", [{ name: "debugger", image: "busybox:1.36" }]);
  await setPodStatus(kube, "shop", "web-6d4f9c8b7-aaaaa", { ephemeralContainers: [{ name: "debugger", imageID: `docker://${fakeDigest("local-image-id")}` }] });

  // CronJob → Job → Pod, and a Job of its own whose pod has no status yet.
  const job = [{ name: "job", image: "registry.example.com/batch/etl:7" }];
  const cron = await createCronJob(kube, "batch", "nightly", job);
  const run = await createJob(kube, "batch", "nightly-29000000", job, cron);
  await createPod(kube, { namespace: "batch", name: "nightly-29000000-x7k2p", containers: job, owner: ownedBy(run) });
  await setPodStatus(kube, "batch", "nightly-29000000-x7k2p", { containers: [{ name: "job", imageID: `registry.example.com/batch/etl@${D.job}` }], phase: "Succeeded" });
  const migrate = await createJob(kube, "batch", "migrate", job);
  await createPod(kube, { namespace: "batch", name: "migrate-q9w8e", containers: job, owner: ownedBy(migrate) });

  // StatefulSet pod pinned by digest without status; DaemonSet pod pulled through a mirror.
  const sts = await createStatefulSet(kube, "infra", "db", [{ name: "db", image: `registry.example.com/infra/db@${D.db}` }]);
  await createPod(kube, { namespace: "infra", name: "db-0", containers: [{ name: "db", image: `registry.example.com/infra/db@${D.db}` }], owner: ownedBy(sts) });
  const ds = await createDaemonSet(kube, "infra", "agent", [{ name: "agent", image: "ghcr.io/org/agent:v3" }]);
  await createPod(kube, { namespace: "infra", name: "agent-n1x2z", containers: [{ name: "agent", image: "ghcr.io/org/agent:v3" }], owner: ownedBy(ds) });
  await setPodStatus(kube, "infra", "agent-n1x2z", { containers: [{ name: "agent", imageID: `docker-pullable://mirror.example.com/ghcr/org/agent@${D.agent}` }] });

  // A bare pod with a Docker Hub short name.
  await createPod(kube, { namespace: "misc", name: "solo", containers: [{ name: "nginx", image: "nginx" }] });
  await setPodStatus(kube, "misc", "solo", { containers: [{ name: "nginx", imageID: `docker.io/library/nginx@${D.nginx}` }] });

  // More pods than a page holds.
  await mapLimit(Array.from({ length: MANY }, (_, i) => i), 8, (i) =>
    createPod(kube, { namespace: "many", name: `p-${i}`, containers: [{ name: "c", image: "registry.example.com/many/app:1" }] }),
  );

  const [admin] = loadKubeconfigClusters({ kubeconfigPath: kube.kubeconfigPath, contexts: ["admin"] });
  inv = await inventoryCluster(admin!, { pageSize: PAGE });
});

afterAll(async () => kube?.stop());

describe("inventoryCluster against a real kube-apiserver", () => {
  it("lists namespaces with their labels", () => {
    expect(inv.error).toBeNull();
    expect(inv.cluster).toEqual({ name: "admin", source: "kubeconfig", context: "admin", server: kube.url });
    const ns = Object.fromEntries(inv.namespaces.map((n) => [n.name, n.labels]));
    expect(ns.shop).toMatchObject({ team: "shop", env: "prod" });
    expect(ns.batch).toMatchObject({ team: "data" });
    expect(Object.keys(ns)).toEqual(expect.arrayContaining(["default", "kube-system", "infra", "misc", "many"]));
  });

  it("paginates every list with limit/continue", () => {
    const total = inv.pods.length;
    expect(total).toBe(MANY + 7);
    expect(inv.stats.podPages).toBe(Math.ceil(total / PAGE));
    expect(inv.stats.namespacePages).toBe(Math.ceil(inv.namespaces.length / PAGE));
    expect(new Set(inv.pods.map((p) => p.uid)).size).toBe(total);
  });

  it("resolves owners: ReplicaSet → Deployment, Job → CronJob, StatefulSet, DaemonSet, Job, bare pod", () => {
    expect(pod("shop", "web-6d4f9c8b7-aaaaa").workload).toEqual({ kind: "Deployment", name: "web" });
    expect(pod("shop", "web-6d4f9c8b7-bbbbb").workload).toEqual({ kind: "Deployment", name: "web" });
    expect(pod("batch", "nightly-29000000-x7k2p").workload).toEqual({ kind: "CronJob", name: "nightly" });
    expect(pod("batch", "migrate-q9w8e").workload).toEqual({ kind: "Job", name: "migrate" });
    expect(pod("infra", "db-0").workload).toEqual({ kind: "StatefulSet", name: "db" });
    expect(pod("infra", "agent-n1x2z").workload).toEqual({ kind: "DaemonSet", name: "agent" });
    expect(pod("misc", "solo").workload).toEqual({ kind: "Pod", name: "solo" });
    const workloads = inv.workloads.filter((w) => w.namespace !== "many").map((w) => `${w.namespace}/${w.kind}/${w.name}`).sort();
    expect(workloads).toEqual(["batch/CronJob/nightly", "batch/Job/migrate", "infra/DaemonSet/agent", "infra/StatefulSet/db", "misc/Pod/solo", "shop/Deployment/web"]);
    expect(inv.stats.replicaSetPages).toBeGreaterThan(0);
    expect(inv.warnings).toEqual([]);
  });

  it("reads every container kind with its digest from each runtime's imageID form", () => {
    const a = pod("shop", "web-6d4f9c8b7-aaaaa");
    expect(a.phase).toBe("Running");
    expect(a.nodeName).toBe("node-1");
    expect(a.containers.map((c) => [c.kind, c.name])).toEqual([["init", "setup"], ["app", "web"], ["ephemeral", "debugger"]]);
    const [init, app, eph] = a.containers;
    expect(app).toMatchObject({ imageRef: "registry.example.com/shop/web:2.1", digest: D.web, digestSource: "observed", digestOrigin: "status", needsResolution: false, imageID: `docker-pullable://registry.example.com/shop/web@${D.web}` });
    expect(app!.image).toMatchObject({ registry: "registry.example.com", repository: "shop/web", tag: "2.1" });
    expect(init).toMatchObject({ imageRef: "busybox:1.36", digest: D.busybox, digestSource: "observed", observedRepository: "index.docker.io/library/busybox" });
    // docker://sha256:… is the local image ID, not a registry digest: to be resolved by tag.
    expect(eph).toMatchObject({ imageRef: "busybox:1.36", digest: null, digestSource: "unknown", needsResolution: true });
    expect(pod("shop", "web-6d4f9c8b7-bbbbb").containers[0]).toMatchObject({ digest: D.web, digestSource: "observed" });
    expect(pod("infra", "agent-n1x2z").containers[0]).toMatchObject({ digest: D.agent, observedRepository: "mirror.example.com/ghcr/org/agent" });
    expect(pod("misc", "solo").containers[0]).toMatchObject({ imageRef: "nginx", digest: D.nginx, image: { name: "index.docker.io/library/nginx", tag: "latest" } });
  });

  it("marks containers without an observed digest: pinned by reference, or to be resolved", () => {
    expect(pod("infra", "db-0").containers[0]).toMatchObject({ digest: D.db, digestSource: "observed", digestOrigin: "reference", needsResolution: false, imageID: null });
    expect(pod("batch", "migrate-q9w8e").containers[0]).toMatchObject({ digest: null, digestSource: "unknown", digestOrigin: null, needsResolution: true, imageID: null });
    expect(pod("batch", "migrate-q9w8e").phase).toBe("Pending");
    expect(inv.stats.containersNeedingResolution).toBe(1 + 1 + MANY);
    expect(inv.stats.distinctDigests).toBe(6);
  });
});

describe("several clusters", () => {
  let file: string;
  beforeAll(async () => {
    const closed = await freePort();
    file = await writeKubeconfig(path.join(kube.dir, "multi"), [
      { name: "good", server: kube.url, token: kube.tokens.admin, caPem: kube.caPem },
      { name: "expired", server: kube.url, token: "expired-or-revoked-token", caPem: kube.caPem },
      { name: "no-rbac", server: kube.url, token: kube.tokens.reader, caPem: kube.caPem },
      { name: "unreachable", server: `https://127.0.0.1:${closed}`, token: "x", caPem: kube.caPem },
      { name: "wrong-ca", server: kube.url, token: kube.tokens.admin },
    ]);
  });

  it("records each failing cluster's error and still inventories the others", async () => {
    const results = await inventoryClusters(loadKubeconfigClusters({ kubeconfigPath: file }), { timeoutMs: 10_000 });
    const byName = Object.fromEntries(results.map((r) => [r.cluster.name, r]));
    expect(results.map((r) => r.cluster.name)).toEqual(["good", "expired", "no-rbac", "unreachable", "wrong-ca"]);
    expect(byName.good!.error).toBeNull();
    expect(byName.good!.pods.length).toBe(MANY + 7);
    expect(byName.expired!.error).toMatchObject({ kind: "unauthorized", status: 401 });
    expect(byName.expired!.error!.message).toMatch(/rejected the credentials \(401 Unauthorized\)/);
    expect(byName["no-rbac"]!.error).toMatchObject({ kind: "forbidden", status: 403 });
    expect(byName["no-rbac"]!.error!.message).toMatch(/User "signet-reader" cannot list resource "(pods|namespaces)"/);
    expect(byName.unreachable!.error).toMatchObject({ kind: "unreachable" });
    expect(byName.unreachable!.error!.message).toMatch(/^cannot reach https:\/\/127\.0\.0\.1:\d+: connection refused$/);
    expect(byName["wrong-ca"]!.error).toMatchObject({ kind: "tls" });
    for (const r of results.filter((x) => x.error)) {
      expect(r.pods).toEqual([]);
      expect(r.error!.message).not.toContain(kube.tokens.admin);
    }
  });

  it("gives up on a server that accepts connections but never answers, within the request timeout", async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const f = await writeKubeconfig(path.join(kube.dir, "silent"), [{ name: "silent", server: `https://127.0.0.1:${port}`, token: "x", caPem: kube.caPem }]);
      const started = Date.now();
      const [r] = await inventoryClusters(loadKubeconfigClusters({ kubeconfigPath: f }), { timeoutMs: 800 });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(r!.error).toMatchObject({ kind: "timeout" });
      expect(r!.error!.message).toMatch(/did not answer in time/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("signet inventory prints clusters, workloads and digests, shows per-cluster errors, and fails only when all fail", async () => {
    const run = async (...args: string[]) => {
      const p = spawnTs("cli/main.ts", ["inventory", ...args], { LOG_LEVEL: "silent" });
      return { ...(await p.exited), out: p.output() };
    };
    const mixed = await run("--kubeconfig", file, "--context", "good", "--context", "expired");
    expect(mixed.code).toBe(0);
    expect(mixed.out).toMatch(/cluster good \(https:\/\/127\.0\.0\.1:\d+\): \d+ namespaces, \d+ workloads, 30 pods/);
    expect(mixed.out).toContain("    Deployment web");
    expect(mixed.out).toMatch(/app\s+web {2}registry\.example\.com\/shop\/web:2\.1 {2}sha256:[0-9a-f]{12}… \(observed\)/);
    expect(mixed.out).toMatch(/cluster expired \(.*\): ERROR unauthorized: /);

    const allBad = await run("--kubeconfig", file, "--context", "expired", "--context", "unreachable", "--json");
    expect(allBad.code).toBe(1);
    const json = JSON.parse(allBad.out.slice(0, allBad.out.lastIndexOf("]") + 1)) as ClusterInventory[];
    expect(json.map((r) => r.error?.kind)).toEqual(["unauthorized", "unreachable"]);

    const bad = path.join(kube.dir, "bad-kubeconfig");
    await fs.writeFile(bad, "clusters: {oops");
    const malformed = await run("--kubeconfig", bad);
    expect(malformed.code).toBe(2);
    expect(malformed.out.trim()).toMatch(new RegExp(`^signet inventory: kubeconfig ${bad} is not a valid kubeconfig: `));
    const unknown = await run("--kubeconfig", file, "--context", "nope");
    expect(unknown.code).toBe(2);
    expect(unknown.out.trim()).toBe(`signet inventory: kubeconfig ${file} has no context "nope" (available: good, expired, no-rbac, unreachable, wrong-ca)`);
  });
});
