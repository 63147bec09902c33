import { generateKeyPairSync } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listPolicies } from "@/lib/data/policies";
import { createDb, type Db } from "@/lib/db/client";
import { publicKeyFingerprint } from "@/lib/policy/compile";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { savePolicyDocument } from "@/lib/policy/store";
import { authorityNames, authorityPolicies, getInventory } from "@/lib/trust/inventory";
import { previewRevocation } from "@/lib/trust/revoke";
import { keyName, shortFingerprint } from "@/lib/ui/format";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { ROOT } from "@/tests/support/process";

const pem = () => generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const SHARED = pem();
const OTHER = pem();
const FP = publicKeyFingerprint(SHARED);

/** A policy trusting `authorities` (YAML flow list) over every image. */
const policy = (name: string, authorities: string) => `apiVersion: signet.dev/v1
kind: Policy
metadata: { name: ${name} }
spec:
  mode: audit
  requireTlog: false
  scope: { images: ["**"] }
  authorities: [ ${authorities} ]`;

/**
 * One public key written inline in several policies (under other authority names) is one key: one
 * Keys row by fingerprint listing every policy, one name on every page, until a stored authority
 * holds the key and lends it its name.
 */
describe("one key, one row, one name", () => {
  let tdb: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 2);
    const docs = [
      policy("release", `{ name: ci, key: { pem: ${JSON.stringify(SHARED)} } }`),
      policy("tools-audit", `{ name: release, key: { pem: ${JSON.stringify(SHARED)} } }`),
      policy("batch", `{ name: release-2026, keys: [ { pem: ${JSON.stringify(SHARED)} }, { pem: ${JSON.stringify(OTHER)} } ] }`),
    ];
    for (const d of docs) await savePolicyDocument(db, parsePolicyDocuments(d)[0]!, { actor: "test" });
  });

  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("an inline key in three policies is one Keys row, by fingerprint, used by the three", async () => {
    const keys = (await getInventory(db)).filter((e) => e.kind === "key");
    expect(keys.map((e) => e.fingerprint).sort()).toEqual([FP, publicKeyFingerprint(OTHER)].sort());
    const shared = keys.find((e) => e.fingerprint === FP)!;
    expect(shared).toMatchObject({ ref: FP, name: shortFingerprint(FP), source: "policy", status: "active", editable: false });
    expect(shared.policies.map((p) => `${p.policy} as ${p.alias}`).sort()).toEqual(["batch as release-2026", "release as ci", "tools-audit as release"]);
    // the row's reference is what the revocation preview takes, naming the key by its one name
    expect((await previewRevocation(db, shared.ref)).label).toBe(shortFingerprint(FP));
  });

  it("the migration moves each policy authority's usage history to its key's fingerprint, one snapshot a moment", async () => {
    const at = new Date("2026-12-01T00:00:00Z");
    await db.authorityUsageSnapshot.createMany({
      data: [
        { takenAt: at, authorityKey: "policy:release/ci", containers: 3, images: 2, namespaces: 1 },
        { takenAt: at, authorityKey: "policy:tools-audit/release", containers: 1, images: 1, namespaces: 1, resignImages: 1 },
        { takenAt: new Date(at.getTime() + 3_600_000), authorityKey: "policy:batch/release-2026", containers: 4, images: 3, namespaces: 2 },
        { takenAt: at, authorityKey: "stored:unrelated", containers: 9, images: 9, namespaces: 9 },
      ],
    });
    const sql = await fs.readFile(path.join(ROOT, "prisma/migrations/20261207010500_inline_key_usage_by_fingerprint/migration.sql"), "utf8");
    const client = new pg.Client({ connectionString: tdb.url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
    const rows = await db.authorityUsageSnapshot.findMany({ orderBy: [{ authorityKey: "asc" }, { takenAt: "asc" }] });
    expect(rows.map((r) => [r.authorityKey, r.takenAt.toISOString(), r.containers, r.images, r.namespaces, r.resignImages])).toEqual([
      [FP, at.toISOString(), 3, 2, 1, 1],
      [FP, new Date(at.getTime() + 3_600_000).toISOString(), 4, 3, 2, 0],
      ["stored:unrelated", at.toISOString(), 9, 9, 9, 0],
    ]);
    // the Keys row of the key shows that history
    expect((await getInventory(db)).find((e) => e.ref === FP)!.trend.map((t) => t.containers)).toEqual([3, 4]);
  });

  it("names the key once everywhere: its short fingerprint, then the stored authority's name", async () => {
    expect(keyName({ fingerprint: FP })).toBe(shortFingerprint(FP));
    expect((await authorityNames(db))[`key:${FP}`]).toBe(shortFingerprint(FP));
    expect((await authorityPolicies(db))[shortFingerprint(FP)]!.sort()).toEqual(["batch", "release", "tools-audit"]);

    await db.authority.create({ data: { name: "release-key", kind: "key", publicKeyPem: SHARED, fingerprint: FP } });
    const keys = (await getInventory(db)).filter((e) => e.fingerprint === FP);
    expect(keys.map((e) => [e.ref, e.name, e.policies.map((p) => p.policy).sort()])).toEqual([["stored:release-key", "release-key", ["batch", "release", "tools-audit"]]]);
    expect((await authorityNames(db))[`key:${FP}`]).toBe("release-key");
    // the Authorities table's "Used by" is the Keys page's
    const stored = (await listPolicies(db)).authorities.find((a) => a.name === "release-key")!;
    expect(stored.policies.sort()).toEqual(["batch", "release", "tools-audit"]);
  });
});
