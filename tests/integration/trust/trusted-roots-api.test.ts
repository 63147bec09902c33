import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/lib/db/client";
import { resetEnvCache } from "@/lib/env";
import { getLogger } from "@/lib/log";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { savePolicyDocument } from "@/lib/policy/store";
import { checkImages, createScan, startScan, type PipelineContext } from "@/lib/scan/pipeline";
import { createScanAdapters } from "@/lib/scan/real-adapters";
import { apiRequest, sessionCookieFor, useAuthEnv } from "@/tests/support/auth";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { createNamespace, createPod, setPodStatus, startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { waitFor } from "@/tests/support/process";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { randomDigest } from "@/tests/support/sigstore-fixtures";
import { keylessSignatureLayer, makeLeaf, makePrivateSigstore, type PrivateSigstore } from "@/tests/support/sigstore-pki";
import { pushSigManifest } from "@/tests/integration/verify/helpers";

/**
 * Custom trusted roots through the API (admin writes, strict validation, clear 4xx), used by a policy
 * that names the root: a keyless signature from a private PKI verifies in a real scan (real registry,
 * real kube-apiserver) once its root is added, and the same signature from an unknown PKI does not.
 */
describe("trusted roots API", () => {
  let tdb: TestDatabase;
  let kube: KubeApiserver;
  let registry: TestRegistry;
  let admin: string;
  let viewer: string;
  let db: Db;
  let ctx: PipelineContext;
  const corp = makePrivateSigstore();
  const stranger = makePrivateSigstore();
  const digests: Record<string, string> = {};
  const T = new Date("2025-06-01T12:00:00Z");
  const getDb = async () => (await import("@/lib/db/client")).getDb();
  const params = (p: Record<string, string>) => ({ params: Promise.resolve(p) });

  /** The corp root as sigstore's conformance files write it: unset fields as JSON null. */
  const corpDocument = () => {
    const doc = JSON.parse(corp.trustedRootJson);
    doc.tlogs[0].publicKey.validFor.end = null;
    doc.tlogs[0].checkpointKeyId = null;
    doc.certificateAuthorities[0].validFor.end = null;
    doc.timestampAuthorities = null;
    return doc;
  };
  const layerFrom = (sigstore: PrivateSigstore, digest: string) =>
    keylessSignatureLayer({
      sigstore,
      leaf: makeLeaf({ ca: sigstore.ca, ctlog: sigstore.ctlog, notBefore: new Date(T.getTime() - 60_000), notAfter: new Date(T.getTime() + 540_000), identity: { email: "release@acme.test" }, issuerV2: "https://issuer.acme.test" }),
      imageDigest: digest,
      integratedTime: Math.floor(T.getTime() / 1000),
    });

  beforeAll(async () => {
    [tdb, kube, registry] = await Promise.all([createTestDatabase(), startKubeApiserver(), startRegistry()]);
    await useAuthEnv(tdb.url);
    process.env.KUBECONFIG = kube.kubeconfigPath;
    process.env.SIGNET_KUBE_CONTEXTS = "admin";
    process.env.SIGNET_REGISTRY_INSECURE = registry.host;
    resetEnvCache();
    ({ cookie: admin } = await sessionCookieFor("admin"));
    ({ cookie: viewer } = await sessionCookieFor("viewer"));
    db = await getDb();
    const h = registry.host;
    for (const [name, sigstore] of [["corp-app", corp], ["stranger-app", stranger]] as const) {
      digests[name] = randomDigest();
      await pushSigManifest(registry.url, `apps/${name}`, digests[name]!, [layerFrom(sigstore, digests[name]!)]);
    }
    await createNamespace(kube, "prod");
    for (const name of ["corp-app", "stranger-app"]) {
      await createPod(kube, { namespace: "prod", name, containers: [{ name: "app", image: `${h}/apps/${name}@${digests[name]}` }] });
      await setPodStatus(kube, "prod", name, { containers: [{ name: "app", imageID: `${h}/apps/${name}@${digests[name]}` }] });
    }
    ctx = { db, adapters: createScanAdapters(), log: getLogger(), enqueueImageCheck: (p) => checkImages(ctx, p) };
  }, 240_000);

  afterAll(async () => {
    await (await getDb()).$disconnect();
    await Promise.all([kube?.stop(), registry?.stop()]);
    await tdb?.drop();
  });

  it("adds a root (admin only), refuses bad ones with the reason, lists it", async () => {
    const api = await import("@/app/api/trusted-roots/route");
    const post = (cookie: string, body: unknown) => api.POST(apiRequest("/api/trusted-roots", { method: "POST", cookie, body }));

    expect((await post(viewer, { name: "corp", trustedRoot: corpDocument() })).status).toBe(403);
    const bad = structuredClone(corpDocument());
    bad.certificateAuthorities[0].certChain.certificates[0].rawBytes = "AAAA";
    const refused = await post(admin, { name: "corp", trustedRoot: bad });
    expect(refused.status).toBe(400);
    expect((await refused.json()).error.message).toMatch(/^unusable trusted root: /);
    const wrongType = await post(admin, { name: "corp", trustedRoot: { ...corpDocument(), mediaType: "application/json" } });
    expect(wrongType.status).toBe(400);
    expect((await wrongType.json()).error.message).toMatch(/invalid trusted root: trustedRoot\.mediaType/);
    expect((await post(admin, { name: "Corp Root", trustedRoot: corpDocument() })).status).toBe(422);
    expect((await post(admin, { name: "corp", trustedRoot: { ...corpDocument(), padding: "x".repeat(1024 * 1024) } })).status).toBe(422);
    expect((await post(admin, { name: "corp", trustedRoot: { ...corpDocument(), padding: "x".repeat(2 * 1024 * 1024) } })).status).toBe(413);
    expect((await post(admin, { name: "public-good", trustedRoot: corpDocument() })).status).toBe(409);
    expect(await db.trustedRoot.count()).toBe(0);

    const added = await post(admin, { name: "corp", trustedRoot: corpDocument() });
    expect(added.status).toBe(200);
    expect((await added.json()).trustedRoot).toMatchObject({ name: "corp", source: "file", counts: { certificateAuthorities: 1, tlogs: 1, ctlogs: 1, timestampAuthorities: 0 } });
    expect((await post(admin, { name: "corp", trustedRoot: corpDocument() })).status).toBe(409);

    const listed = await (await api.GET(apiRequest("/api/trusted-roots", { cookie: viewer }))).json();
    expect(listed.trustedRoots.map((r: { name: string; source: string }) => `${r.name}:${r.source}`)).toEqual(["public-good:bundled", "corp:file"]);
    // each count is that of the entries listed behind it (the Trusted roots page links a count to them)
    for (const r of listed.trustedRoots as { name: string; counts: Record<string, number>; entries: Record<string, { name: string; validFrom: string | null }[]> }[]) {
      expect(Object.fromEntries(Object.entries(r.entries).map(([k, e]) => [k, e.length]))).toEqual(r.counts);
      expect(Object.values(r.entries).flat().every((e) => e.name.length > 0 && e.validFrom !== null)).toBe(true);
    }
    const corp = (listed.trustedRoots as { name: string; entries: Record<string, { name: string }[]> }[]).find((r) => r.name === "corp")!;
    expect(corp.entries.tlogs!.map((e) => e.name)).toEqual([corpDocument().tlogs[0].baseUrl]);
    const events = await db.verificationEvent.findMany({ where: { kind: "admin" } });
    expect(events.map((e) => (e.details as { action: string }).action)).toContain("trusted-root.add");
  });

  it("verifies a keyless signature from the private PKI for a policy naming the root; another PKI fails", async () => {
    const [doc] = parsePolicyDocuments(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: corp-release }
spec:
  mode: enforce
  requireTlog: true
  scope: { images: ["${registry.host}/apps/**"] }
  authorities:
    - name: release
      keyless: { trustedRoot: corp, identities: [ { issuer: "https://issuer.acme.test", subject: "release@acme.test" } ] }`);
    await savePolicyDocument(db, doc!, { actor: "test" });
    const id = await createScan(db, { trigger: "test" });
    await startScan(ctx, id);
    const scan = await waitFor(async () => {
      const s = await db.scan.findUniqueOrThrow({ where: { id } });
      return ["succeeded", "partial", "failed"].includes(s.status) ? s : undefined;
    }, 60_000, "scan to finish");
    expect(scan.status).toBe("succeeded");
    const verdict = async (pod: string) => (await db.verdict.findFirstOrThrow({ where: { container: { pod: { name: pod } } } })).value;
    expect(await verdict("corp-app")).toBe("verified");
    expect(await verdict("stranger-app")).toBe("failed");
  });

  it("refuses to remove a root a policy names, removes it otherwise (admin only)", async () => {
    const one = await import("@/app/api/trusted-roots/[name]/route");
    const del = (cookie: string, name: string) => one.DELETE(apiRequest(`/api/trusted-roots/${name}`, { method: "DELETE", cookie }), params({ name }));
    expect((await del(viewer, "corp")).status).toBe(403);
    const inUse = await del(admin, "corp");
    expect(inUse.status).toBe(409);
    expect((await inUse.json()).error.message).toMatch(/named by policies corp-release/);
    expect((await del(admin, "nothing")).status).toBe(404);
    await db.policy.update({ where: { name: "corp-release" }, data: { enabled: false } });
    expect((await del(admin, "corp")).status).toBe(200);
    expect(await db.trustedRoot.count()).toBe(0);
  });
});
