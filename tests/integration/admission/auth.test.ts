import crypto from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Agent, fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { listRejections } from "@/lib/data/rejections";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { savePolicyDocument } from "@/lib/policy/store";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { createNamespace, freePort, startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { waitFor } from "@/tests/support/process";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { generateSigningKey, pushSignedImage } from "@/tests/support/registry-fixtures";
import {
  admissionReview,
  createCa,
  createWebhookPki,
  issueClientCertificate,
  podObject,
  startWebhook,
  webhookConfiguration,
  writeAdmissionConfiguration,
  type RunningWebhook,
  type WebhookPki,
} from "@/tests/support/webhook";

/**
 * Caller authentication of Signet's admission webhook (docs/decisions/0018). A real kube-apiserver
 * started with --admission-control-config-file, whose WebhookAdmissionConfiguration kubeconfig gives
 * the webhook's host a client certificate (signed by the client CA Signet trusts) and a token file,
 * calls the webhook; direct callers without both get 401 and leave no trace in the records or the
 * registry; a certificate of another CA is refused; the accepted tokens rotate without a restart, and
 * the API server follows its own token file. Without caller authentication, records are marked
 * unauthenticated and a flood beyond the per-source rate limit gets 429 without any registry request.
 */
let tdb: TestDatabase;
let db: Db;
let kube: KubeApiserver;
let registry: TestRegistry;
let pki: WebhookPki;
let webhook: RunningWebhook;
let dir: string;
let kubeAgent: Agent;
let client: { certFile: string; keyFile: string };
let rogue: { certFile: string; keyFile: string };
let signetTokens: string;
let apiserverToken: string;
const agents: Agent[] = [];
const digests: Record<string, string> = {};
const token1 = crypto.randomBytes(24).toString("hex");
const token2 = crypto.randomBytes(24).toString("hex");

const WEBHOOK_NAME = "validate.signet.dev";

async function pod(ns: string, name: string, image: string): Promise<{ status: number; message: string }> {
  const res = await fetch(`${kube.url}/api/v1/namespaces/${ns}/pods`, {
    method: "POST",
    dispatcher: kubeAgent,
    headers: { authorization: `Bearer ${kube.tokens.admin}`, "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(podObject(ns, name, [image])),
  });
  const json = (await res.json()) as { message?: string };
  return { status: res.status, message: json.message ?? "" };
}

/** An HTTPS agent trusting the webhook's serving CA, presenting `cert` when given. */
async function agentWith(cert?: { certFile: string; keyFile: string }): Promise<Agent> {
  const tlsCert = cert ? { cert: await fs.readFile(cert.certFile), key: await fs.readFile(cert.keyFile) } : {};
  const agent = new Agent({ connect: { ca: pki.caPem, ...tlsCert } });
  agents.push(agent);
  return agent;
}

/** POSTs an AdmissionReview of a pod running `image` in prod straight to a webhook. */
async function post(target: RunningWebhook, agent: Agent, image: string, opts: { token?: string; name?: string } = {}) {
  const uid = crypto.randomUUID();
  const res = await fetch(`${target.url}/validate`, {
    method: "POST",
    dispatcher: agent,
    headers: { "content-type": "application/json", ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    body: JSON.stringify(admissionReview(uid, podObject("prod", opts.name ?? `direct-${uid.slice(0, 8)}`, [image]))),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as { error?: { code: string; message: string }; response?: { uid: string; allowed: boolean } } };
}

/** Lines of the registry's log that record a request for `repo`. */
const registryRequests = (repo: string) => registry.logs().split("\n").filter((l) => l.includes("response completed") && l.includes(`/v2/${repo}/`)).length;

const admissionEvents = (workload: string) => db.verificationEvent.findMany({ where: { kind: "admission", workload } });
const counts = async () => ({ events: await db.verificationEvent.count({ where: { kind: "admission" } }), rejections: await db.admissionRejection.count() });
const outputLines = (w: RunningWebhook, text: string) => w.spawned.output().split("\n").filter((l) => l.includes(text));

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-webhook-auth-"));
  pki = await createWebhookPki(dir);
  const clientCa = await createCa(dir, "apiserver-client-ca");
  await createCa(dir, "rogue-ca");
  client = await issueClientCertificate(dir, "apiserver-client-ca", "apiserver-client", "kube-apiserver-webhook-client");
  rogue = await issueClientCertificate(dir, "rogue-ca", "rogue-client", "kube-apiserver-webhook-client");
  signetTokens = path.join(dir, "signet-tokens");
  apiserverToken = path.join(dir, "apiserver-token");
  await fs.writeFile(signetTokens, `${token1}\n`);
  await fs.writeFile(apiserverToken, token1);
  const port = await freePort();
  const admissionConfig = await writeAdmissionConfiguration(dir, `127.0.0.1:${port}`, { ...client, tokenFile: apiserverToken });

  [tdb, kube, registry] = await Promise.all([
    createTestDatabase(),
    startKubeApiserver({ extraArgs: [`--admission-control-config-file=${admissionConfig}`] }),
    startRegistry({ logLevel: "info" }),
  ]);
  kubeAgent = new Agent({ connect: { ca: kube.caPem } });
  db = createDb(tdb.url, 4);
  const key = generateSigningKey();
  const h = registry.host;
  digests.signed = (await pushSignedImage(registry.url, h, "apps/signed", key, { tag: "v1" })).digest;
  digests.unsigned = (await pushSignedImage(registry.url, h, "apps/unsigned", key, { sign: false })).digest;
  await savePolicyDocument(
    db,
    parsePolicyDocuments(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: release }
spec:
  mode: enforce
  requireTlog: false
  scope: { namespaces: [prod], images: ["${h}/apps/**"] }
  authorities: [ { name: ci, key: { pem: ${JSON.stringify(key.publicKeyPem)} } } ]`)[0]!,
    { actor: "test" },
  );

  webhook = await startWebhook(
    pki,
    {
      DATABASE_URL: tdb.url,
      SIGNET_DATA_DIR: path.join(dir, "data"),
      SIGNET_REGISTRY_INSECURE: h,
      SIGNET_WEBHOOK_CLUSTER: "test",
      SIGNET_WEBHOOK_CLIENT_CA: clientCa,
      SIGNET_WEBHOOK_TOKEN_FILE: signetTokens,
    },
    port,
  );
  await createNamespace(kube, "prod");
  await kube.request("POST", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", webhookConfiguration({ name: WEBHOOK_NAME, port: webhook.port, caPem: pki.caPem, failurePolicy: "Fail" }));
  await waitFor(async () => ((await pod("prod", `probe-${crypto.randomBytes(3).toString("hex")}`, `${h}/apps/unsigned@${digests.unsigned}`)).status === 403 ? true : undefined), 30_000, "the API server to call the webhook");
});

afterAll(async () => {
  await webhook?.stop();
  await Promise.all([kubeAgent?.close(), ...agents.map((a) => a.close())]);
  await Promise.all([kube?.stop(), registry?.stop()]);
  await db?.$disconnect();
  await tdb?.drop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe("the API server authenticates to the webhook", () => {
  it("with its client certificate and token: an unsigned pod is rejected, a signed one admitted, both recorded as authenticated", async () => {
    const unsigned = await pod("prod", "unsigned", `${registry.host}/apps/unsigned@${digests.unsigned}`);
    expect(unsigned.status).toBe(403);
    expect(unsigned.message).toContain(`admission webhook "${WEBHOOK_NAME}" denied the request`);
    expect(unsigned.message).toContain('policy "release"');
    expect((await pod("prod", "signed", `${registry.host}/apps/signed:v1`)).status).toBe(201);

    const event = await waitFor(async () => (await admissionEvents("Pod/unsigned"))[0], 15_000, "the admission event of Pod/unsigned");
    expect(event.actor).toBe("kube:signet-admin");
    expect((event.details as { caller: unknown }).caller).toEqual({ authenticated: true, via: ["client-certificate", "token"], subject: "kube-apiserver-webhook-client" });
    const rows = await waitFor(async () => {
      const r = (await listRejections(db, { controller: "signet", days: 1, page: 1, pageSize: 50 })).rows.filter((x) => x.workload === "Pod/unsigned");
      return r.length > 0 ? r : undefined;
    }, 15_000, "the rejection of Pod/unsigned");
    expect(rows).toEqual([expect.objectContaining({ decision: "denied", callerAuthenticated: true })]);
    const signed = await waitFor(async () => (await admissionEvents("Pod/signed"))[0], 15_000, "the admission event of Pod/signed");
    expect((signed.details as { decision: string; caller: { authenticated: boolean } })).toMatchObject({ decision: "allowed", caller: { authenticated: true } });
  });
});

describe("callers that do not authenticate", () => {
  it("get 401 before evaluation: nothing recorded, no registry request, one log line without the token", async () => {
    const withCert = await agentWith(client);
    const withRogueCert = await agentWith(rogue);
    const withoutCert = await agentWith();
    const wrongToken = crypto.randomBytes(24).toString("hex");
    const before = await counts();
    const attempts = [
      { agent: withoutCert, token: undefined, message: /client certificate is required/ },
      { agent: withoutCert, token: token1, message: /client certificate is required/ },
      { agent: withCert, token: undefined, message: /bearer token is required/ },
      { agent: withCert, token: wrongToken, message: /bearer token is not accepted/ },
      { agent: withRogueCert, token: token1, message: /not signed by the webhook's client CA/ },
    ];
    for (const [i, a] of attempts.entries()) {
      const r = await post(webhook, a.agent, `${registry.host}/apps/probe-${i}:v1`, { token: a.token, name: `forged-${i}` });
      expect(r.status, `attempt ${i}`).toBe(401);
      expect(r.json.error?.code).toBe("unauthenticated");
      expect(r.json.error?.message).toMatch(a.message);
      expect(r.json.response).toBeUndefined();
    }
    // an authenticated review after them: once it is recorded, anything queued before it would be too
    const marker = await post(webhook, withCert, `${registry.host}/apps/unsigned@${digests.unsigned}`, { token: token1, name: "marker" });
    expect(marker).toMatchObject({ status: 200, json: { response: { allowed: false } } });
    await waitFor(async () => ((await admissionEvents("Pod/marker")).length === 1 ? true : undefined), 15_000, "the marker's admission event");
    expect(await counts()).toEqual({ events: before.events + 1, rejections: before.rejections + 1 });
    expect(await db.verificationEvent.count({ where: { kind: "admission", workload: { startsWith: "Pod/forged-" } } })).toBe(0);
    for (let i = 0; i < attempts.length; i++) expect(registryRequests(`apps/probe-${i}`), `probe-${i}`).toBe(0);
    // counted, logged once for the source within the interval, never with what was presented
    expect(outputLines(webhook, "the caller did not authenticate")).toHaveLength(1);
    expect(outputLines(webhook, "the caller did not authenticate")[0]).toContain('"source":"127.0.0.1"');
    expect(webhook.spawned.output()).not.toContain(wrongToken);
    expect(webhook.spawned.output()).not.toContain(token1);
  });

  it("refuses a certificate of another CA at the same address the API server's passes", async () => {
    const r = await post(webhook, await agentWith(rogue), `${registry.host}/apps/signed:v1`, { token: token1 });
    expect(r.status).toBe(401);
    const ok = await post(webhook, await agentWith(client), `${registry.host}/apps/signed:v1`, { token: token1 });
    expect(ok).toMatchObject({ status: 200, json: { response: { allowed: true } } });
  });
});

describe("token rotation", () => {
  it("takes effect without a restart, and the API server follows its token file", async () => {
    const withCert = await agentWith(client);
    const image = `${registry.host}/apps/signed:v1`;
    const pid = webhook.spawned.proc.pid;
    // step 1: Signet accepts the new token beside the old one
    await fs.writeFile(signetTokens, `${token2}\n# rotating out:\n${token1}\n`);
    await waitFor(async () => ((await post(webhook, withCert, image, { token: token2 })).status === 200 ? true : undefined), 20_000, "the new token accepted");
    expect((await post(webhook, withCert, image, { token: token1 })).status).toBe(200);
    // step 2: the API server's token file gets the new token; step 3: Signet drops the old one
    await fs.writeFile(apiserverToken, token2);
    await fs.writeFile(signetTokens, `${token2}\n`);
    await waitFor(async () => ((await post(webhook, withCert, image, { token: token1 })).status === 401 ? true : undefined), 20_000, "the old token refused");
    expect((await post(webhook, withCert, image, { token: token2 })).status).toBe(200);
    expect(webhook.spawned.proc.pid).toBe(pid);
    expect(webhook.spawned.proc.exitCode).toBeNull();
    // the API server re-reads its token file (client-go caches it for a minute): pods are decided again
    let n = 0;
    const decided = await waitFor(async () => {
      const r = await pod("prod", `after-rotation-${n++}`, `${registry.host}/apps/unsigned@${digests.unsigned}`);
      return r.status === 403 ? r : undefined;
    }, 150_000, "the API server to send the rotated token");
    expect(decided.message).toContain('policy "release"');
  }, 200_000);
});

describe("client CA rotation", () => {
  it("a certificate of a new CA is refused until the CA file names it, then accepted; a CA that does not load is not taken; no restart", async () => {
    const caFile = path.join(dir, "apiserver-client-ca.crt");
    const original = await fs.readFile(caFile, "utf8");
    await createCa(dir, "next-client-ca");
    const next = await issueClientCertificate(dir, "next-client-ca", "next-client", "kube-apiserver-webhook-client");
    const nextCa = await fs.readFile(path.join(dir, "next-client-ca.crt"), "utf8");
    const image = `${registry.host}/apps/signed:v1`;
    const pid = webhook.spawned.proc.pid;
    // a new connection per request: the handshake is where the CA in force is applied
    const fresh = async (cert: { certFile: string; keyFile: string }) => (await post(webhook, await agentWith(cert), image, { token: token2 })).status;
    // the file as a Secret volume updates it: `ca.crt` -> `..data/ca.crt`, `..data` -> a timestamped
    // directory swapped for a new one (a rename: atomic) on every update
    const volume = path.join(dir, "client-ca-volume");
    let version = 0;
    const publish = async (content: string) => {
      const at = `..${++version}`;
      await fs.mkdir(path.join(volume, at), { recursive: true });
      await fs.writeFile(path.join(volume, at, "ca.crt"), content);
      await fs.symlink(at, path.join(volume, "..data_tmp"));
      await fs.rename(path.join(volume, "..data_tmp"), path.join(volume, "..data"));
    };
    expect(await fresh(next)).toBe(401);
    try {
      // step 1 of a rotation: the new CA beside the old one (the configured path becomes the volume's link)
      await publish(`${nextCa}${original}`);
      await fs.symlink(path.join(volume, "..data", "ca.crt"), `${caFile}.link`);
      await fs.rename(`${caFile}.link`, caFile);
      await waitFor(async () => ((await fresh(next)) === 200 ? true : undefined), 20_000, "the new CA's certificate accepted");
      expect(await fresh(client)).toBe(200);
      // a caller with the old CA's certificate keeps its connection busy (as the API server does)
      const kept = await agentWith(client);
      const skip = async () => {
        const res = await fetch(`${webhook.url}/validate`, {
          method: "POST",
          dispatcher: kept,
          headers: { "content-type": "application/json", authorization: `Bearer ${token2}` },
          body: JSON.stringify(admissionReview(crypto.randomUUID(), { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm", namespace: "prod" } })),
        });
        await res.arrayBuffer();
        return res.status;
      };
      expect(await skip()).toBe(200);
      let busy = true;
      const statuses: number[] = [];
      const keptBusy = (async () => {
        while (busy) {
          statuses.push(await skip().catch(() => 0));
          await new Promise((r) => setTimeout(r, 300));
        }
      })();
      try {
        // step 2: the old CA removed: its certificates are refused, the new one's still accepted
        await publish(nextCa);
        await waitFor(async () => ((await fresh(client)) === 401 ? true : undefined), 20_000, "the old CA's certificate refused");
        expect(await fresh(next)).toBe(200);
        // ... on a connection made before the change too: the CA is in force for every request after it
        const seen = statuses.length;
        await waitFor(async () => (statuses.slice(seen).includes(401) ? true : undefined), 15_000, "the old CA's certificate refused on a connection made before the change");
        expect(statuses.slice(seen).at(-1)).toBe(401);
      } finally {
        busy = false;
        await keptBusy;
      }
      expect(await fresh(rogue)).toBe(401);
      // an update that is not a CA is refused and logged; the CA in force stays
      await publish("not a certificate\n");
      await waitFor(async () => (outputLines(webhook, "webhook certificate not reloaded").length > 0 ? true : undefined), 20_000, "the broken CA refused");
      expect(await fresh(next)).toBe(200);
      expect(await fresh(client)).toBe(401);
      expect(webhook.spawned.proc.pid).toBe(pid);
      expect(webhook.spawned.proc.exitCode).toBeNull();
    } finally {
      // the API server's certificate is the original CA's: trusted again for the tests that follow
      await fs.writeFile(`${caFile}.restore`, original);
      await fs.rename(`${caFile}.restore`, caFile);
      await waitFor(async () => ((await fresh(client)) === 200 ? true : undefined), 20_000, "the original CA restored");
    }
  }, 120_000);
});

describe("without caller authentication", () => {
  let open: RunningWebhook;
  beforeAll(async () => {
    open = await startWebhook(pki, {
      DATABASE_URL: tdb.url,
      SIGNET_DATA_DIR: path.join(dir, "data-open"),
      SIGNET_REGISTRY_INSECURE: registry.host,
      SIGNET_WEBHOOK_CLUSTER: "test",
      // four at once (one for the first test, three for the flood), then one every 100 s: the flood is over in far less
      SIGNET_WEBHOOK_UNAUTHENTICATED_RATE: "0.01",
      SIGNET_WEBHOOK_UNAUTHENTICATED_BURST: "4",
      LOG_LEVEL: "info",
    });
  });
  afterAll(() => open?.stop());

  it("keeps an unauthenticated caller's rejection apart from the authenticated one of the same object", async () => {
    // Pod/marker was denied through the authenticated webhook; the same review unauthenticated gets its own row
    const r = await post(open, await agentWith(), `${registry.host}/apps/unsigned@${digests.unsigned}`, { name: "marker" });
    expect(r).toMatchObject({ status: 200, json: { response: { allowed: false } } });
    const rows = await waitFor(async () => {
      const r = (await listRejections(db, { controller: "signet", days: 1, page: 1, pageSize: 100 })).rows.filter((x) => x.workload === "Pod/marker");
      return r.length === 2 ? r : undefined;
    }, 15_000, "two rejection rows of Pod/marker");
    expect(rows.map((r) => [r.callerAuthenticated, r.count]).sort()).toEqual([
      [false, 1],
      [true, 1],
    ]);
  });

  it("warns at startup, marks its records unauthenticated and answers a flood beyond the limit with 429, asking the registry nothing for it", async () => {
    expect(outputLines(open, "callers are NOT authenticated")).toHaveLength(1);
    const agent = await agentWith();
    const results = [];
    for (let i = 0; i < 20; i++) results.push(await post(open, agent, `${registry.host}/apps/flood-${i}:v1`, { name: `flood-${i}` }));
    const evaluated = results.flatMap((r, i) => (r.status === 200 ? [i] : []));
    const limited = results.flatMap((r, i) => (r.status === 429 ? [i] : []));
    expect(evaluated).toEqual([0, 1, 2]);
    expect(limited).toHaveLength(17);
    expect(results[3]!.json.error?.code).toBe("rate_limited");
    expect(Number(results[3]!.headers.get("retry-after"))).toBeGreaterThan(0);

    // the evaluated three asked the registry (their tags do not exist: denied as unresolvable) and were recorded, marked
    const events = await waitFor(async () => {
      const e = await db.verificationEvent.findMany({ where: { kind: "admission", workload: { startsWith: "Pod/flood-" } } });
      return e.length === 3 ? e : undefined;
    }, 30_000, "the three evaluated reviews' events");
    expect(events.map((e) => e.workload).sort()).toEqual(["Pod/flood-0", "Pod/flood-1", "Pod/flood-2"]);
    for (const e of events) {
      expect(e.actor).toBe("kube:test (unauthenticated caller)");
      expect((e.details as { caller: unknown }).caller).toEqual({ authenticated: false, source: "127.0.0.1" });
    }
    for (const i of evaluated) expect(registryRequests(`apps/flood-${i}`), `flood-${i}`).toBeGreaterThan(0);
    for (const i of limited) expect(registryRequests(`apps/flood-${i}`), `flood-${i}`).toBe(0);
    const rows = (await listRejections(db, { controller: "signet", days: 1, page: 1, pageSize: 100, q: "flood-" })).rows;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.callerAuthenticated === false)).toBe(true);
    expect(outputLines(open, "over the rate limit of unauthenticated callers")).toHaveLength(1);
  });

});
