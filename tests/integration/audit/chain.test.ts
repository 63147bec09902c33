import { spawnSync } from "node:child_process";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canonicalJson, GENESIS_HASH, hashEvent } from "@/lib/audit/chain";
import { appendAuditEvents, verifyAuditChain } from "@/lib/audit/store";
import { createDb, type Db } from "@/lib/db/client";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { ROOT } from "@/tests/support/process";

describe("audit log hash chain on real PostgreSQL", () => {
  let tdb: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 8);
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("canonical JSON ignores key order and undefined", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"z":1}]},"b":1}');
    expect(hashEvent(GENESIS_HASH, { kind: "x" } as never)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("concurrent appenders produce one unbroken chain, and the CLI agrees", async () => {
    const batch = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => ({
        kind: "verdict" as const,
        clusterName: "c1",
        namespace: `ns-${tag}`,
        imageDigest: `sha256:${String(i).padStart(64, "0")}`,
        policyName: "p",
        policyVersion: 3,
        verdict: (i % 2 ? "verified" : "failed") as "verified" | "failed",
        reasons: [{ code: i % 2 ? "satisfied" : "signature", message: "ünïcode ✓", nested: { b: 2, a: 1 } }],
        evidence: [{ id: `e${i}`, logIndex: 123456789 }],
      }));
    await Promise.all([appendAuditEvents(db, batch(300, "a")), appendAuditEvents(db, batch(300, "b")), appendAuditEvents(db, batch(1, "c"))]);
    const result = await verifyAuditChain(db, { pageSize: 97 }); // small pages: links across page boundaries are checked
    expect(result).toMatchObject({ ok: true, checked: 601 });

    const cli = spawnSync(process.execPath, [path.join(ROOT, "bin/signet.mjs"), "audit", "verify"], {
      env: { ...process.env, DATABASE_URL: tdb.url },
      encoding: "utf8",
    });
    expect(cli.stdout).toContain("audit chain intact (database): 601 events");
    expect(cli.status).toBe(0);
  });

  it("names the first tampered row: an edited row, then a removed one", async () => {
    const admin = new pg.Client({ connectionString: tdb.url });
    await admin.connect();
    const cli = () =>
      spawnSync(process.execPath, [path.join(ROOT, "bin/signet.mjs"), "audit", "verify"], {
        env: { ...process.env, DATABASE_URL: tdb.url },
        encoding: "utf8",
      });
    try {
      const { rows } = await admin.query<{ seq: string; namespace: string }>(`SELECT seq, namespace FROM "VerificationEvent" ORDER BY seq OFFSET 250 LIMIT 2`);
      const [target, next] = [rows[0]!, rows[1]!];
      // Bypass the append-only trigger as a superuser could: the chain must still expose it.
      await admin.query("SET session_replication_role = replica");
      await admin.query(`UPDATE "VerificationEvent" SET namespace = 'tampered' WHERE seq = $1`, [target.seq]);
      expect(await verifyAuditChain(db, { pageSize: 100 })).toMatchObject({ ok: false, problem: { kind: "content", throughSeq: target.seq }, checked: 250 });
      const broken = cli();
      expect(broken.status).toBe(1);
      expect(broken.stdout).toContain(`BROKEN (database): content at event ${target.seq}`);

      await admin.query(`UPDATE "VerificationEvent" SET namespace = $2 WHERE seq = $1`, [target.seq, target.namespace]);
      expect((await verifyAuditChain(db, { pageSize: 100 })).ok).toBe(true);

      await admin.query(`DELETE FROM "VerificationEvent" WHERE seq = $1`, [target.seq]);
      expect(await verifyAuditChain(db, { pageSize: 100 })).toMatchObject({ ok: false, problem: { kind: "link", throughSeq: next.seq }, checked: 250 });
    } finally {
      await admin.query("SET session_replication_role = origin").catch(() => undefined);
      await admin.end();
    }
  });
});
