import { keyInTwoEncodings } from "@/tests/support/sigstore-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, getDb, type Db } from "@/lib/db/client";
import { resetEnvCache } from "@/lib/env";
import { evaluate } from "@/lib/policy/evaluate";
import type { EvidenceFact } from "@/lib/policy/facts";
import { publicKeyFingerprint } from "@/lib/policy/compile";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { loadActivePolicies, savePolicyDocument } from "@/lib/policy/store";
import { createScanAdapters } from "@/lib/scan/real-adapters";
import { createKeyAuthority } from "@/lib/trust/authorities";
import { revokeAuthority } from "@/lib/trust/revoke";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";


const policy = (name: string, authorities: string) => `apiVersion: signet.dev/v1
kind: Policy
metadata: { name: ${name} }
spec:
  mode: enforce
  requireTlog: false
  scope: { images: ["**"] }
  authorities: [ ${authorities} ]`;

/**
 * Revoking a key revokes it however it is written: a policy holding the same key with a compressed EC
 * point (another fingerprint, the same key) kept verifying its signatures after the revocation.
 */
describe("revocation of a key written in another encoding", () => {
  let tdb: TestDatabase;
  let db: Db;
  const key = keyInTwoEncodings();
  const actor = "admin@test";

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 2);
    process.env.DATABASE_URL = tdb.url;
    resetEnvCache();
    await createKeyAuthority(db, { name: "key-a", publicKeyPem: key.uncompressed }, actor);
    for (const d of [policy("release", "{ name: ci, key: { ref: key-a } }"), policy("legacy", `{ name: old, key: { pem: ${JSON.stringify(key.compressed)} } }`)]) {
      await savePolicyDocument(db, parsePolicyDocuments(d)[0]!, { actor });
    }
  });

  afterAll(async () => {
    await db?.$disconnect();
    await getDb().$disconnect().catch(() => undefined);
    await tdb?.drop();
  });

  it("the key cannot be stored a second time under another encoding", async () => {
    expect(publicKeyFingerprint(key.compressed)).not.toBe(publicKeyFingerprint(key.uncompressed));
    await expect(createKeyAuthority(db, { name: "key-a-again", publicKeyPem: key.compressed }, actor)).rejects.toThrow(/stored already, in another encoding, as key-a/);
  });

  it("revoking the stored key revokes the inline copy in another encoding: no policy verifies its signatures any more", async () => {
    // a signature by the key: verification names every candidate encoding it verifies with
    const signed: EvidenceFact = {
      id: "sig",
      kind: "signature",
      status: "valid",
      reasons: [],
      signer: { kind: "key", fingerprints: [publicKeyFingerprint(key.uncompressed), publicKeyFingerprint(key.compressed)] },
      tlog: null,
    };
    const verdicts = async () => {
      const now = new Date();
      return Object.fromEntries(
        (await loadActivePolicies(db)).map((p) => [p.name, evaluate(p.policy!.spec, [signed], { discovery: { outcome: "found" }, now }, p.policy!.keys).value]),
      );
    };
    // a copy stored before duplicates were refused (written as the database held it), used by a third policy
    await db.authority.create({ data: { name: "key-a-old", kind: "key", publicKeyPem: key.compressed, fingerprint: publicKeyFingerprint(key.compressed).slice("sha256:".length) } });
    await savePolicyDocument(db, parsePolicyDocuments(policy("pinned", "{ name: p, key: { ref: key-a-old } }"))[0]!, { actor });
    expect(await verdicts()).toEqual({ legacy: "verified", pinned: "verified", release: "verified" });
    const r = await revokeAuthority(db, "key-a", "key leaked", actor, { adapters: createScanAdapters() });
    expect(r.policies).toEqual(["legacy"]);
    expect(await verdicts()).toEqual({ legacy: "failed", pinned: "failed", release: "failed" });
    expect(await db.authority.findUniqueOrThrow({ where: { name: "key-a-old" } })).toMatchObject({ status: "revoked", revokedReason: "key leaked" });
    const event = await db.verificationEvent.findFirstOrThrow({ where: { kind: "admin", actor }, orderBy: { seq: "desc" } });
    expect(event.details).toMatchObject({ action: "authority.revoke", authority: "key-a", alsoRevoked: ["key-a-old"], policies: ["legacy"] });
  });
});
