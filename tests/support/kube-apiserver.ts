// A real kube-apiserver backed by a real etcd on 127.0.0.1, for tests and the inventory bench.
// There is no controller-manager, scheduler or kubelet: tests create the objects controllers would
// (ReplicaSets, Jobs, Pods with ownerReferences) and write pod status through the `status`
// subresource the way a kubelet does. Binaries come from scripts/provision/kube.sh.
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Agent, fetch, type Dispatcher } from "undici";
import YAML from "yaml";
import { ROOT, waitFor } from "@/tests/support/process";

const run = promisify(execFile);

/** Tokens the apiserver accepts (--token-auth-file). */
export interface KubeTokens {
  /** User `signet-admin` in group system:masters. */
  admin: string;
  /** User `signet-reader`, bound to nothing unless a test binds it. */
  reader: string;
}

export interface KubeApiserver {
  url: string;
  caPem: string;
  caFile: string;
  dir: string;
  tokens: KubeTokens;
  /** Kubeconfig with contexts `admin` and `reader` (current: admin). */
  kubeconfigPath: string;
  /** A raw JSON request as the admin (or with `token`); throws on non-2xx unless `allow` lists the status. */
  request<T = unknown>(method: string, apiPath: string, body?: unknown, opts?: RequestOptions): Promise<T>;
  /**
   * Compacts etcd's history up to its current revision: a watch resumed from an older
   * resourceVersion is answered 410 Gone ("too old resource version"). Deterministic only with
   * `watchCache: false` (the API server's watch cache would otherwise serve a recent version itself).
   */
  compactEtcd(): Promise<number>;
  stop(): Promise<void>;
}

export interface StartKubeApiserverOptions {
  /** Appended to the API server's flags (e.g. --admission-control-config-file). */
  extraArgs?: string[];
  /** The API server's watch cache (--watch-cache, default true). Off: watches are served by etcd. */
  watchCache?: boolean;
}

export interface RequestOptions {
  token?: string;
  contentType?: string;
  allow?: number[];
}

/** A context of a kubeconfig written by writeKubeconfig. */
export interface ContextSpec {
  name: string;
  server: string;
  token?: string;
  caPem?: string;
  insecure?: boolean;
}

function findBinaries(): { apiserver: string; etcd: string } {
  const fromEnv = { apiserver: process.env.KUBE_APISERVER_BIN, etcd: process.env.ETCD_BIN };
  if (fromEnv.apiserver && fromEnv.etcd) return { apiserver: fromEnv.apiserver, etcd: fromEnv.etcd };
  // Not provisioned by the caller: ask the provisioning script (instant when cached).
  const out = execFileSync("bash", [path.join(ROOT, "scripts/provision/kube.sh"), "--print-env"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 16 * 1024 * 1024,
  });
  const get = (name: string) => {
    const m = out.match(new RegExp(`^export ${name}=(.*)$`, "m"));
    if (!m?.[1]) throw new Error(`scripts/provision/kube.sh printed no ${name}`);
    return m[1].replace(/^'(.*)'$/, "$1");
  };
  process.env.KUBE_APISERVER_BIN = get("KUBE_APISERVER_BIN");
  process.env.ETCD_BIN = get("ETCD_BIN");
  return { apiserver: process.env.KUBE_APISERVER_BIN, etcd: process.env.ETCD_BIN };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await run("openssl", args, { cwd });
}

/** A throwaway CA, a serving certificate for 127.0.0.1/localhost and a service-account key pair. */
async function generatePki(dir: string): Promise<{ caFile: string; certFile: string; keyFile: string; saKey: string; saPub: string }> {
  const ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
  await Promise.all([openssl(["genpkey", ...ec, "-out", "ca.key"], dir), openssl(["genpkey", ...ec, "-out", "serving.key"], dir)]);
  await openssl(
    ["req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=signet-test-ca", "-days", "2", "-out", "ca.crt",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    dir,
  );
  await fs.writeFile(
    path.join(dir, "serving.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n",
  );
  await openssl(["req", "-new", "-key", "serving.key", "-subj", "/CN=kube-apiserver", "-out", "serving.csr"], dir);
  await openssl(
    ["x509", "-req", "-in", "serving.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
      "-extfile", "serving.ext", "-out", "serving.crt"],
    dir,
  );
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  await fs.writeFile(path.join(dir, "sa.key"), privateKey.export({ type: "pkcs8", format: "pem" }));
  await fs.writeFile(path.join(dir, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));
  return {
    caFile: path.join(dir, "ca.crt"),
    certFile: path.join(dir, "serving.crt"),
    keyFile: path.join(dir, "serving.key"),
    saKey: path.join(dir, "sa.key"),
    saPub: path.join(dir, "sa.pub"),
  };
}

function capture(proc: ChildProcess): () => string {
  let out = "";
  const add = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout?.on("data", add);
  proc.stderr?.on("data", add);
  return () => out;
}

async function stopProcess(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** Writes a kubeconfig with one context (and cluster and user of the same name) per spec. */
export async function writeKubeconfig(file: string, contexts: ContextSpec[], current?: string): Promise<string> {
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    "current-context": current ?? contexts[0]?.name,
    clusters: contexts.map((c) => ({
      name: c.name,
      cluster: {
        server: c.server,
        ...(c.caPem ? { "certificate-authority-data": Buffer.from(c.caPem).toString("base64") } : {}),
        ...(c.insecure ? { "insecure-skip-tls-verify": true } : {}),
      },
    })),
    users: contexts.map((c) => ({ name: c.name, user: c.token ? { token: c.token } : {} })),
    contexts: contexts.map((c) => ({ name: c.name, context: { cluster: c.name, user: c.name } })),
  };
  await fs.writeFile(file, YAML.stringify(doc), { mode: 0o600 });
  return file;
}

/**
 * Starts etcd and kube-apiserver on free 127.0.0.1 ports in a temporary directory and waits for
 * /readyz. Takes a few seconds; call once per test file (beforeAll) and `stop()` in afterAll.
 * `extraArgs` are appended to the API server's flags (e.g. --admission-control-config-file).
 */
export async function startKubeApiserver(options: StartKubeApiserverOptions = {}): Promise<KubeApiserver> {
  const bins = findBinaries();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-kube-"));
  let etcd: ChildProcess | undefined;
  let apiserver: ChildProcess | undefined;
  let agent: Agent | undefined;
  const cleanup = async () => {
    await agent?.close().catch(() => undefined);
    await stopProcess(apiserver);
    await stopProcess(etcd);
    await fs.rm(dir, { recursive: true, force: true });
  };
  try {
    const [pki, etcdPort, peerPort, securePort] = await Promise.all([generatePki(dir), freePort(), freePort(), freePort()]);
    const tokens: KubeTokens = { admin: crypto.randomBytes(16).toString("hex"), reader: crypto.randomBytes(16).toString("hex") };
    await fs.writeFile(
      path.join(dir, "tokens.csv"),
      `${tokens.admin},signet-admin,uid-admin,"system:masters"\n${tokens.reader},signet-reader,uid-reader\n`,
    );

    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    etcd = spawn(
      bins.etcd,
      [
        "--name=default",
        `--data-dir=${path.join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
        // Test data: durability buys nothing and fsync dominates write latency on small disks.
        "--unsafe-no-fsync",
        "--log-level=warn",
        "--quota-backend-bytes=4294967296",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const etcdOut = capture(etcd);

    const url = `https://127.0.0.1:${securePort}`;
    apiserver = spawn(
      bins.apiserver,
      [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${securePort}`,
        `--cert-dir=${path.join(dir, "certs")}`,
        `--tls-cert-file=${pki.certFile}`,
        `--tls-private-key-file=${pki.keyFile}`,
        `--client-ca-file=${pki.caFile}`,
        `--token-auth-file=${path.join(dir, "tokens.csv")}`,
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
        "--api-audiences=https://kubernetes.default.svc.cluster.local",
        "--service-cluster-ip-range=10.96.0.0/24",
        // These plugins wait for objects only controllers create (default service accounts,
        // StorageClasses, ...), which would refuse every pod here.
        "--disable-admission-plugins=ServiceAccount,DefaultStorageClass,StorageObjectInUseProtection,PersistentVolumeClaimResize,DefaultIngressClass,TaintNodesByCondition,RuntimeClass,ResourceQuota,LimitRanger",
        "--allow-privileged=true",
        // One client seeding thousands of objects would otherwise be throttled by APF.
        "--enable-priority-and-fairness=false",
        "--max-requests-inflight=1000",
        "--max-mutating-requests-inflight=1000",
        "--profiling=false",
        "--endpoint-reconciler-type=none",
        "--v=0",
        ...(options.watchCache === false ? ["--watch-cache=false"] : []),
        ...(options.extraArgs ?? []),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const apiOut = capture(apiserver);
    const caPem = await fs.readFile(pki.caFile, "utf8");
    agent = new Agent({ connect: { ca: caPem }, connections: 64, pipelining: 1 });
    const dispatcher: Dispatcher = agent;

    const request = async <T,>(method: string, apiPath: string, body?: unknown, opts: RequestOptions = {}): Promise<T> => {
      const res = await fetch(url + apiPath, {
        method,
        dispatcher,
        headers: {
          authorization: `Bearer ${opts.token ?? tokens.admin}`,
          accept: "application/json",
          ...(body !== undefined ? { "content-type": opts.contentType ?? "application/json" } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok && !opts.allow?.includes(res.status)) {
        throw new Error(`${method} ${apiPath} → ${res.status}: ${text.slice(0, 500)}`);
      }
      return (text ? JSON.parse(text) : undefined) as T;
    };

    const exited = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null;
    await waitFor(
      async () => {
        if (exited(etcd!)) throw new Error(`etcd exited: ${etcdOut().slice(-2000)}`);
        if (exited(apiserver!)) throw new Error(`kube-apiserver exited: ${apiOut().slice(-3000)}`);
        const res = await fetch(`${url}/readyz`, { dispatcher, headers: { authorization: `Bearer ${tokens.admin}` } });
        await res.text();
        return res.ok ? true : undefined;
      },
      60_000,
      "kube-apiserver /readyz",
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- kube-apiserver output ---\n${apiOut().slice(-3000)}`);
    });

    const kubeconfigPath = await writeKubeconfig(path.join(dir, "kubeconfig"), [
      { name: "admin", server: url, token: tokens.admin, caPem },
      { name: "reader", server: url, token: tokens.reader, caPem },
    ]);

    // etcd's JSON gateway: the current revision (any range answers with it), then a physical compaction
    const compactEtcd = async (): Promise<number> => {
      const range = await fetch(`${etcdUrl}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: Buffer.from("/").toString("base64") }) });
      const revision = Number(((await range.json()) as { header: { revision: string } }).header.revision);
      const res = await fetch(`${etcdUrl}/v3/kv/compaction`, { method: "POST", body: JSON.stringify({ revision: String(revision), physical: true }) });
      if (!res.ok) throw new Error(`etcd compaction to ${revision}: HTTP ${res.status} ${await res.text()}`);
      await res.text();
      return revision;
    };

    return {
      url,
      caPem,
      caFile: pki.caFile,
      dir,
      tokens,
      kubeconfigPath,
      request,
      compactEtcd,
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

// ───────────────────────────── object helpers ─────────────────────────────

type Json = Record<string, unknown>;

export interface ContainerSpec {
  name: string;
  image: string;
}

export interface ContainerStatusSpec {
  name: string;
  image?: string;
  imageID: string;
}

export interface PodSpecInput {
  namespace: string;
  name: string;
  containers: ContainerSpec[];
  initContainers?: ContainerSpec[];
  owner?: { apiVersion: string; kind: string; name: string; uid: string };
  labels?: Record<string, string>;
  /** spec.imagePullSecrets names. */
  imagePullSecrets?: string[];
  serviceAccountName?: string;
}

export async function createNamespace(kube: KubeApiserver, name: string, labels: Record<string, string> = {}): Promise<Json> {
  return kube.request<Json>("POST", "/api/v1/namespaces", { metadata: { name, labels } });
}

export function podManifest(p: PodSpecInput): Json {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: p.name,
      namespace: p.namespace,
      labels: p.labels ?? {},
      ...(p.owner ? { ownerReferences: [{ ...p.owner, controller: true, blockOwnerDeletion: true }] } : {}),
    },
    spec: {
      // Pods are "scheduled" so that status updates look like a kubelet's; no Node object is needed.
      nodeName: "node-1",
      containers: p.containers,
      ...(p.initContainers ? { initContainers: p.initContainers } : {}),
      ...(p.imagePullSecrets ? { imagePullSecrets: p.imagePullSecrets.map((name) => ({ name })) } : {}),
      ...(p.serviceAccountName ? { serviceAccountName: p.serviceAccountName } : {}),
    },
  };
}

export async function createPod(kube: KubeApiserver, p: PodSpecInput): Promise<Json> {
  return kube.request<Json>("POST", `/api/v1/namespaces/${p.namespace}/pods`, podManifest(p));
}

const runningState = { running: { startedAt: "2026-01-01T00:00:00Z" } };
const doneState = { terminated: { exitCode: 0, reason: "Completed", startedAt: "2026-01-01T00:00:00Z", finishedAt: "2026-01-01T00:00:01Z" } };

/** Writes status.containerStatuses (and init/ephemeral) through the status subresource, as a kubelet would. */
export async function setPodStatus(
  kube: KubeApiserver,
  namespace: string,
  name: string,
  s: { containers?: ContainerStatusSpec[]; initContainers?: ContainerStatusSpec[]; ephemeralContainers?: ContainerStatusSpec[]; phase?: string },
): Promise<Json> {
  const toStatus = (c: ContainerStatusSpec, state: Json) => ({
    name: c.name,
    image: c.image ?? "unknown",
    imageID: c.imageID,
    ready: state === runningState,
    restartCount: 0,
    started: state === runningState,
    state,
  });
  const status: Json = { phase: s.phase ?? "Running" };
  if (s.containers) status.containerStatuses = s.containers.map((c) => toStatus(c, runningState));
  if (s.initContainers) status.initContainerStatuses = s.initContainers.map((c) => toStatus(c, doneState));
  if (s.ephemeralContainers) status.ephemeralContainerStatuses = s.ephemeralContainers.map((c) => toStatus(c, runningState));
  return kube.request<Json>("PATCH", `/api/v1/namespaces/${namespace}/pods/${name}/status`, { status }, {
    contentType: "application/merge-patch+json",
  });
}

/** Adds ephemeral containers through the `ephemeralcontainers` subresource (what `kubectl debug` does). */
export async function addEphemeralContainers(kube: KubeApiserver, namespace: string, name: string, containers: ContainerSpec[]): Promise<Json> {
  return kube.request<Json>(
    "PATCH",
    `/api/v1/namespaces/${namespace}/pods/${name}/ephemeralcontainers`,
    { spec: { ephemeralContainers: containers.map((c) => ({ ...c, targetContainerName: undefined })) } },
    { contentType: "application/strategic-merge-patch+json" },
  );
}

const selector = (labels: Record<string, string>) => ({ matchLabels: labels });
const template = (labels: Record<string, string>, containers: ContainerSpec[]) => ({
  metadata: { labels },
  spec: { containers },
});

export interface CreatedObject {
  kind: string;
  apiVersion: string;
  name: string;
  uid: string;
}

function ref(obj: Json): CreatedObject {
  const md = obj.metadata as { name: string; uid: string };
  return { kind: obj.kind as string, apiVersion: obj.apiVersion as string, name: md.name, uid: md.uid };
}

function ownerOf(o: CreatedObject) {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.name, uid: o.uid };
}

export async function createDeployment(kube: KubeApiserver, ns: string, name: string, containers: ContainerSpec[]): Promise<CreatedObject> {
  const labels = { app: name };
  return ref(
    await kube.request<Json>("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name },
      spec: { replicas: 1, selector: selector(labels), template: template(labels, containers) },
    }),
  );
}

/** A ReplicaSet named like the deployment controller names them, owned by `owner` when given. */
export async function createReplicaSet(
  kube: KubeApiserver,
  ns: string,
  name: string,
  containers: ContainerSpec[],
  owner?: CreatedObject,
): Promise<CreatedObject> {
  const labels = { app: name };
  return ref(
    await kube.request<Json>("POST", `/apis/apps/v1/namespaces/${ns}/replicasets`, {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name, ...(owner ? { ownerReferences: [{ ...ownerOf(owner), controller: true }] } : {}) },
      spec: { replicas: 1, selector: selector(labels), template: template(labels, containers) },
    }),
  );
}

export async function createStatefulSet(kube: KubeApiserver, ns: string, name: string, containers: ContainerSpec[]): Promise<CreatedObject> {
  const labels = { app: name };
  return ref(
    await kube.request<Json>("POST", `/apis/apps/v1/namespaces/${ns}/statefulsets`, {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name },
      spec: { serviceName: name, replicas: 1, selector: selector(labels), template: template(labels, containers) },
    }),
  );
}

export async function createDaemonSet(kube: KubeApiserver, ns: string, name: string, containers: ContainerSpec[]): Promise<CreatedObject> {
  const labels = { app: name };
  return ref(
    await kube.request<Json>("POST", `/apis/apps/v1/namespaces/${ns}/daemonsets`, {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name },
      spec: { selector: selector(labels), template: template(labels, containers) },
    }),
  );
}

const jobTemplate = (containers: ContainerSpec[]) => ({ spec: { restartPolicy: "Never", containers } });

export async function createCronJob(kube: KubeApiserver, ns: string, name: string, containers: ContainerSpec[]): Promise<CreatedObject> {
  return ref(
    await kube.request<Json>("POST", `/apis/batch/v1/namespaces/${ns}/cronjobs`, {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name },
      spec: { schedule: "*/5 * * * *", jobTemplate: { spec: { template: jobTemplate(containers) } } },
    }),
  );
}

export async function createJob(kube: KubeApiserver, ns: string, name: string, containers: ContainerSpec[], owner?: CreatedObject): Promise<CreatedObject> {
  return ref(
    await kube.request<Json>("POST", `/apis/batch/v1/namespaces/${ns}/jobs`, {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name, ...(owner ? { ownerReferences: [{ ...ownerOf(owner), controller: true }] } : {}) },
      spec: { template: jobTemplate(containers) },
    }),
  );
}

/** Pod owner reference for `createPod`. */
export function ownedBy(o: CreatedObject): PodSpecInput["owner"] {
  return ownerOf(o);
}

export interface EventInput {
  namespace: string;
  name: string;
  involved: { kind: string; name: string; apiVersion?: string; uid?: string };
  reason?: string;
  message: string;
  count?: number;
  firstSeen?: string;
  lastSeen?: string;
  reportingController?: string;
  type?: "Warning" | "Normal";
}

/** A core/v1 Event, the way client-go's legacy recorder (replicaset-controller, job-controller, ...) writes them. */
export async function createCoreEvent(kube: KubeApiserver, e: EventInput): Promise<Json> {
  const first = e.firstSeen ?? "2026-03-01T10:00:00Z";
  return kube.request<Json>("POST", `/api/v1/namespaces/${e.namespace}/events`, {
    metadata: { name: e.name, namespace: e.namespace },
    involvedObject: { namespace: e.namespace, ...e.involved },
    reason: e.reason ?? "FailedCreate",
    message: e.message,
    type: e.type ?? "Warning",
    count: e.count ?? 1,
    firstTimestamp: first,
    lastTimestamp: e.lastSeen ?? first,
    source: { component: e.reportingController ?? "replicaset-controller" },
  });
}

/** An events.k8s.io/v1 Event, the way the new recorder writes them (note, regarding, series). */
export async function createEventsV1Event(kube: KubeApiserver, e: EventInput): Promise<Json> {
  const first = e.firstSeen ?? "2026-03-01T10:00:00Z";
  const count = e.count ?? 1;
  return kube.request<Json>("POST", `/apis/events.k8s.io/v1/namespaces/${e.namespace}/events`, {
    apiVersion: "events.k8s.io/v1",
    kind: "Event",
    metadata: { name: e.name, namespace: e.namespace },
    eventTime: first.replace("Z", ".000000Z"),
    regarding: { namespace: e.namespace, ...e.involved },
    reason: e.reason ?? "FailedCreate",
    action: "Create",
    note: e.message,
    type: e.type ?? "Warning",
    reportingController: e.reportingController ?? "kube-controller-manager/replicaset-controller",
    reportingInstance: "kube-controller-manager-node-1",
    ...(count > 1 ? { series: { count, lastObservedTime: (e.lastSeen ?? first).replace("Z", ".000000Z") } } : {}),
  });
}

/** Installs (or replaces) a CustomResourceDefinition and waits until it is Established. */
export async function installCrd(kube: KubeApiserver, crd: Json): Promise<void> {
  const name = (crd.metadata as { name: string }).name;
  await kube.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd, { allow: [409] });
  await waitFor(
    async () => {
      const got = await kube.request<{ status?: { conditions?: { type: string; status: string }[] } }>(
        "GET",
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      );
      return got.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ? true : undefined;
    },
    30_000,
    `CRD ${name} established`,
  );
}

/** A schemaless CRD (x-kubernetes-preserve-unknown-fields) with the given group, kind and versions. */
export function looseCrd(group: string, kind: string, plural: string, scope: "Cluster" | "Namespaced", versions: string[]): Json {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope,
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: versions.map((v, i) => ({
        name: v,
        served: true,
        storage: i === 0,
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      })),
    },
  };
}

/** Applies every document of a multi-document YAML file as the admin (POST to the right collection). */
export async function applyManifest(kube: KubeApiserver, file: string): Promise<Json[]> {
  const docs = YAML.parseAllDocuments(await fs.readFile(file, "utf8")).map((d) => d.toJS() as Json).filter(Boolean);
  const plural: Record<string, string> = {
    Namespace: "namespaces",
    ServiceAccount: "serviceaccounts",
    ClusterRole: "clusterroles",
    ClusterRoleBinding: "clusterrolebindings",
    Role: "roles",
    RoleBinding: "rolebindings",
  };
  const created: Json[] = [];
  for (const doc of docs) {
    const kind = doc.kind as string;
    const apiVersion = doc.apiVersion as string;
    const md = doc.metadata as { namespace?: string };
    const res = plural[kind];
    if (!res) throw new Error(`applyManifest: unsupported kind ${kind}`);
    const base = apiVersion === "v1" ? "/api/v1" : `/apis/${apiVersion}`;
    const nsPart = md.namespace ? `/namespaces/${md.namespace}` : "";
    created.push(await kube.request<Json>("POST", `${base}${nsPart}/${res}`, doc));
  }
  return created;
}

/** A bound service-account token from the TokenRequest API (what a projected volume would mount). */
export async function requestServiceAccountToken(kube: KubeApiserver, namespace: string, name: string): Promise<string> {
  const res = await kube.request<{ status: { token: string } }>(
    "POST",
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } },
  );
  return res.status.token;
}

export const fakeDigest = (seed: string) => `sha256:${crypto.createHash("sha256").update(seed).digest("hex")}`;
