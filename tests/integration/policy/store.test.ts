import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditChain } from "@/lib/audit/store";
import { createDb, type Db } from "@/lib/db/client";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { loadActivePolicies, PolicyReadOnlyError, savePolicyDocument } from "@/lib/policy/store";
import { publicKeyFingerprint } from "@/lib/policy/compile";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";

const PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const doc = (mode: string, name = "prod") =>
  parsePolicyDocuments(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: ${name} }
spec:
  mode: ${mode}
  authorities:
    - { name: inline, key: { pem: ${JSON.stringify(PEM)} } }
    - { name: stored, key: { ref: release-2026 } }
  require: { signatures: { anyOf: [inline, stored] } }`)[0]!;

describe("policy store with versions", () => {
  let tdb: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("versions on change only, records admin events, resolves stored keys with their status", async () => {
    const a = await savePolicyDocument(db, doc("audit"), { actor: "alice" });
    expect(a).toMatchObject({ version: 1, changed: true });
    expect(await savePolicyDocument(db, doc("audit"), { actor: "alice" })).toMatchObject({ version: 1, changed: false });
    const b = await savePolicyDocument(db, doc("enforce"), { actor: "bob" });
    expect(b).toMatchObject({ policyId: a.policyId, version: 2, changed: true });
    expect(await db.policyVersion.count({ where: { policyId: a.policyId } })).toBe(2);

    const events = await db.verificationEvent.findMany({ where: { kind: "admin" }, orderBy: { seq: "asc" } });
    expect(events.map((e) => [e.actor, e.policyVersion, (e.details as { action: string }).action])).toEqual([
      ["alice", 1, "policy.create"],
      ["bob", 2, "policy.update"],
    ]);
    expect((await verifyAuditChain(db)).ok).toBe(true);

    // the stored key is missing: the policy loads as an error, never silently without the authority
    let loaded = await loadActivePolicies(db);
    expect(loaded).toHaveLength(1);
    expect(loaded[0]!.error).toMatch(/no stored key named "release-2026"/);

    await db.authority.create({ data: { name: "release-2026", kind: "key", publicKeyPem: PEM, status: "revoked" } });
    loaded = await loadActivePolicies(db);
    const compiled = loaded[0]!.policy!;
    expect(compiled.version).toBe(2);
    expect(compiled.keys.find((k) => k.authority === "stored")?.fingerprint).toBe(publicKeyFingerprint(PEM));
    expect(compiled.spec.authorities.find((x) => x.name === "stored")?.status).toBe("revoked");
    expect(compiled.spec.authorities.find((x) => x.name === "inline")?.status).toBe("active");
  });

  it("imported policies are read-only for other sources", async () => {
    await savePolicyDocument(db, doc("enforce", "cip-x"), { actor: "cluster:prod", source: "cluster_import" });
    await expect(savePolicyDocument(db, doc("audit", "cip-x"), { actor: "mallory" })).rejects.toBeInstanceOf(PolicyReadOnlyError);
    expect((await db.policy.findUniqueOrThrow({ where: { name: "cip-x" } })).readOnly).toBe(true);
  });
});
