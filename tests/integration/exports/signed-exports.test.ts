import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { NextRequest } from "next/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicKeyFingerprint } from "@/lib/policy/compile";
import type { EvidenceFact } from "@/lib/policy/facts";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { apiRequest, sessionCookieFor, useAuthEnv } from "@/tests/support/auth";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { seedInventory } from "@/tests/support/inventory";
import { pdfText } from "@/tests/support/pdf";
import { registryTools } from "@/tests/support/registry";

const execFileP = promisify(execFile);
type Handler = (req: NextRequest) => Promise<Response>;

const PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const FP = publicKeyFingerprint(PEM);
const d = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;

/** `cosign verify-blob` with a key, offline (no transparency log, no TUF): exit code and output. */
async function cosignVerifyBlob(dir: string, file: Uint8Array, signature: string, publicKeyPem: string): Promise<{ ok: boolean; out: string }> {
  await fs.writeFile(path.join(dir, "export.bin"), file);
  await fs.writeFile(path.join(dir, "export.bin.sig"), signature);
  await fs.writeFile(path.join(dir, "signet-export.pub"), publicKeyPem);
  const env = { ...process.env, HOME: path.join(dir, "home") };
  try {
    const { stdout, stderr } = await execFileP(
      registryTools().cosign,
      ["verify-blob", "--key", "signet-export.pub", "--signature", "export.bin.sig", "--insecure-ignore-tlog=true", "export.bin"],
      { cwd: dir, env },
    );
    return { ok: true, out: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

/**
 * Exports out of the real route handlers against PostgreSQL: the auditor's PDF report (read back with
 * pdftotext) and every CSV / JSON export carry a detached signature made with the export key, which
 * real cosign verifies with the public key the API serves; a changed byte fails. The key is generated
 * once, stored encrypted, and survives a secret-key rotation.
 */
describe("signed exports and the auditor's PDF report", () => {
  let tdb: TestDatabase;
  let dir: string;
  let auditor: string;
  let viewer: string;
  const getDb = async () => (await import("@/lib/db/client")).getDb();
  const call = async (route: string, url: string, cookie: string) => {
    const mod = (await import(`@/app/api/${route}/route`)) as { GET: Handler };
    return mod.GET(apiRequest(url, { cookie }));
  };

  beforeAll(async () => {
    tdb = await createTestDatabase();
    await useAuthEnv(tdb.url, { SIGNET_SECRET_KEY: randomBytes(32).toString("base64"), SIGNET_SECRET_KEY_PREVIOUS: undefined });
    (await import("@/lib/exports/signing-key")).resetExportSigner();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-exports-"));
    await fs.mkdir(path.join(dir, "home"));
    const db = await getDb();
    const { loadActivePolicies, savePolicyDocument } = await import("@/lib/policy/store");
    const { evaluateImage } = await import("@/lib/scan/evaluate-image");
    const { writeCoverageSnapshot } = await import("@/lib/scan/snapshot");
    const seeded = await seedInventory(db, {
      cluster: "prod",
      namespaces: [
        { name: "pay", pods: [1, 2].map((i) => ({ name: `p${i}`, workload: "api", containers: [{ name: "app", image: `ghcr.io/acme/pay@${d(i)}` }] })) },
        { name: "web", pods: [3].map((i) => ({ name: `w${i}`, containers: [{ name: "app", image: `docker.io/library/web@${d(i)}` }] })) },
      ],
    });
    const doc = parsePolicyDocuments(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: release-signed }
spec:
  mode: enforce
  requireTlog: false
  authorities: [ { name: build, key: { pem: ${JSON.stringify(PEM)} } } ]`)[0]!;
    await savePolicyDocument(db, doc, { actor: "test" });
    const policies = await loadActivePolicies(db);
    for (const [ref, imageId] of seeded.images) {
      const verified = ref.endsWith(d(1));
      const facts: EvidenceFact[] = verified ? [{ id: `${d(101)}#0`, kind: "signature", status: "valid", reasons: [], signer: { kind: "key", fingerprints: [FP] }, tlog: null }] : [];
      await evaluateImage(db, { imageId, facts, discovery: verified ? { outcome: "found" } : { outcome: "none" }, policies, now: new Date(), trigger: "scan" });
    }
    await writeCoverageSnapshot(db);
    auditor = (await sessionCookieFor("auditor")).cookie;
    viewer = (await sessionCookieFor("viewer")).cookie;
  });
  afterAll(async () => {
    await (await getDb()).$disconnect();
    await tdb?.drop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("serves the auditor's PDF report with scope, coverage, the unsigned digests and the audit checkpoint, signed; cosign verifies it", async () => {
    const res = await call("exports/report", "/api/exports/report?cluster=prod", auditor);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/pdf");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="signet-report-\d{4}-\d{2}-\d{2}\.pdf"$/);
    const pdf = new Uint8Array(await res.arrayBuffer());
    const { text } = await pdfText(pdf);
    const flat = text.replace(/\s+/g, " ");
    expect(flat).toContain("cluster: prod; namespace: all");
    expect(flat).toMatch(/Verified 1 33.3 %/);
    expect(flat).toMatch(/Unsigned 2 66.6 %/); // ratios are rounded down (a third is never shown as more)
    expect(flat).toMatch(/prod pay 2 1 0 1 0 0 0 50 ?%/);
    expect(flat).toMatch(/prod web 1 0 0 1 0 0 0 0 ?%/);
    // every running digest that is not verified, with its reason
    expect(flat).toContain(d(2));
    expect(flat).toContain(d(3));
    expect(flat).not.toContain(`${d(1)} `);
    expect(flat).toContain("release-signed v1 (enforce): unsigned - 2 digests Reason: the registry holds no signature or attestation for this digest");
    expect(flat).toMatch(/release-signed v1 enforce yes signet/);
    expect(flat).toContain("used by: release-signed (build)");
    const cp = await (await getDb()).auditCheckpoint.findFirstOrThrow({ orderBy: { id: "desc" } });
    expect(flat).toContain(`event ${cp.seq} at`);
    expect(flat).toContain(cp.signature);
    // the first report walks the chain from its first event and records how far it verified it
    expect(flat).toMatch(/Audit chain intact \(\d+ events verified from the first\)/);
    expect(flat).toContain("This report verified the chain from its first event.");

    const key = await (await call("exports/public-key", "/api/exports/public-key", viewer)).text();
    expect(key).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const signature = res.headers.get("x-signet-signature")!;
    expect(signature).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const ok = await cosignVerifyBlob(dir, pdf, signature, key);
    expect(ok.out).toContain("Verified OK");
    expect(ok.ok).toBe(true);
    // one changed byte, and cosign refuses it
    const tampered = Buffer.from(pdf);
    tampered[tampered.length - 10] = tampered[tampered.length - 10]! ^ 1;
    const bad = await cosignVerifyBlob(dir, tampered, signature, key);
    expect(bad.ok).toBe(false);
    expect(bad.out).toMatch(/invalid signature|verification failed|failed to verify/i);
  });

  it("checks the audit chain of a later report only from the newest verified checkpoint, and says so", async () => {
    const res = await call("exports/report", "/api/exports/report?cluster=prod", auditor);
    expect(res.status).toBe(200);
    const flat = (await pdfText(new Uint8Array(await res.arrayBuffer()))).text.replace(/\s+/g, " ");
    expect(flat).toMatch(/Audit chain intact \(\d+ events verified after the verified checkpoint at event \d+; \d+ events through it verified by a full walk at \d{4}-\d\d-\d\d \d\d:\d\d UTC\)/);
    expect(flat).toContain("This report verified the chain only from the newest verified checkpoint (event");
  });

  it("signs every CSV and JSON export with the same key, named in a header", async () => {
    const keyJson = (await (await call("exports/public-key", "/api/exports/public-key?format=json", viewer)).json()) as { publicKeyPem: string; fingerprint: string; algorithm: string };
    expect(keyJson.algorithm).toBe("ecdsa-p256-sha256");
    expect(keyJson.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(keyJson)).not.toContain("PRIVATE");
    const exports: [string, string, string][] = [
      ["exports/compliance", "/api/exports/compliance?format=csv", auditor],
      ["exports/compliance", "/api/exports/compliance?format=json", auditor],
      ["audit/export", "/api/audit/export?format=csv", auditor],
      ["audit/export", "/api/audit/export?format=json", auditor],
      ["images/export", "/api/images/export", viewer],
    ];
    for (const [route, url, cookie] of exports) {
      const res = await call(route, url, cookie);
      expect(res.status, `${url}: ${res.status === 200 ? "" : await res.clone().text()}`).toBe(200);
      expect(res.headers.get("x-signet-signature-key"), url).toBe(keyJson.fingerprint);
      const body = new Uint8Array(await res.arrayBuffer());
      expect(body.byteLength, url).toBeGreaterThan(50);
      const v = await cosignVerifyBlob(dir, body, res.headers.get("x-signet-signature")!, keyJson.publicKeyPem);
      expect(v.ok, `${url}: ${v.out}`).toBe(true);
    }
  });

  it("refuses the PDF report to a viewer", async () => {
    const res = await call("exports/report", "/api/exports/report", viewer);
    expect(res.status).toBe(403);
  });

  it("keeps the export key encrypted at rest and the same across a secret-key rotation", async () => {
    const db = await getDb();
    const row = await db.serverKey.findUniqueOrThrow({ where: { purpose: "export" } });
    expect(row.privateKeyEnc).toMatch(/^sv1:[0-9a-f]{16}:/);
    expect(row.privateKeyEnc).not.toContain("PRIVATE KEY");
    const before = row.fingerprint;
    const oldKey = process.env.SIGNET_SECRET_KEY!;
    const { resetExportSigner, getExportSigner, verifyExportSignature } = await import("@/lib/exports/signing-key");
    await useAuthEnv(tdb.url, { SIGNET_SECRET_KEY: randomBytes(32).toString("base64"), SIGNET_SECRET_KEY_PREVIOUS: oldKey });
    resetExportSigner();
    const signer = await getExportSigner(db);
    expect(signer.fingerprint).toBe(before);
    const after = await db.serverKey.findUniqueOrThrow({ where: { purpose: "export" } });
    expect(after.privateKeyEnc.split(":")[1]).not.toBe(row.privateKeyEnc.split(":")[1]);
    const bytes = Buffer.from("a file");
    expect(verifyExportSignature(row.publicKeyPem, bytes, signer.sign(bytes))).toBe(true);
    // without the key it was encrypted with, the export key cannot be used (and is never replaced)
    await useAuthEnv(tdb.url, { SIGNET_SECRET_KEY: randomBytes(32).toString("base64"), SIGNET_SECRET_KEY_PREVIOUS: undefined });
    resetExportSigner();
    await expect(getExportSigner(db)).rejects.toThrow(/not configured/);
    expect((await db.serverKey.findUniqueOrThrow({ where: { purpose: "export" } })).fingerprint).toBe(before);
  });
});
