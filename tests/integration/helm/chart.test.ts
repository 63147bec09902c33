import { execFile, spawn } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { createDb, type Db } from "@/lib/db/client";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { installCrd, looseCrd, requestServiceAccountToken, startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { ROOT, waitFor } from "@/tests/support/process";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { generateSigningKey, pushSignedImage } from "@/tests/support/registry-fixtures";
import { saveSigningPolicy, seedPods } from "@/tests/support/scan";

const execFileP = promisify(execFile);
const CHART = path.join(ROOT, "deploy/helm/signet");
const HELM = process.env.HELM_BIN ?? path.join(process.env.SIGNET_CACHE ?? path.join(ROOT, ".cache"), "tools/bin/helm");

type Json = Record<string, any>;

/** Where each kind the chart renders lives in the API. */
const RESOURCES: Record<string, string> = {
  ServiceAccount: "serviceaccounts",
  Secret: "secrets",
  Service: "services",
  ClusterRole: "clusterroles",
  ClusterRoleBinding: "clusterrolebindings",
  Deployment: "deployments",
  StatefulSet: "statefulsets",
  Ingress: "ingresses",
  NetworkPolicy: "networkpolicies",
  ServiceMonitor: "servicemonitors",
  ValidatingWebhookConfiguration: "validatingwebhookconfigurations",
  MutatingWebhookConfiguration: "mutatingwebhookconfigurations",
};

/**
 * The Helm chart with real helm (v4, built from the Go module proxy) and a real kube-apiserver: lint,
 * every rendered object accepted by the API server (server-side apply, dry run, strict field
 * validation), `helm install`, and the chart's ServiceAccount used the way a pod uses it (a bound
 * token from the TokenRequest API mounted at the in-cluster path, KUBERNETES_SERVICE_HOST/PORT set):
 * a full `signet scan` succeeds with exactly the chart's RBAC, and what the chart does not grant is
 * refused.
 */
describe("deploy/helm/signet", () => {
  let kube: KubeApiserver;
  let registry: TestRegistry;
  let tdb: TestDatabase;
  let db: Db;
  let tmp: string;
  const helm = async (args: string[]) => {
    try {
      return (await execFileP(HELM, args, { cwd: ROOT, env: { ...process.env, HOME: tmp, HELM_CACHE_HOME: path.join(tmp, "helm") } })).stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`helm ${args.join(" ")}: ${e.stderr || e.message}`);
    }
  };
  /** Every rendered object accepted by the API server (server-side apply, dry run, strict field validation); the namespace is made if missing. */
  const expectValid = async (docs: Json[]) => {
    await kube.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "signet" } }, { allow: [409] });
    for (const doc of docs) {
      const apiBase = doc.apiVersion === "v1" ? "/api/v1" : `/apis/${doc.apiVersion}`;
      const ns = doc.metadata.namespace ? `/namespaces/${doc.metadata.namespace}` : "";
      const res = await kube.request<Json>("PATCH", `${apiBase}${ns}/${RESOURCES[doc.kind]}/${doc.metadata.name}?dryRun=All&fieldManager=signet-test&fieldValidation=Strict`, doc, { contentType: "application/apply-patch+yaml" });
      expect(res.kind).toBe(doc.kind);
    }
  };
  const values = (extra: string[] = []) => ["--set", "image.repository=registry.example.com/signet", "--set", "image.digest=sha256:" + "1".repeat(64), ...extra];

  beforeAll(async () => {
    [kube, registry, tdb, tmp] = await Promise.all([startKubeApiserver(), startRegistry(), createTestDatabase(), fs.mkdtemp(path.join(os.tmpdir(), "signet-helm-"))]);
    db = createDb(tdb.url, 2);
  }, 120_000);
  afterAll(async () => {
    await db?.$disconnect();
    await Promise.all([kube?.stop(), registry?.stop()]);
    await tdb?.drop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it("lints, and every object it renders is valid for the API server (all options on)", async () => {
    expect(await helm(["lint", "--strict", CHART, ...values(["--set", "secrets.databaseUrl=postgresql://u:p@db:5432/signet"])])).toContain("0 chart(s) failed");
    // required values fail rendering with a readable message
    await expect(helm(["template", "x", CHART])).rejects.toThrow(/secrets.databaseUrl is required|image.repository is required/);

    const rendered = await helm([
      "template", "signet", CHART, "--namespace", "signet",
      ...values(["--set", "postgresql.enabled=true", "--set", "ingress.enabled=true", "--set", "ingress.tlsSecretName=signet-tls", "--set", "rbac.readSecrets=true", "--set", "web.publicUrl=https://signet.example.com", "--set", "env.LOG_LEVEL=debug", "--set", "metrics.token=scrape-0123456789abcdef", "--set", "metrics.serviceMonitor.enabled=true", "--set", "openReports.enabled=true"]),
    ]);
    const docs = YAML.parseAllDocuments(rendered).map((d) => d.toJS() as Json).filter(Boolean);
    expect(docs.map((d) => d.kind).sort()).toEqual(
      ["ClusterRole", "ClusterRoleBinding", "Deployment", "Deployment", "Ingress", "NetworkPolicy", "NetworkPolicy", "NetworkPolicy", "Secret", "Service", "Service", "Service", "ServiceAccount", "ServiceMonitor", "StatefulSet"].sort(),
    );
    // prometheus-operator's CRD, as a cluster with it installed has (its schema is not what is tested here)
    await installCrd(kube, looseCrd("monitoring.coreos.com", "ServiceMonitor", "servicemonitors", "Namespaced", ["v1"]));
    await expectValid(docs);

    // restricted pod security on every pod and container
    for (const d of docs.filter((x) => x.kind === "Deployment" || x.kind === "StatefulSet")) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
      for (const c of pod.containers) expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    }
    const web = docs.find((d) => d.kind === "Deployment" && d.metadata.name.endsWith("-web"))!;
    expect(web.spec.template.spec.containers[0].readinessProbe.httpGet.path).toBe("/api/health");
    // metrics: the worker's port, the token from the Secret for both
    const worker = docs.find((d) => d.kind === "Deployment" && d.metadata.name.endsWith("-worker"))!.spec.template.spec.containers[0];
    expect(worker.env).toEqual(expect.arrayContaining([{ name: "SIGNET_METRICS_PORT", value: "9464" }, { name: "SIGNET_METRICS_TOKEN", valueFrom: { secretKeyRef: { name: "signet-secrets", key: "SIGNET_METRICS_TOKEN" } } }]));
    expect(docs.find((d) => d.kind === "ServiceMonitor")!.spec.endpoints.map((e: Json) => e.path)).toEqual(["/api/metrics", "/metrics"]);
    // rbac.readSecrets turns on the worker's use of pull secrets
    expect(worker.env).toEqual(expect.arrayContaining([{ name: "SIGNET_PULL_SECRETS", value: "true" }]));

    // the reader rules are deploy/rbac.yaml's, plus `get` on Secrets only when asked for
    const rbacYaml = YAML.parseAllDocuments(await fs.readFile(path.join(ROOT, "deploy/rbac.yaml"), "utf8")).map((d) => d.toJS() as Json);
    const referenceRules = rbacYaml.find((d) => d.kind === "ClusterRole")!.rules;
    const role = docs.find((d) => d.kind === "ClusterRole")!;
    expect(role.rules).toEqual([
      ...referenceRules,
      { apiGroups: ["openreports.io"], resources: ["reports"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
      { apiGroups: [""], resources: ["secrets", "serviceaccounts"], verbs: ["get"] },
    ]);
  });

  it("renders the admission webhook only when enabled: valid objects, exclusions, failure policy, timeout and budget as values", async () => {
    const base = ["template", "signet", CHART, "--namespace", "signet", ...values(["--set", "secrets.databaseUrl=postgresql://u:p@db:5432/signet"])];
    expect(await helm(base)).not.toContain("ValidatingWebhookConfiguration");
    const rendered = await helm([
      ...base,
      "--set", "admissionWebhook.enabled=true", "--set", "admissionWebhook.failurePolicy=Ignore", "--set", "admissionWebhook.timeoutSeconds=12",
      "--set", "admissionWebhook.budgetMs=9000", "--set", "admissionWebhook.excludeNamespaces={ops}",
    ]);
    const docs = YAML.parseAllDocuments(rendered).map((d) => d.toJS() as Json).filter(Boolean);
    const vwc = docs.find((d) => d.kind === "ValidatingWebhookConfiguration")!;
    const hook = vwc.webhooks[0];
    expect(hook).toMatchObject({ name: "validate.signet.dev", failurePolicy: "Ignore", timeoutSeconds: 12, sideEffects: "None", matchPolicy: "Equivalent", admissionReviewVersions: ["v1"] });
    expect(hook.clientConfig.service).toEqual({ name: "signet-webhook", namespace: "signet", path: "/validate", port: 443 });
    expect(hook.namespaceSelector.matchExpressions[0]).toEqual({ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["signet", "kube-system", "ops"] });
    expect(hook.rules.flatMap((r: Json) => r.resources).sort()).toEqual(["cronjobs", "daemonsets", "deployments", "jobs", "pods", "pods/ephemeralcontainers", "replicasets", "statefulsets"]);
    // the generated CA signed the serving certificate the Deployment mounts
    const tlsSecret = docs.find((d) => d.kind === "Secret" && d.metadata.name === "signet-webhook-tls")!;
    expect(hook.clientConfig.caBundle).toBe(tlsSecret.data["ca.crt"]);
    const { X509Certificate } = await import("node:crypto");
    const ca = new X509Certificate(Buffer.from(tlsSecret.data["ca.crt"], "base64"));
    const cert = new X509Certificate(Buffer.from(tlsSecret.data["tls.crt"], "base64"));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subjectAltName).toContain("DNS:signet-webhook.signet.svc");
    const deployment = docs.find((d) => d.kind === "Deployment" && d.metadata.name === "signet-webhook")!.spec.template.spec;
    expect(deployment.containers[0].args).toEqual(["webhook"]);
    expect(deployment.containers[0].env).toEqual(expect.arrayContaining([{ name: "SIGNET_WEBHOOK_FAILURE_POLICY", value: "Ignore" }, { name: "SIGNET_WEBHOOK_BUDGET_MS", value: "9000" }]));
    expect(deployment.volumes).toContainEqual({ name: "tls", secret: { secretName: "signet-webhook-tls" } });
    // the mutating half (tags pinned to digests): pods only, never refusing, the same CA and exclusions
    const mwc = docs.find((d) => d.kind === "MutatingWebhookConfiguration")!.webhooks[0];
    expect(mwc).toMatchObject({ name: "pin.signet.dev", failurePolicy: "Ignore", reinvocationPolicy: "IfNeeded", timeoutSeconds: 12, sideEffects: "None" });
    expect(mwc.clientConfig).toEqual({ service: { name: "signet-webhook", namespace: "signet", path: "/mutate", port: 443 }, caBundle: tlsSecret.data["ca.crt"] });
    expect(mwc.rules.flatMap((r: Json) => r.resources).sort()).toEqual(["pods", "pods/ephemeralcontainers"]);
    expect(mwc.namespaceSelector).toEqual(hook.namespaceSelector);
    expect(rendered).toContain("kind: MutatingWebhookConfiguration");
    expect(await helm([...base, "--set", "admissionWebhook.enabled=true", "--set", "admissionWebhook.pinDigests=false"])).not.toContain("MutatingWebhookConfiguration");
    // every object valid for the API server (dry run, strict fields)
    await expectValid(docs);
    // a budget the API server would not wait for, and a Secret without its CA, are refused
    await expect(helm([...base, "--set", "admissionWebhook.enabled=true", "--set", "admissionWebhook.budgetMs=10000"])).rejects.toThrow(/budgetMs must be less than timeoutSeconds/);
    await expect(helm([...base, "--set", "admissionWebhook.enabled=true", "--set", "admissionWebhook.tls.secretName=mine"])).rejects.toThrow(/caBundle \(or caInjectFrom\) is required/);
  });

  it("configures the webhook's caller authentication: a generated client CA and certificate for the API server, a token Secret, the rate limit without them", async () => {
    const base = ["template", "signet", CHART, "--namespace", "signet", ...values(["--set", "secrets.databaseUrl=postgresql://u:p@db:5432/signet", "--set", "admissionWebhook.enabled=true"])];
    const envOf = (docs: Json[]) => docs.find((d) => d.kind === "Deployment" && d.metadata.name === "signet-webhook")!.spec.template.spec.containers[0].env as Json[];
    const parse = (text: string) => YAML.parseAllDocuments(text).map((d) => d.toJS() as Json).filter(Boolean);

    // none configured: the webhook evaluates unauthenticated callers under the rate limit
    const open = parse(await helm([...base, "--set", "admissionWebhook.unauthenticatedRateLimit.perSecond=50"]));
    expect(envOf(open)).toEqual(expect.arrayContaining([{ name: "SIGNET_WEBHOOK_UNAUTHENTICATED_RATE", value: "50" }, { name: "SIGNET_WEBHOOK_UNAUTHENTICATED_BURST", value: "100" }]));
    expect(envOf(open).map((e) => e.name)).not.toContain("SIGNET_WEBHOOK_CLIENT_CA");
    expect(open.some((d) => d.kind === "NetworkPolicy" && d.metadata.name === "signet-webhook")).toBe(true);

    const docs = parse(await helm([...base, "--set", "admissionWebhook.callerAuth.clientCertificate.generate=true", "--set", "admissionWebhook.callerAuth.token.secretName=webhook-tokens"]));
    const env = envOf(docs);
    expect(env).toEqual(expect.arrayContaining([
      { name: "SIGNET_WEBHOOK_CLIENT_CA", value: "/etc/signet/webhook-client-ca/ca.crt" },
      { name: "SIGNET_WEBHOOK_TOKEN_FILE", value: "/etc/signet/webhook-tokens/tokens" },
    ]));
    const pod = docs.find((d) => d.kind === "Deployment" && d.metadata.name === "signet-webhook")!.spec.template.spec;
    // the webhook mounts only the client CA, never the API server's client key
    expect(pod.volumes).toContainEqual({ name: "client-ca", secret: { secretName: "signet-webhook-client", items: [{ key: "ca.crt", path: "ca.crt" }] } });
    expect(pod.volumes).toContainEqual({ name: "tokens", secret: { secretName: "webhook-tokens", items: [{ key: "tokens", path: "tokens" }] } });
    expect(pod.containers[0].volumeMounts).toEqual(expect.arrayContaining([
      { name: "client-ca", mountPath: "/etc/signet/webhook-client-ca", readOnly: true },
      { name: "tokens", mountPath: "/etc/signet/webhook-tokens", readOnly: true },
    ]));
    // the generated client certificate chains to the generated CA and may authenticate a TLS client
    const client = docs.find((d) => d.kind === "Secret" && d.metadata.name === "signet-webhook-client")!;
    const { X509Certificate, createPrivateKey } = await import("node:crypto");
    const ca = new X509Certificate(Buffer.from(client.data["ca.crt"], "base64"));
    const cert = new X509Certificate(Buffer.from(client.data["tls.crt"], "base64"));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subject).toContain("CN=kube-apiserver-webhook-client");
    expect(cert.keyUsage).toContain("1.3.6.1.5.5.7.3.2"); // clientAuth
    expect(cert.checkPrivateKey(createPrivateKey(Buffer.from(client.data["tls.key"], "base64")))).toBe(true);
    // the notes show the AdmissionConfiguration for the webhook's Service host
    const notes = await helm(["install", "signet", CHART, "--namespace", "signet", "--dry-run=client", ...values(["--set", "secrets.databaseUrl=postgresql://u:p@db:5432/signet", "--set", "admissionWebhook.enabled=true", "--set", "admissionWebhook.callerAuth.clientCertificate.generate=true"])]);
    expect(notes).toContain("kind: WebhookAdmissionConfiguration");
    expect(notes).toContain("- name: signet-webhook.signet.svc");
    expect(notes).toContain("client-certificate: /etc/kubernetes/admission/signet-client.crt");
    expect(await helm(["install", "signet", CHART, "--namespace", "signet", "--dry-run=client", ...values(["--set", "secrets.databaseUrl=postgresql://u:p@db:5432/signet", "--set", "admissionWebhook.enabled=true"])])).toContain("WARNING: the admission webhook does not authenticate its caller");
    // every object valid for the API server
    await expectValid(docs);
    await expect(helm([...base, "--set", "admissionWebhook.callerAuth.clientCertificate.generate=true", "--set", "admissionWebhook.callerAuth.clientCertificate.caSecretName=mine"])).rejects.toThrow(/generate or caSecretName, not both/);
  });

  it("installs, and its ServiceAccount runs a full in-cluster scan with exactly the chart's RBAC, writing OpenReports", async () => {
    // the OpenReports CRD from its Go module (scripts/provision/tools.sh crds)
    const crdFile = process.env.OPENREPORTS_CRD ?? path.join(process.env.SIGNET_CACHE ?? path.join(ROOT, ".cache"), "crds/openreports.io_reports-v0.2.1.yaml");
    await installCrd(kube, YAML.parse(await fs.readFile(crdFile, "utf8")) as Json);
    const out = await helm([
      "install", "signet", CHART, "--namespace", "signet", "--create-namespace", "--kubeconfig", kube.kubeconfigPath, "--kube-context", "admin",
      ...values(["--set", `secrets.databaseUrl=${tdb.url}`, "--set", "openReports.enabled=true"]),
    ]);
    expect(out).toContain("STATUS: deployed");
    const sa = await kube.request<Json>("GET", "/api/v1/namespaces/signet/serviceaccounts/signet");
    expect(sa.metadata.name).toBe("signet");
    const secret = await kube.request<Json>("GET", "/api/v1/namespaces/signet/secrets/signet-secrets");
    expect(Buffer.from(Buffer.from(secret.data.SIGNET_SECRET_KEY, "base64").toString(), "base64")).toHaveLength(32);
    // an upgrade keeps the generated key
    await helm(["upgrade", "signet", CHART, "--namespace", "signet", "--kubeconfig", kube.kubeconfigPath, "--kube-context", "admin", ...values(["--set", `secrets.databaseUrl=${tdb.url}`, "--set", "openReports.enabled=true"])]);
    expect((await kube.request<Json>("GET", "/api/v1/namespaces/signet/secrets/signet-secrets")).data.SIGNET_SECRET_KEY).toBe(secret.data.SIGNET_SECRET_KEY);

    // workloads to scan: three signed images, one unsigned
    const key = generateSigningKey();
    const signed = await Promise.all([0, 1, 2].map(() => pushSignedImage(registry.url, registry.host, "apps/web", key)));
    const unsigned = await pushSignedImage(registry.url, registry.host, "apps/tool", key, { sign: false });
    await seedPods(kube, registry.host, signed.map((s) => ({ repo: "apps/web", digest: s.digest })), { perPod: 3, namespaces: 1, prefix: "web" });
    await seedPods(kube, registry.host, [{ repo: "apps/tool", digest: unsigned.digest }], { perPod: 1, namespaces: 1, prefix: "tool" });
    await saveSigningPolicy(db, registry.host, key.publicKeyPem, { mode: "audit" });

    // the pod's view: a bound token of the chart's ServiceAccount at the in-cluster path, in a private
    // mount namespace (a tmpfs over /run), and the apiserver as KUBERNETES_SERVICE_HOST/PORT
    const token = await requestServiceAccountToken(kube, "signet", "signet");
    const saDir = path.join(tmp, "serviceaccount");
    await fs.mkdir(saDir);
    await fs.writeFile(path.join(saDir, "token"), token);
    await fs.writeFile(path.join(saDir, "ca.crt"), kube.caPem);
    await fs.writeFile(path.join(saDir, "namespace"), "signet");
    const script = [
      "set -e",
      "mount -t tmpfs tmpfs /run",
      "mkdir -p /run/secrets/kubernetes.io/serviceaccount",
      `cp '${saDir}'/* /run/secrets/kubernetes.io/serviceaccount/`,
      `exec '${process.execPath}' '${path.join(ROOT, "bin/signet.mjs")}' scan --json`,
    ].join("\n");
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: tmp,
      KUBECONFIG: "",
      SIGNET_KUBE_CONTEXTS: "",
      KUBERNETES_SERVICE_HOST: "127.0.0.1",
      KUBERNETES_SERVICE_PORT: new URL(kube.url).port,
      DATABASE_URL: tdb.url,
      SIGNET_REGISTRY_INSECURE: registry.host,
      LOG_LEVEL: "warn",
      SIGNET_OPENREPORTS: "true",
      SIGNET_SECRET_KEY: Buffer.alloc(32, 7).toString("base64"),
    };
    const scan = () => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("unshare", ["--mount", "--propagation", "private", "sh", "-c", script], { cwd: tmp, env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.once("exit", (code) => resolve({ code, stdout, stderr }));
    });
    const r = await scan();
    expect(r.stderr + r.stdout).not.toMatch(/signet scan:|"level":(40|50|60)/);
    const summary = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
    expect(summary).toMatchObject({
      status: "succeeded",
      clusters: [{ name: "in-cluster", ok: true, errors: [] }],
      images: { total: 4, checked: 4, errors: 0 },
      verdicts: { verified: 3, unsigned: 1 },
    });
    expect(r.code).toBe(0);
    const cluster = await db.cluster.findUniqueOrThrow({ where: { name: "in-cluster" } });
    expect(cluster.source).toBe("in_cluster");

    // OpenReports written with the same token: one Report per workload, results per container × policy
    type Report = { metadata: { name: string; namespace: string; resourceVersion: string }; source: string; summary: Record<string, number>; results: { policy: string; result: string; severity: string; properties: Record<string, string>; resources: { kind: string; name: string }[] }[] };
    const reports = async () => (await kube.request<{ items: Report[] }>("GET", "/apis/openreports.io/v1alpha1/reports")).items;
    // (a list right after a new CRD's first writes can come from a watch cache still catching up)
    const first = await waitFor(async () => ((await reports()).length === 2 ? reports() : undefined), 15_000, "two OpenReports");
    expect(first.map((x) => `${x.metadata.namespace}/${x.metadata.name}`).sort()).toEqual(["tool-0/signet-pod-p-0-0", "web-0/signet-pod-p-0-0"]);
    const web = first.find((x) => x.metadata.namespace === "web-0")!;
    expect(web.source).toBe("signet");
    expect(web.summary).toMatchObject({ pass: 3, fail: 0, warn: 0, error: 0 });
    expect(web.results.map((x) => [x.policy, x.result, x.severity])).toEqual([["release", "pass", "low"], ["release", "pass", "low"], ["release", "pass", "low"]]);
    expect(web.results[0]!.properties).toMatchObject({ container: "c0", digest: signed[0]!.digest, verdict: "verified" });
    expect(web.results[0]!.resources).toEqual([{ apiVersion: "v1", kind: "Pod", name: "p-0-0", namespace: "web-0" }]);
    const tool = first.find((x) => x.metadata.namespace === "tool-0")!;
    // an audit-mode policy: unsigned is a warning
    expect(tool.results.map((x) => [x.result, x.properties.verdict])).toEqual([["warn", "unsigned"]]);

    // the next scan: unchanged reports are left alone, a workload that is gone loses its report
    await kube.request("DELETE", "/api/v1/namespaces/tool-0/pods/p-0-0?gracePeriodSeconds=0");
    const again = await scan();
    expect(again.code, again.stderr).toBe(0);
    const second = await waitFor(async () => ((await reports()).length === 1 ? reports() : undefined), 15_000, "the stale OpenReport deleted");
    expect(second.map((x) => `${x.metadata.namespace}/${x.metadata.name}`)).toEqual(["web-0/signet-pod-p-0-0"]);
    expect(second[0]!.metadata.resourceVersion).toBe(web.metadata.resourceVersion);

    // what the chart does not grant is refused to the same token
    const as = { token, allow: [403] };
    const code = async (method: string, url: string, body?: unknown) => (await kube.request<{ code?: number }>(method, url, body, as))?.code;
    expect(await code("GET", "/api/v1/namespaces/signet/secrets/signet-secrets")).toBe(403);
    expect(await code("DELETE", "/api/v1/namespaces/web-0/pods/p-0-0")).toBe(403);
    expect(await code("GET", "/apis/apps/v1/deployments")).toBe(403);
    expect(await code("POST", "/apis/openreports.io/v1alpha1/clusterreports", { apiVersion: "openreports.io/v1alpha1", kind: "ClusterReport", metadata: { name: "x" } })).toBe(403);

    // rbac.readSecrets: the same token may then read a pod's pull secret and its ServiceAccount (what
    // the worker, told by SIGNET_PULL_SECRETS, reads), and still write neither
    const pull = { apiVersion: "v1", kind: "Secret", metadata: { name: "regcred", namespace: "web-0" }, type: "kubernetes.io/dockerconfigjson", stringData: { ".dockerconfigjson": JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from("u:p").toString("base64") } } }) } };
    await kube.request("POST", "/api/v1/namespaces/web-0/secrets", pull);
    await kube.request("POST", "/api/v1/namespaces/web-0/serviceaccounts", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: "web-0" } });
    expect(await code("GET", "/api/v1/namespaces/web-0/secrets/regcred")).toBe(403);
    expect(await code("GET", "/api/v1/namespaces/web-0/serviceaccounts/default")).toBe(403);
    await helm(["upgrade", "signet", CHART, "--namespace", "signet", "--kubeconfig", kube.kubeconfigPath, "--kube-context", "admin", ...values(["--set", `secrets.databaseUrl=${tdb.url}`, "--set", "openReports.enabled=true", "--set", "rbac.readSecrets=true"])]);
    const deployed = await kube.request<Json>("GET", "/apis/apps/v1/namespaces/signet/deployments/signet-worker");
    expect(deployed.spec.template.spec.containers[0].env).toEqual(expect.arrayContaining([{ name: "SIGNET_PULL_SECRETS", value: "true" }]));
    const read = await waitFor(async () => {
      const r = await kube.request<Json>("GET", "/api/v1/namespaces/web-0/secrets/regcred", undefined, as);
      return r?.code === 403 ? undefined : r;
    }, 15_000, "the widened ClusterRole to apply");
    expect(read).toMatchObject({ kind: "Secret", type: "kubernetes.io/dockerconfigjson" });
    expect(await code("GET", "/api/v1/namespaces/web-0/serviceaccounts/default")).toBeUndefined();
    expect(await code("DELETE", "/api/v1/namespaces/web-0/secrets/regcred")).toBe(403);
    expect(await code("GET", "/api/v1/namespaces/web-0/secrets")).toBe(403);
  }, 180_000);
});
