// Signet's admission webhook for tests and the admission benchmark: a throwaway CA and serving
// certificates made with openssl (as kube-apiserver.ts makes the API server's), the webhook process
// (scripts/webhook.ts) on a free loopback port, and raw HTTPS calls to it.
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { Agent, request } from "undici";
import { freePort } from "@/tests/support/kube-apiserver";
import { spawnTs, waitFor, type Spawned } from "@/tests/support/process";

const run = promisify(execFile);
const openssl = (args: string[], cwd: string) => run("openssl", args, { cwd });

export interface WebhookPki {
  dir: string;
  caPem: string;
  certFile: string;
  keyFile: string;
}

/** A CA and a serving certificate for 127.0.0.1 in `dir` (serving.crt / serving.key). */
export async function createWebhookPki(dir: string): Promise<WebhookPki> {
  const ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
  await openssl(["genpkey", ...ec, "-out", "ca.key"], dir);
  await openssl(
    ["req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=signet-webhook-test-ca", "-days", "2", "-out", "ca.crt",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    dir,
  );
  await issueServingCertificate(dir, "serving");
  return { dir, caPem: await fs.readFile(path.join(dir, "ca.crt"), "utf8"), certFile: path.join(dir, "serving.crt"), keyFile: path.join(dir, "serving.key") };
}

/** A new key and certificate `<name>.crt` / `<name>.key` for 127.0.0.1 signed by the CA in `dir`; returns its serial (hex, upper case). */
export async function issueServingCertificate(dir: string, name: string): Promise<string> {
  await openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`], dir);
  await fs.writeFile(path.join(dir, "serving.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n");
  await openssl(["req", "-new", "-key", `${name}.key`, "-subj", "/CN=signet-webhook", "-out", `${name}.csr`], dir);
  await openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "serving.ext", "-out", `${name}.crt`], dir);
  const { stdout } = await run("openssl", ["x509", "-in", `${name}.crt`, "-noout", "-serial"], { cwd: dir });
  return stdout.trim().replace(/^serial=/, "").toUpperCase();
}

/** A CA `<name>.crt` / `<name>.key` in `dir` (for the API server's client certificates); returns the certificate's path. */
export async function createCa(dir: string, name: string): Promise<string> {
  await openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`], dir);
  await openssl(
    ["req", "-x509", "-new", "-key", `${name}.key`, "-subj", `/CN=${name}`, "-days", "2", "-out", `${name}.crt`,
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    dir,
  );
  return path.join(dir, `${name}.crt`);
}

/** A client certificate (clientAuth) `<name>.crt` / `<name>.key` with CN `cn`, signed by the CA `<ca>.crt` in `dir`. */
export async function issueClientCertificate(dir: string, ca: string, name: string, cn: string): Promise<{ certFile: string; keyFile: string }> {
  await openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`], dir);
  await fs.writeFile(path.join(dir, `${name}.ext`), "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n");
  await openssl(["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`], dir);
  await openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-days", "2", "-extfile", `${name}.ext`, "-out", `${name}.crt`], dir);
  return { certFile: path.join(dir, `${name}.crt`), keyFile: path.join(dir, `${name}.key`) };
}

/**
 * The API server's admission configuration (--admission-control-config-file) giving the webhook at
 * `host` ("127.0.0.1:8443", or a Service's "name.namespace.svc") a client certificate and/or a token
 * file, as docs/decisions/0018 tells cluster admins to write it. Returns the configuration's path.
 */
export async function writeAdmissionConfiguration(dir: string, host: string, user: { certFile?: string; keyFile?: string; tokenFile?: string }): Promise<string> {
  const kubeconfig = path.join(dir, "webhook-kubeconfig.yaml");
  await fs.writeFile(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "users:",
      `  - name: ${JSON.stringify(host)}`,
      "    user:",
      ...(user.certFile ? [`      client-certificate: ${JSON.stringify(user.certFile)}`, `      client-key: ${JSON.stringify(user.keyFile)}`] : []),
      ...(user.tokenFile ? [`      tokenFile: ${JSON.stringify(user.tokenFile)}`] : []),
      "",
    ].join("\n"),
  );
  const config = path.join(dir, "admission-configuration.yaml");
  await fs.writeFile(
    config,
    [
      "apiVersion: apiserver.config.k8s.io/v1",
      "kind: AdmissionConfiguration",
      "plugins:",
      "  - name: ValidatingAdmissionWebhook",
      "    configuration:",
      "      apiVersion: apiserver.config.k8s.io/v1",
      "      kind: WebhookAdmissionConfiguration",
      `      kubeConfigFile: ${JSON.stringify(kubeconfig)}`,
      "",
    ].join("\n"),
  );
  return config;
}

export interface RunningWebhook {
  url: string;
  port: number;
  spawned: Spawned;
  stop(): Promise<void>;
}

/** Starts scripts/webhook.ts on `port` (default: a free one) of 127.0.0.1 and waits for /healthz. */
export async function startWebhook(pki: WebhookPki, env: Record<string, string | undefined>, port?: number): Promise<RunningWebhook> {
  port ??= await freePort();
  const spawned = spawnTs("scripts/webhook.ts", [], {
    LOG_LEVEL: "warn",
    SIGNET_WEBHOOK_HOST: "127.0.0.1",
    SIGNET_WEBHOOK_PORT: String(port),
    SIGNET_WEBHOOK_CERT_FILE: pki.certFile,
    SIGNET_WEBHOOK_KEY_FILE: pki.keyFile,
    ...env,
  });
  const url = `https://127.0.0.1:${port}`;
  const agent = new Agent({ connect: { ca: pki.caPem } });
  try {
    await waitFor(
      async () => {
        if (spawned.proc.exitCode !== null) throw new Error(`webhook exited: ${spawned.output().slice(-2000)}`);
        const res = await request(`${url}/healthz`, { dispatcher: agent });
        await res.body.dump();
        return res.statusCode === 200 ? true : undefined;
      },
      60_000,
      "the admission webhook's /healthz",
    );
  } finally {
    await agent.close();
  }
  const stop = async () => {
    if (spawned.proc.exitCode !== null || spawned.proc.signalCode !== null) return;
    spawned.proc.kill("SIGTERM");
    const killer = setTimeout(() => spawned.proc.kill("SIGKILL"), 10_000);
    await spawned.exited;
    clearTimeout(killer);
  };
  return { url, port, spawned, stop };
}

const POD_RULE = { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["pods", "pods/ephemeralcontainers"], scope: "Namespaced" };

/** What both of the chart's webhook configurations say alike, for a test webhook on 127.0.0.1:`port`. */
const webhookCommon = (o: { name: string; port: number; caPem: string }, path: "/validate" | "/mutate") => ({
  name: o.name,
  clientConfig: { url: `https://127.0.0.1:${o.port}${path}`, caBundle: Buffer.from(o.caPem).toString("base64") },
  namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", "signet"] }] },
  matchPolicy: "Equivalent",
  sideEffects: "None",
  timeoutSeconds: 10,
  admissionReviewVersions: ["v1"],
});

/** The ValidatingWebhookConfiguration the chart installs, pointing at a test webhook on 127.0.0.1:`port`. */
export function webhookConfiguration(o: { name: string; port: number; caPem: string; failurePolicy: "Fail" | "Ignore" }) {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name: "signet" },
    webhooks: [
      {
        ...webhookCommon(o, "/validate"),
        rules: [
          POD_RULE,
          { apiGroups: ["apps"], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["deployments", "statefulsets", "daemonsets", "replicasets"], scope: "Namespaced" },
          { apiGroups: ["batch"], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["jobs", "cronjobs"], scope: "Namespaced" },
        ],
        failurePolicy: o.failurePolicy,
      },
    ],
  };
}

/** Signet's mutating webhook for pods (POST /mutate: tags pinned to digests), as the chart registers it. */
export function mutatingWebhookConfiguration(o: { name: string; port: number; caPem: string }) {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name: "signet" },
    webhooks: [
      { ...webhookCommon(o, "/mutate"), rules: [POD_RULE], failurePolicy: "Ignore", reinvocationPolicy: "IfNeeded" },
    ],
  };
}

/** An AdmissionReview (admission.k8s.io/v1) of `object`, as the API server sends it. */
export function admissionReview(uid: string, object: Record<string, unknown>, o: { group?: string; version?: string; kind?: string; namespace?: string; operation?: string } = {}) {
  const md = (object.metadata ?? {}) as { name?: string; namespace?: string };
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: o.group ?? "", version: o.version ?? "v1", kind: o.kind ?? String(object.kind ?? "Pod") },
      resource: { group: o.group ?? "", version: o.version ?? "v1", resource: `${String(o.kind ?? object.kind ?? "Pod").toLowerCase()}s` },
      name: md.name,
      namespace: o.namespace ?? md.namespace,
      operation: o.operation ?? "CREATE",
      userInfo: { username: "test" },
      object,
      dryRun: false,
    },
  };
}

/** A pod object with one container per image. */
export function podObject(namespace: string, name: string, images: string[]): Record<string, unknown> {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace }, spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } };
}
