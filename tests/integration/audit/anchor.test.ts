import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashEvent, type AuditContent } from "@/lib/audit/chain";
import type { ChainStatusDto } from "@/lib/dto/dashboard";
import { apiRequest, sessionCookieFor, useAuthEnv } from "@/tests/support/auth";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { ROOT } from "@/tests/support/process";

/**
 * The anchored audit chain against a database owner: rows removed or rewritten with the append-only
 * trigger disabled (as the owner of the tables can) are detected and located by the library, by
 * `/api/audit/chain` and by `signet audit verify`, on real PostgreSQL. Each case gets its own database.
 */
describe("anchored audit chain on real PostgreSQL", () => {
  const dbs: TestDatabase[] = [];
  let dataDir: string;
  const lib = () => import("@/lib/audit/store");

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-anchor-"));
  });
  afterAll(async () => {
    await (await import("@/lib/db/client")).getDb().$disconnect();
    for (const d of dbs) await d.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  /** A database with an auditor signed in and three batches of events (three checkpoints besides the user's). */
  async function chain() {
    const tdb = await createTestDatabase();
    dbs.push(tdb);
    await useAuthEnv(tdb.url, { SIGNET_DATA_DIR: dataDir });
    const { getDb } = await import("@/lib/db/client");
    const db = getDb();
    const { cookie } = await sessionCookieFor("auditor");
    const { appendAuditEvents } = await lib();
    const batches = [];
    for (const tag of ["a", "b", "c"]) {
      batches.push(
        await appendAuditEvents(
          db,
          Array.from({ length: 4 }, (_, i) => ({ kind: "verdict" as const, namespace: `ns-${tag}`, imageDigest: `sha256:${String(i).padStart(64, "0")}`, verdict: "verified" as const })),
        ),
      );
    }
    const owner = new pg.Client({ connectionString: tdb.url });
    await owner.connect();
    /** Runs SQL as the tables' owner with the append-only triggers disabled, then enables them again. */
    const asOwner = async (fn: (c: pg.Client) => Promise<void>) => {
      await owner.query(`ALTER TABLE "VerificationEvent" DISABLE TRIGGER USER; ALTER TABLE "AuditCheckpoint" DISABLE TRIGGER USER`);
      try {
        await fn(owner);
      } finally {
        await owner.query(`ALTER TABLE "VerificationEvent" ENABLE TRIGGER USER; ALTER TABLE "AuditCheckpoint" ENABLE TRIGGER USER`);
      }
    };
    const seqs = batches.map((b) => b!.seq);
    return { tdb, db, cookie, seqs, asOwner, end: () => owner.end() };
  }

  const api = async (cookie: string): Promise<ChainStatusDto> => {
    const { GET } = await import("@/app/api/audit/chain/route");
    const res = await GET(apiRequest("/api/audit/chain", { cookie }), { params: Promise.resolve({}) });
    expect(res.status).toBe(200);
    return (await res.json()) as ChainStatusDto;
  };
  const cli = (url: string, args: string[] = ["verify"]) =>
    spawnSync(process.execPath, [path.join(ROOT, "bin/signet.mjs"), "audit", ...args], {
      env: { ...process.env, DATABASE_URL: url, SIGNET_DATA_DIR: dataDir, LOG_LEVEL: "silent" },
      encoding: "utf8",
    });

  /** Library, API and CLI all report `kind`, located after `afterSeq` through `throughSeq`. */
  async function expectDetected(c: Awaited<ReturnType<typeof chain>>, kind: string, afterSeq: bigint | null, throughSeq: bigint) {
    const where = { kind, afterSeq: afterSeq?.toString() ?? null, throughSeq: throughSeq.toString() };
    const { readWitness } = await import("@/lib/audit/witness");
    expect((await (await lib()).verifyAuditChain(c.db, { witness: readWitness(dataDir, c.tdb.url) })).problem).toMatchObject(where);
    const status = await api(c.cookie);
    expect(status).toMatchObject({ ok: false, problem: where });
    const out = cli(c.tdb.url);
    expect(out.status).toBe(1);
    expect(out.stdout).toContain(`BROKEN (database): ${kind} at event ${throughSeq}`);
    expect(out.stdout).toContain(afterSeq === null ? `(events up to ${throughSeq})` : `(events after ${afterSeq} through ${throughSeq})`);
  }

  it("an intact chain verifies everywhere, anchored by its newest checkpoint", async () => {
    const c = await chain();
    try {
      const status = await api(c.cookie);
      expect(status).toMatchObject({ ok: true, problem: null, anchoredThrough: { seq: c.seqs[2]!.toString() }, head: { seq: c.seqs[2]!.toString() } });
      expect(status.checkpoints.valid).toBe(4); // the auditor's creation, then three batches
      const out = cli(c.tdb.url);
      expect(out.stdout).toContain(`anchored by a checkpoint through event ${c.seqs[2]}`);
      expect(out.status).toBe(0);
    } finally {
      await c.end();
    }
  });

  it("truncation of the newest events is detected and located, and shows at once (no stale status)", async () => {
    const c = await chain();
    try {
      expect((await api(c.cookie)).ok).toBe(true);
      await c.asOwner((o) => o.query(`DELETE FROM "VerificationEvent" WHERE seq > $1`, [c.seqs[1]!.toString()]).then(() => undefined));
      await expectDetected(c, "missing", c.seqs[1]!, c.seqs[2]!);
    } finally {
      await c.end();
    }
  });

  it("deleting the newest events, then appending, leaves a gap that is detected and located", async () => {
    const c = await chain();
    try {
      await c.asOwner((o) => o.query(`DELETE FROM "VerificationEvent" WHERE seq > $1`, [(c.seqs[2]! - 2n).toString()]).then(() => undefined));
      // Signet goes on appending on top of the shortened chain: its links are fine, the checkpoint is not
      await (await lib()).appendAuditEvents(c.db, [{ kind: "system", details: { after: "deletion" } }]);
      await expectDetected(c, "missing", c.seqs[2]! - 2n, c.seqs[2]!);
    } finally {
      await c.end();
    }
  });

  it("a full rewrite with every hash recomputed is detected between the checkpoints around it", async () => {
    const c = await chain();
    try {
      await c.asOwner(async (o) => {
        // edit an event of the second batch and re-hash it and everything after it, as a forger would
        const { rows } = await o.query(`SELECT * FROM "VerificationEvent" WHERE seq > $1 ORDER BY seq`, [c.seqs[0]!.toString()]);
        let prev: string = rows[0].prevHash;
        for (const [i, r] of rows.entries()) {
          const content: AuditContent = {
            occurredAt: (r.occurredAt as Date).toISOString(),
            kind: r.kind,
            actor: r.actor,
            clusterName: r.clusterName,
            namespace: i === 1 ? "rewritten" : r.namespace,
            workload: r.workload,
            containerId: r.containerId,
            imageDigest: r.imageDigest,
            policyName: r.policyName,
            policyVersion: r.policyVersion,
            verdict: i === 1 ? "failed" : r.verdict,
            previousVerdict: r.previousVerdict,
            reasons: r.reasons,
            evidence: r.evidence,
            details: r.details,
          };
          const hash = hashEvent(prev, content);
          await o.query(`UPDATE "VerificationEvent" SET namespace = $2, verdict = $3, "prevHash" = $4, hash = $5 WHERE seq = $1`, [r.seq, content.namespace, content.verdict, prev, hash]);
          prev = hash;
        }
      });
      await expectDetected(c, "rewritten", c.seqs[0]!, c.seqs[1]!);
    } finally {
      await c.end();
    }
  });

  it("deleting every event is detected", async () => {
    const c = await chain();
    try {
      await c.asOwner((o) => o.query(`DELETE FROM "VerificationEvent"`).then(() => undefined));
      const first = (await c.db.auditCheckpoint.findFirstOrThrow({ orderBy: { seq: "asc" } })).seq;
      await expectDetected(c, "missing", null, first);
    } finally {
      await c.end();
    }
  });

  it("a forged or altered checkpoint, and events added past the last checkpoint, are detected", async () => {
    const c = await chain();
    try {
      await c.asOwner((o) => o.query(`UPDATE "AuditCheckpoint" SET at = at + interval '1 day' WHERE seq = $1`, [c.seqs[1]!.toString()]).then(() => undefined));
      await expectDetected(c, "checkpoint-signature", null, c.seqs[1]!);
      await c.asOwner((o) => o.query(`UPDATE "AuditCheckpoint" SET at = at - interval '1 day' WHERE seq = $1`, [c.seqs[1]!.toString()]).then(() => undefined));
      expect((await (await lib()).verifyAuditChain(c.db)).ok).toBe(true);

      // an owner without the key extends the chain with correctly linked events: no checkpoint covers them
      const head = await c.db.verificationEvent.findFirstOrThrow({ orderBy: { seq: "desc" } });
      const content: AuditContent = {
        occurredAt: new Date().toISOString(), kind: "admin", actor: "intruder", clusterName: null, namespace: null, workload: null, containerId: null,
        imageDigest: null, policyName: null, policyVersion: null, verdict: null, previousVerdict: null, reasons: [], evidence: [], details: { action: "user.create" },
      };
      await c.asOwner((o) =>
        o
          .query(`INSERT INTO "VerificationEvent" ("occurredAt", kind, actor, reasons, evidence, details, "prevHash", hash) VALUES ($1, 'admin', 'intruder', '[]', '[]', $2, $3, $4)`, [
            content.occurredAt, JSON.stringify(content.details), head.hash, hashEvent(head.hash, content),
          ])
          .then(() => undefined),
      );
      const intruder = (await c.db.verificationEvent.findFirstOrThrow({ orderBy: { seq: "desc" } })).seq;
      await expectDetected(c, "unanchored", c.seqs[2]!, intruder);
    } finally {
      await c.end();
    }
  });

  it("rolling back events and checkpoints together is seen only by the local witness", async () => {
    const c = await chain();
    try {
      const { writeWitness } = await import("@/lib/audit/witness");
      const { latestCheckpoint } = await lib();
      writeWitness(dataDir, c.tdb.url, (await latestCheckpoint(c.db))!);
      expect(await api(c.cookie)).toMatchObject({ ok: true, witness: "matched" });
      // the owner restores the state before the last batch: events and checkpoint both go
      await c.asOwner(async (o) => {
        await o.query(`DELETE FROM "VerificationEvent" WHERE seq > $1`, [c.seqs[1]!.toString()]);
        await o.query(`DELETE FROM "AuditCheckpoint" WHERE seq > $1`, [c.seqs[1]!.toString()]);
      });
      // the database alone is consistent again: only the witness (kept outside it) knows
      expect((await (await lib()).verifyAuditChain(c.db)).ok).toBe(true);
      await expectDetected(c, "missing", c.seqs[1]!, c.seqs[2]!);
      const status = await api(c.cookie);
      expect(status.problem?.message).toContain("local witness");
    } finally {
      await c.end();
    }
  });

  it("an export verifies offline with the embedded or the published key; a tampered or filtered one does not", async () => {
    const c = await chain();
    try {
      const { GET } = await import("@/app/api/audit/export/route");
      const res = await GET(apiRequest("/api/audit/export?format=json", { cookie: c.cookie }), { params: Promise.resolve({}) });
      expect(res.status).toBe(200);
      const text = await res.text();
      const doc = JSON.parse(text) as { complete: boolean; checkpoint: { seq: string }; events: { seq: string; namespace: string | null; hash: string }[]; publicKey: { fingerprint: string } };
      expect(doc).toMatchObject({ complete: true, checkpoint: { seq: c.seqs[2]!.toString() } });
      const file = path.join(dataDir, `export-${c.tdb.name}.json`);
      await fs.writeFile(file, text);

      const embedded = cli(c.tdb.url, ["verify", "--file", file]);
      expect(embedded.stdout).toContain(`fingerprint ${doc.publicKey.fingerprint}`);
      expect(embedded.stdout).toContain(`audit chain intact (export of`);
      expect(embedded.status).toBe(0);

      const published = cli(c.tdb.url, ["public-key"]);
      expect(published.stdout).toContain(`fingerprint: ${doc.publicKey.fingerprint}`);
      const pem = path.join(dataDir, "published.pem");
      await fs.writeFile(pem, published.stdout.slice(0, published.stdout.indexOf("fingerprint:")));
      const withKey = cli(c.tdb.url, ["verify", "--file", file, "--public-key", pem]);
      expect(withKey.status).toBe(0);

      // an edited event
      const edited = structuredClone(doc);
      edited.events[2]!.namespace = "elsewhere";
      await fs.writeFile(file, JSON.stringify(edited));
      const e1 = cli(c.tdb.url, ["verify", "--file", file, "--public-key", pem]);
      expect(e1.stdout).toContain(`content at event ${edited.events[2]!.seq}`);
      expect(e1.status).toBe(1);
      // the newest events cut off
      const cut = structuredClone(doc);
      cut.events = cut.events.slice(0, -2);
      await fs.writeFile(file, JSON.stringify(cut));
      const e2 = cli(c.tdb.url, ["verify", "--file", file, "--public-key", pem]);
      expect(e2.stdout).toContain(`missing at event ${doc.checkpoint.seq}`);
      expect(e2.status).toBe(1);
      // checked with another key than the one that signed it: nothing vouches for the events
      await fs.writeFile(file, text);
      const otherPem = path.join(dataDir, "other.pem");
      await fs.writeFile(otherPem, generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }));
      const other = cli(c.tdb.url, ["verify", "--file", file, "--public-key", otherPem]);
      expect(other.stdout).toContain("BROKEN (export of");
      expect(other.stdout).toContain("unanchored");
      expect(other.status).toBe(1);
      // a filtered export cannot be followed link by link
      const filtered = await GET(apiRequest("/api/audit/export?format=json&kind=admin", { cookie: c.cookie }), { params: Promise.resolve({}) });
      await fs.writeFile(file, await filtered.text());
      const e3 = cli(c.tdb.url, ["verify", "--file", file]);
      expect(e3.stdout).toContain("NOT VERIFIABLE");
      expect(e3.status).toBe(1);
    } finally {
      await c.end();
    }
  });
});
