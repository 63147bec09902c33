import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAuditEvents, latestVerifiedPrefix, verifyAuditChain, verifyAuditChainSinceVerified, type NewAuditEvent } from "@/lib/audit/store";
import { getCheckpointVerifiers } from "@/lib/audit/keys";
import { createDb, type Db } from "@/lib/db/client";
import { getEnv } from "@/lib/env";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";

const events = (n: number, tag: string): NewAuditEvent[] =>
  Array.from({ length: n }, (_, i) => ({ kind: "verdict", clusterName: "c1", namespace: `ns-${tag}`, imageDigest: `sha256:${String(i).padStart(64, "0")}`, policyName: "p", policyVersion: 1, verdict: "verified" }));

/**
 * The auditor's report checks the audit chain from the newest verified prefix (a full walk's signed
 * statement) instead of the first event: only the events after it are walked, a forged statement is
 * ignored, and a change after it (or to its own event) is still found.
 */
describe("audit chain walked from the newest verified prefix", () => {
  let tdb: TestDatabase;
  let db: Db;
  let admin: pg.Client;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
    admin = new pg.Client({ connectionString: tdb.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("walks from the first event without a prefix, then only what was appended after the one it recorded", async () => {
    await appendAuditEvents(db, events(120, "a"));
    const first = await verifyAuditChainSinceVerified(db);
    expect(first).toMatchObject({ ok: true, checked: 120, from: null });
    const prefix = await latestVerifiedPrefix(db, getCheckpointVerifiers(getEnv()));
    expect(prefix).toMatchObject({ seq: BigInt(first.head!.seq), hash: first.head!.hash, events: 120 });

    await appendAuditEvents(db, events(30, "b"));
    const next = await verifyAuditChainSinceVerified(db);
    expect(next).toMatchObject({ ok: true, checked: 30, from: { seq: prefix!.seq, events: 120 } });
    // the statement moved to the new head, counting every event from the first
    expect(await latestVerifiedPrefix(db, getCheckpointVerifiers(getEnv()))).toMatchObject({ seq: BigInt(next.head!.seq), events: 150 });
    expect(await verifyAuditChainSinceVerified(db)).toMatchObject({ ok: true, checked: 0, from: { events: 150 } });
  });

  it("ignores a statement the database owner wrote without the key", async () => {
    const { rows } = await admin.query<{ seq: string; hash: string }>(`SELECT seq::text, hash FROM "VerificationEvent" ORDER BY seq DESC LIMIT 1`);
    await admin.query(`INSERT INTO "AuditVerifiedPrefix" (seq, hash, at, events, "keyId", signature) SELECT $1::bigint, $2, now(), 999, "keyId", $3 FROM "AuditVerifiedPrefix" LIMIT 1`, [
      rows[0]!.seq,
      rows[0]!.hash,
      Buffer.alloc(64, 7).toString("base64"),
    ]);
    // the forged newest row is skipped: the last signed one still holds (150 events)
    expect(await verifyAuditChainSinceVerified(db)).toMatchObject({ ok: true, checked: 0, from: { events: 150 } });
  });

  it("finds an event changed after the prefix; a changed prefix event sends it back to the full walk", async () => {
    await appendAuditEvents(db, events(20, "c"));
    const prefix = (await latestVerifiedPrefix(db, getCheckpointVerifiers(getEnv())))!;
    try {
      await admin.query("SET session_replication_role = replica");
      const after = prefix.seq + 5n;
      await admin.query(`UPDATE "VerificationEvent" SET namespace = 'tampered' WHERE seq = $1`, [after.toString()]);
      expect(await verifyAuditChainSinceVerified(db)).toMatchObject({ ok: false, problem: { kind: "content", throughSeq: after.toString() }, checked: 4, from: { seq: prefix.seq } });
      await admin.query(`UPDATE "VerificationEvent" SET namespace = 'ns-c' WHERE seq = $1`, [after.toString()]);

      // the prefix's own event edited: the statement no longer holds, and the full walk names the event
      await admin.query(`UPDATE "VerificationEvent" SET namespace = 'tampered' WHERE seq = $1`, [prefix.seq.toString()]);
      expect(await verifyAuditChainSinceVerified(db)).toMatchObject({ ok: false, problem: { kind: "content", throughSeq: prefix.seq.toString() }, from: null });
      await admin.query(`UPDATE "VerificationEvent" SET namespace = 'ns-b' WHERE seq = $1`, [prefix.seq.toString()]);

      // an event before the prefix edited after it was verified: not walked again here (what the report
      // says), found by the full walk
      await admin.query(`UPDATE "VerificationEvent" SET namespace = 'tampered' WHERE seq = (SELECT min(seq) + 10 FROM "VerificationEvent")`);
      expect(await verifyAuditChainSinceVerified(db)).toMatchObject({ ok: true, from: { seq: prefix.seq } });
      expect(await verifyAuditChain(db)).toMatchObject({ ok: false, problem: { kind: "content" } });
    } finally {
      await admin.query("SET session_replication_role = origin").catch(() => undefined);
    }
  });
});
