import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditChain } from "@/lib/audit/store";
import { createDb, type Db } from "@/lib/db/client";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { loadActivePolicies, PolicyReadOnlyError, savePolicyDocument } from "@/lib/policy/store";
import { PolicyValidationError } from "@/lib/policy/schema";
import { publicKeyFingerprint } from "@/lib/policy/compile";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";

const newPem = () => generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const PEM = newPem();
const STORED_PEM = newPem();
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

    await db.authority.create({ data: { name: "release-2026", kind: "key", publicKeyPem: STORED_PEM, status: "revoked" } });
    loaded = await loadActivePolicies(db);
    const compiled = loaded[0]!.policy!;
    expect(compiled.version).toBe(2);
    expect(compiled.keys.find((k) => k.authority === "stored")?.fingerprint).toBe(publicKeyFingerprint(STORED_PEM));
    expect(compiled.spec.authorities.find((x) => x.name === "stored")?.status).toBe("revoked");
    expect(compiled.spec.authorities.find((x) => x.name === "inline")?.status).toBe("active");

    // compiled once per version and stored keys (every image-check batch loads the policies) …
    expect((await loadActivePolicies(db))[0]!.policy).toBe(compiled);
    // … and compiled again when a stored key it names changes, though the policy's version did not
    await db.authority.update({ where: { name: "release-2026" }, data: { status: "active" } });
    const again = (await loadActivePolicies(db))[0]!.policy!;
    expect(again.version).toBe(2);
    expect(again.spec.authorities.find((x) => x.name === "stored")?.status).toBe("active");
    await db.authority.update({ where: { name: "release-2026" }, data: { status: "revoked", revokedAt: new Date() } });
    expect((await loadActivePolicies(db))[0]!.policy!.spec.authorities.find((x) => x.name === "stored")?.status).toBe("revoked");
  });

  it("imported policies are read-only for other sources", async () => {
    await savePolicyDocument(db, doc("enforce", "cip-x"), { actor: "cluster:prod", source: "cluster_import" });
    await expect(savePolicyDocument(db, doc("audit", "cip-x"), { actor: "mallory" })).rejects.toBeInstanceOf(PolicyReadOnlyError);
    expect((await db.policy.findUniqueOrThrow({ where: { name: "cip-x" } })).readOnly).toBe(true);
  });

  it("refuses the same key under two authorities at save, naming both (inline twice, or inline and stored)", async () => {
    const twice = (second: string) =>
      parsePolicyDocuments(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: dup }
spec:
  authorities:
    - { name: release, key: { pem: ${JSON.stringify(PEM)} } }
    - ${second}
  require: { signatures: { atLeast: 2, of: [release, security] } }`)[0]!;
    const inline = await savePolicyDocument(db, twice(`{ name: security, key: { pem: ${JSON.stringify(PEM)} } }`), { actor: "alice" }).catch((e: unknown) => e);
    expect(inline).toBeInstanceOf(PolicyValidationError);
    expect((inline as PolicyValidationError).problems.join("\n")).toMatch(/authorities "release" and "security" carry the same public key \(sha256:[0-9a-f]{64}\)/);
    await db.authority.create({ data: { name: "same-as-inline", kind: "key", publicKeyPem: PEM } });
    const stored = await savePolicyDocument(db, twice(`{ name: security, key: { ref: same-as-inline } }`), { actor: "alice" }).catch((e: unknown) => e);
    expect((stored as PolicyValidationError).problems.join("\n")).toMatch(/"release" and "security" carry the same public key/);
    expect(await db.policy.count({ where: { name: "dup" } })).toBe(0);
    // two different keys are fine
    expect((await savePolicyDocument(db, twice(`{ name: security, key: { pem: ${JSON.stringify(newPem())} } }`), { actor: "alice" })).changed).toBe(true);
  });
});
