import crypto from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { Agent, fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { resetEnvCache } from "@/lib/env";
import { getLogger } from "@/lib/log";
import { listRejections } from "@/lib/data/rejections";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { savePolicyDocument } from "@/lib/policy/store";
import { checkImages } from "@/lib/scan/pipeline";
import { createScanAdapters } from "@/lib/scan/real-adapters";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { createNamespace, startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { waitFor } from "@/tests/support/process";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { generateSigningKey, pushSignedImage } from "@/tests/support/registry-fixtures";
import {
  admissionReview,
  createWebhookPki,
  issueServingCertificate,
  mutatingWebhookConfiguration,
  podObject,
  startWebhook,
  webhookConfiguration as vwc,
  type RunningWebhook,
  type WebhookPki,
} from "@/tests/support/webhook";

/**
 * Signet's admission webhook between a real kube-apiserver (calling it over TLS with a test CA), a real
 * registry and PostgreSQL: decisions the API server's clients see, the failure policy when the
 * webhook is away, answers from the store without registry traffic, hostile requests, certificate
 * rotation, and the records (audit log, rejection history).
 */
let tdb: TestDatabase;
let db: Db;
let kube: KubeApiserver;
let registry: TestRegistry;
let pki: WebhookPki;
let webhook: RunningWebhook;
let dir: string;
let kubeAgent: Agent;
const digests: Record<string, string> = {};

const WEBHOOK_NAME = "validate.signet.dev";

async function policy(doc: string) {
  await savePolicyDocument(db, parsePolicyDocuments(doc)[0]!, { actor: "test" });
}

const webhookConfiguration = (failurePolicy: "Fail" | "Ignore", port: number) => vwc({ name: WEBHOOK_NAME, port, caPem: pki.caPem, failurePolicy });

/** Creates an object as the admin and returns the API server's status, body and warnings as a client sees them. */
async function create(apiPath: string, body: unknown): Promise<{ status: number; message: string; warnings: string[] }> {
  const res = await fetch(kube.url + apiPath, {
    method: "POST",
    dispatcher: kubeAgent,
    headers: { authorization: `Bearer ${kube.tokens.admin}`, "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { message?: string };
  const warnings = (res.headers.get("warning") ?? "").split(/,\s*(?=299 )/).filter(Boolean);
  return { status: res.status, message: json.message ?? "", warnings };
}

/** Merge-patches an object as the admin; the API server's status and message. */
async function patch(apiPath: string, body: unknown): Promise<{ status: number; message: string }> {
  const res = await fetch(kube.url + apiPath, {
    method: "PATCH",
    dispatcher: kubeAgent,
    headers: { authorization: `Bearer ${kube.tokens.admin}`, "content-type": "application/merge-patch+json", accept: "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { message?: string };
  return { status: res.status, message: json.message ?? "" };
}

const pod = (ns: string, name: string, image: string) => create(`/api/v1/namespaces/${ns}/pods`, podObject(ns, name, [image]));

/** Lines of the registry's log that record a request for `repo`. */
const registryRequests = (repo: string) => registry.logs().split("\n").filter((l) => l.includes("response completed") && l.includes(`/v2/${repo}/`)).length;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-webhook-"));
  [tdb, kube, registry, pki] = await Promise.all([createTestDatabase(), startKubeApiserver(), startRegistry({ logLevel: "info" }), createWebhookPki(dir)]);
  kubeAgent = new Agent({ connect: { ca: kube.caPem } });
  db = createDb(tdb.url, 4);
  // the scan stage run in this process (checkImages) reads its settings from the environment
  process.env.DATABASE_URL = tdb.url;
  process.env.SIGNET_REGISTRY_INSECURE = registry.host;
  resetEnvCache();

  const key = generateSigningKey();
  const h = registry.host;
  for (const name of ["signed", "scanned"]) digests[name] = (await pushSignedImage(registry.url, h, `apps/${name}`, key, { tag: "v1" })).digest;
  for (const name of ["unsigned", "canary"]) digests[name] = (await pushSignedImage(registry.url, h, `apps/${name}`, key, { sign: false })).digest;
  const pem = JSON.stringify(key.publicKeyPem);
  await policy(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: release }
spec:
  mode: enforce
  requireTlog: false
  scope: { namespaces: [prod], images: ["${h}/apps/**"] }
  authorities: [ { name: ci, key: { pem: ${pem} } } ]`);
  await policy(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: staging-canary }
spec:
  mode: warn
  requireTlog: false
  scope: { namespaces: [staging], images: ["${h}/apps/**"] }
  authorities: [ { name: ci, key: { pem: ${pem} } } ]`);

  webhook = await startWebhook(pki, {
    DATABASE_URL: tdb.url,
    SIGNET_DATA_DIR: path.join(dir, "data"),
    SIGNET_REGISTRY_INSECURE: registry.host,
    SIGNET_WEBHOOK_CLUSTER: "test",
    SIGNET_WEBHOOK_FAILURE_POLICY: "Fail",
  });
  await createNamespace(kube, "prod");
  await createNamespace(kube, "staging");
  await kube.request("POST", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", webhookConfiguration("Fail", webhook.port));
  // the API server picks the configuration up through an informer: wait until it calls the webhook
  await waitFor(async () => ((await pod("prod", `probe-${crypto.randomBytes(3).toString("hex")}`, `${h}/apps/unsigned@${digests.unsigned}`)).status === 403 ? true : undefined), 30_000, "the API server to call the webhook");
});

afterAll(async () => {
  await webhook?.stop();
  await kubeAgent?.close();
  await Promise.all([kube?.stop(), registry?.stop()]);
  await db?.$disconnect();
  await tdb?.drop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe("the API server calls Signet's webhook", () => {
  it("rejects a pod with an unsigned image, naming the policy, the image and the reason", async () => {
    const image = `${registry.host}/apps/unsigned@${digests.unsigned}`;
    const r = await pod("prod", "unsigned", image);
    expect(r.status).toBe(403);
    expect(r.message).toContain(`admission webhook "${WEBHOOK_NAME}" denied the request`);
    expect(r.message).toContain('policy "release"');
    expect(r.message).toContain(image);
    expect(r.message).toMatch(/is unsigned: .*no signature/i);
  });

  it("admits a pod whose image is signed by the policy's key, tag resolved through the registry", async () => {
    const r = await pod("prod", "signed", `${registry.host}/apps/signed:v1`);
    expect(r.status).toBe(201);
    expect(r.warnings).toEqual([]);
  });

  it("rejects a Deployment whose pod template runs an unsigned image", async () => {
    const r = await create("/apis/apps/v1/namespaces/prod/deployments", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: `${registry.host}/apps/unsigned@${digests.unsigned}` }] } },
      },
    });
    expect(r.status).toBe(403);
    expect(r.message).toContain('policy "release"');
  });

  it("admits an UPDATE that runs no new image without evaluating it again; evaluates one that brings a new image", async () => {
    const h = registry.host;
    const created = await create("/apis/apps/v1/namespaces/prod/deployments", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "scaled" },
      spec: { replicas: 1, selector: { matchLabels: { app: "scaled" } }, template: { metadata: { labels: { app: "scaled" } }, spec: { containers: [{ name: "web", image: `${h}/apps/signed:v1` }] } } },
    });
    expect(created.status).toBe(201);
    const decisions = async () =>
      (await db.verificationEvent.findMany({ where: { kind: "admission", workload: "Deployment/scaled" }, orderBy: { occurredAt: "asc" } })).map((e) => {
        const d = e.details as { decision: string; operation: string };
        return `${d.operation} ${d.decision}`;
      });
    await waitFor(async () => ((await decisions()).length === 1 ? true : undefined), 15_000, "the Deployment's CREATE recorded");
    const before = registryRequests("apps/signed");
    // a scale and a label change keep the image: admitted, the tag not even resolved again
    expect((await patch("/apis/apps/v1/namespaces/prod/deployments/scaled", { spec: { replicas: 3 } })).status).toBe(200);
    expect((await patch("/apis/apps/v1/namespaces/prod/deployments/scaled", { metadata: { labels: { tier: "web" } } })).status).toBe(200);
    // a new image is evaluated like a CREATE
    const changed = await patch("/apis/apps/v1/namespaces/prod/deployments/scaled", { spec: { template: { spec: { containers: [{ name: "web", image: `${h}/apps/unsigned@${digests.unsigned}` }] } } } });
    expect(changed.status).toBe(403);
    expect(changed.message).toContain('policy "release"');
    await waitFor(async () => ((await decisions()).length === 2 ? true : undefined), 15_000, "the denied UPDATE recorded");
    expect(await decisions()).toEqual(["CREATE allowed", "UPDATE denied"]);
    expect(registryRequests("apps/signed")).toBe(before);
  });

  it("admits under a warn policy with a warning the client sees", async () => {
    const r = await pod("staging", "canary", `${registry.host}/apps/canary@${digests.canary}`);
    expect(r.status).toBe(201);
    expect(r.warnings.join("\n")).toMatch(/staging-canary.{0,4} \(warn\)/);
    expect(r.warnings.join("\n")).toContain("unsigned");
  });

  it("answers a digest a scan verified from the store, without any registry request", async () => {
    // the scan's image check stage, for an image no pod runs yet
    const image = await db.image.create({ data: { registry: registry.host, repository: "apps/scanned", digest: digests.scanned! } });
    await checkImages({ db, adapters: createScanAdapters(), log: getLogger(), evidenceMaxAgeMs: 3_600_000, enqueueImageCheck: async () => undefined }, { imageIds: [image.id], mode: "scan" });
    expect((await db.image.findUniqueOrThrow({ where: { id: image.id } })).discovery).toBe("found");
    const before = registryRequests("apps/scanned");
    expect(before).toBeGreaterThan(0); // the scan's own requests are in the log

    const r = await pod("prod", "scanned", `${registry.host}/apps/scanned@${digests.scanned}`);
    expect(r.status).toBe(201);
    const event = await waitFor(
      async () => (await db.verificationEvent.findMany({ where: { kind: "admission", workload: "Pod/scanned" } }))[0],
      15_000,
      "the admission event of Pod/scanned",
    );
    expect((event.details as { images: { source: string }[] }).images[0]!.source).toBe("store");
    expect(registryRequests("apps/scanned")).toBe(before);
  });
});

describe("hostile requests get clean answers", () => {
  let agent: Agent;
  beforeAll(() => {
    agent = new Agent({ connect: { ca: pki.caPem } });
  });
  afterAll(() => agent.close());
  const post = async (body: string | Buffer, headers: Record<string, string> = {}) => {
    const res = await fetch(`${webhook.url}/validate`, { method: "POST", dispatcher: agent, headers: { "content-type": "application/json", ...headers }, body });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it("refuses a body over 3 MiB, malformed JSON and something that is not an AdmissionReview with the error envelope", async () => {
    // the answer comes before the client has written the body: it must still read the 413, not a broken pipe
    for (let i = 0; i < 5; i++) {
      const huge = await post(Buffer.alloc(4 * 1024 * 1024, 0x20));
      expect(huge.status).toBe(413);
      expect(huge.json).toMatchObject({ error: { code: "payload_too_large" } });
    }
    // the same without a declared length (chunked): refused once the limit is crossed
    const streamed = await fetch(`${webhook.url}/validate`, {
      method: "POST",
      dispatcher: agent,
      headers: { "content-type": "application/json" },
      body: (async function* () {
        for (let i = 0; i < 8; i++) yield Buffer.alloc(512 * 1024, 0x20);
      })(),
      duplex: "half",
    });
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toMatchObject({ error: { code: "payload_too_large" } });
    const malformed = await post('{"apiVersion": "admission.k8s.io/v1", "kind": ');
    expect(malformed).toMatchObject({ status: 400, json: { error: { code: "bad_request", message: "The body is not JSON." } } });
    const v1beta1 = await post(JSON.stringify({ ...admissionReview("u1", podObject("prod", "x", ["nginx"])), apiVersion: "admission.k8s.io/v1beta1" }));
    expect(v1beta1.status).toBe(400);
    expect(String((v1beta1.json.error as { message: string }).message)).toContain("apiVersion");
  });

  it("admits a kind it does not evaluate and refuses a pod without a readable spec, echoing the uid", async () => {
    const configMap = await post(JSON.stringify(admissionReview("uid-cm", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "prod" }, data: {} })));
    expect(configMap).toMatchObject({ status: 200, json: { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: "uid-cm", allowed: true } } });
    const broken = await post(JSON.stringify(admissionReview("uid-broken", { apiVersion: "v1", kind: "Pod", metadata: { name: "b", namespace: "prod" }, spec: { containers: "nope" } })));
    expect(broken.status).toBe(200);
    expect(broken.json.response).toMatchObject({ uid: "uid-broken", allowed: false, status: { code: 400 } });
  });

  it("serves a rotated certificate without a restart", async () => {
    const serialOf = () =>
      new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: "127.0.0.1", port: webhook.port, ca: pki.caPem }, () => {
          resolve(s.getPeerCertificate().serialNumber.toUpperCase());
          s.end();
        });
        s.once("error", reject);
      });
    const before = await serialOf();
    const serial = await issueServingCertificate(pki.dir, "rotated");
    expect(serial).not.toBe(before);
    // a Secret volume update swaps both files; write the key first, the certificate last
    await fs.copyFile(path.join(pki.dir, "rotated.key"), pki.keyFile);
    await fs.copyFile(path.join(pki.dir, "rotated.crt"), pki.certFile);
    await waitFor(async () => ((await serialOf()) === serial ? true : undefined), 20_000, "the rotated certificate");
    expect(webhook.spawned.proc.exitCode).toBeNull();
  });
});

describe("records", () => {
  it("keeps every decision in the audit log and the denials and warnings beside other controllers' rejections", async () => {
    const rows = await waitFor(async () => {
      const r = await listRejections(db, { controller: "signet", days: 1, page: 1, pageSize: 50 });
      return r.rows.some((x) => x.workload === "Deployment/web") && r.rows.some((x) => x.decision === "warned") ? r.rows : undefined;
    }, 15_000, "Signet's rejections");
    expect(rows.find((r) => r.workload === "Pod/unsigned")).toMatchObject({ controller: "signet", decision: "denied", policyName: "release", cluster: "test", namespace: "prod" });
    expect(rows.find((r) => r.workload === "Pod/canary")).toMatchObject({ decision: "warned", policyName: "staging-canary" });
    const events = await db.verificationEvent.findMany({ where: { kind: "admission" } });
    const decisionOf = (w: string) => events.filter((e) => e.workload === w).map((e) => (e.details as { decision: string }).decision);
    expect(decisionOf("Pod/unsigned")).toEqual(["denied"]);
    expect(decisionOf("Pod/signed")).toEqual(["allowed"]);
    expect(decisionOf("Pod/canary")).toEqual(["warned"]);
    expect(decisionOf("Deployment/web")).toEqual(["denied"]);
    // no caller authentication is configured here: every record says its caller did not authenticate
    expect(rows.every((r) => r.callerAuthenticated === false)).toBe(true);
    expect(events.every((e) => e.actor === "kube:signet-admin (unauthenticated caller)")).toBe(true);
    expect((events[0]!.details as { caller: unknown }).caller).toEqual({ authenticated: false, source: "127.0.0.1" });
  });
});

describe("the mutating half pins tags under enforce policies to the digest the decision is about", () => {
  const MUTATING = "pin.signet.dev";
  let key: ReturnType<typeof generateSigningKey>;
  const imageOf = async (ns: string, name: string) =>
    (await kube.request<{ spec: { containers: { image: string }[] } }>("GET", `/api/v1/namespaces/${ns}/pods/${name}`)).spec.containers[0]!.image;

  beforeAll(async () => {
    key = generateSigningKey();
    // the release policy's key signs "moving"; the tag will be moved to an unsigned image later
    await policy(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: moving }
spec:
  mode: enforce
  requireTlog: false
  scope: { namespaces: [prod, staging], images: ["${registry.host}/pinned/**"] }
  authorities: [ { name: ci, key: { pem: ${JSON.stringify(key.publicKeyPem)} } } ]`);
    digests.moving = (await pushSignedImage(registry.url, registry.host, "pinned/moving", key, { tag: "v1" })).digest;
    await kube.request("POST", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", mutatingWebhookConfiguration({ name: MUTATING, port: webhook.port, caPem: pki.caPem }));
    // the API server picks the configuration up through an informer: wait until a pod comes back pinned
    await waitFor(async () => {
      const name = `pin-probe-${crypto.randomBytes(3).toString("hex")}`;
      const r = await pod("prod", name, `${registry.host}/pinned/moving:v1`);
      return r.status === 201 && (await imageOf("prod", name)).includes("@") ? true : undefined;
    }, 30_000, "the API server to call the mutating webhook");
  });

  afterAll(async () => {
    await kube.request("DELETE", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/signet").catch(() => undefined);
  });

  it("a signed tag is admitted pinned; once the tag is moved to an unsigned image, the next pod is pinned to that one and denied", async () => {
    const h = registry.host;
    const admitted = await pod("prod", "pinned-signed", `${h}/pinned/moving:v1`);
    expect(admitted.status, admitted.message).toBe(201);
    // what the kubelet will pull is the digest that was verified, whatever the tag names later
    expect(await imageOf("prod", "pinned-signed")).toBe(`${h}/pinned/moving:v1@${digests.moving}`);

    const moved = (await pushSignedImage(registry.url, h, "pinned/moving", key, { tag: "v1", sign: false })).digest;
    expect(moved).not.toBe(digests.moving);
    expect(await imageOf("prod", "pinned-signed")).toBe(`${h}/pinned/moving:v1@${digests.moving}`);
    const denied = await pod("prod", "pinned-unsigned", `${h}/pinned/moving:v1`);
    expect(denied.status).toBe(403);
    // the decision names the digest the pod would have run
    expect(denied.message).toContain(`${h}/pinned/moving:v1@${moved}`);
    expect(denied.message).toContain('policy "moving"');
  });

  it("leaves digests, images under warn policies only and images out of every policy's scope as written", async () => {
    const h = registry.host;
    const byDigest = `${h}/apps/signed@${digests.signed}`;
    expect((await pod("prod", "pin-digest", byDigest)).status).toBe(201);
    expect(await imageOf("prod", "pin-digest")).toBe(byDigest);
    // staging: only the warn policy covers apps/**
    expect((await pod("staging", "pin-warn", `${h}/apps/signed:v1`)).status).toBe(201);
    expect(await imageOf("staging", "pin-warn")).toBe(`${h}/apps/signed:v1`);
    // no policy covers other/**
    await pushSignedImage(registry.url, h, "other/free", key, { tag: "v1", sign: false });
    expect((await pod("prod", "pin-out-of-scope", `${h}/other/free:v1`)).status).toBe(201);
    expect(await imageOf("prod", "pin-out-of-scope")).toBe(`${h}/other/free:v1`);
  });
});

describe("failure policy when the webhook is away", () => {
  it("rejects with Fail and admits with Ignore", async () => {
    await webhook.stop();
    const image = `${registry.host}/apps/signed@${digests.signed}`;
    const failed = await pod("prod", "while-away", image);
    expect(failed.status).toBe(500);
    expect(failed.message).toContain(`failed calling webhook "${WEBHOOK_NAME}"`);
    const current = await kube.request<{ metadata: { resourceVersion: string } }>("GET", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/signet");
    await kube.request("PUT", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/signet", {
      ...webhookConfiguration("Ignore", webhook.port),
      metadata: { name: "signet", resourceVersion: current.metadata.resourceVersion },
    });
    let n = 0;
    const admitted = await waitFor(async () => {
      const r = await pod("prod", `while-away-${n++}`, image);
      return r.status === 201 ? r : undefined;
    }, 30_000, "admission with failurePolicy Ignore");
    expect(admitted.status).toBe(201);
  });
});
