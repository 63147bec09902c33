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

export interface RunningWebhook {
  url: string;
  port: number;
  spawned: Spawned;
  stop(): Promise<void>;
}

/** Starts scripts/webhook.ts on a free 127.0.0.1 port and waits for /healthz. */
export async function startWebhook(pki: WebhookPki, env: Record<string, string | undefined>): Promise<RunningWebhook> {
  const port = await freePort();
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
