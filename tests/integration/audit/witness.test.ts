import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GENESIS_HASH, hashEvent, type AuditContent } from "@/lib/audit/chain";
import { getCheckpointVerifiers } from "@/lib/audit/keys";
import { anchorAuditChain, appendAuditEvents, latestCheckpoint, verifyAuditChain } from "@/lib/audit/store";
import { readWitness, writeWitness, WITNESS_FILE } from "@/lib/audit/witness";
import { getAuditChainStatus } from "@/lib/data/audit";
import { createDb, type Db } from "@/lib/db/client";
import { getEnv, resetEnvCache } from "@/lib/env";
import { startWorker, type RunningWorker } from "@/lib/jobs/worker";
import { getLogger } from "@/lib/log";
import { resetKeyring } from "@/lib/crypto/keys";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { waitFor } from "@/tests/support/process";

/** The local witness kept by workers, and the first checkpoint of a log that predates checkpoints. */
describe("audit witness and first anchoring on real PostgreSQL", () => {
  let tdb: TestDatabase;
  let db: Db;
  let dataDir: string;
  let worker: RunningWorker | undefined;
  beforeAll(async () => {
    process.env.SIGNET_SECRET_KEY ??= randomBytes(32).toString("base64");
    resetEnvCache();
    resetKeyring();
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-witness-"));
  });
  afterAll(async () => {
    await worker?.stop();
    await db?.$disconnect();
    await tdb?.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it("events from before checkpoints are unanchored until the first anchoring, which happens once", async () => {
    // rows as an earlier version of Signet wrote them: linked, no checkpoint
    let prev = GENESIS_HASH;
    for (let i = 0; i < 3; i++) {
      const content: AuditContent = {
        occurredAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(), kind: "system", actor: null, clusterName: null, namespace: null, workload: null,
        containerId: null, imageDigest: null, policyName: null, policyVersion: null, verdict: null, previousVerdict: null, reasons: [], evidence: [], details: { i },
      };
      const hash = hashEvent(prev, content);
      await db.$executeRaw`INSERT INTO "VerificationEvent" ("occurredAt", kind, details, "prevHash", hash) VALUES (${new Date(content.occurredAt)}, 'system', ${JSON.stringify({ i })}::jsonb, ${prev}, ${hash})`;
      prev = hash;
    }
    const before = await verifyAuditChain(db);
    expect(before.problem).toMatchObject({ kind: "unanchored", afterSeq: null, throughSeq: "3" });
    expect(before.problem?.message).toContain("predate checkpoints");

    const cp = await anchorAuditChain(db);
    expect(cp).toMatchObject({ seq: 3n, hash: prev });
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, anchoredThrough: { seq: "3" } });
    expect(await anchorAuditChain(db)).toBeNull();
  });

  it("never anchors events added past an existing checkpoint", async () => {
    const head = await db.verificationEvent.findFirstOrThrow({ orderBy: { seq: "desc" } });
    const content: AuditContent = {
      occurredAt: new Date(Date.UTC(2026, 0, 2)).toISOString(), kind: "system", actor: null, clusterName: null, namespace: null, workload: null,
      containerId: null, imageDigest: null, policyName: null, policyVersion: null, verdict: null, previousVerdict: null, reasons: [], evidence: [], details: {},
    };
    await db.$executeRaw`INSERT INTO "VerificationEvent" ("occurredAt", kind, "prevHash", hash) VALUES (${new Date(content.occurredAt)}, 'system', ${head.hash}, ${hashEvent(head.hash, content)})`;
    expect(await anchorAuditChain(db)).toBeNull();
    expect((await verifyAuditChain(db)).problem).toMatchObject({ kind: "unanchored", afterSeq: "3", throughSeq: "4" });
    // Signet's next append checkpoints the new head, but the forged event stays between two checkpoints…
    await appendAuditEvents(db, [{ kind: "system", details: { note: "after" } }]);
    // …and is trusted on first use like any event before a checkpoint: documented (docs/security.md)
    expect((await verifyAuditChain(db)).ok).toBe(true);
  });

  it("after a key rotation the head is re-signed with the new key, so the old key can be dropped", async () => {
    const oldKey = process.env.SIGNET_SECRET_KEY!;
    const oldKeyId = (await latestCheckpoint(db))!.keyId;
    try {
      process.env.SIGNET_SECRET_KEY = randomBytes(32).toString("base64");
      process.env.SIGNET_SECRET_KEY_PREVIOUS = oldKey;
      resetEnvCache();
      resetKeyring();
      expect(await verifyAuditChain(db)).toMatchObject({ ok: true, checkpoints: { unknownKey: 0 } });
      const resigned = await anchorAuditChain(db);
      expect(resigned?.keyId).not.toBe(oldKeyId);
      expect(await anchorAuditChain(db)).toBeNull();
      delete process.env.SIGNET_SECRET_KEY_PREVIOUS;
      resetEnvCache();
      resetKeyring();
      const after = await verifyAuditChain(db);
      expect(after).toMatchObject({ ok: true, anchoredThrough: { seq: resigned!.seq.toString(), keyId: resigned!.keyId } });
      expect(after.checkpoints.unknownKey).toBeGreaterThan(0);
    } finally {
      process.env.SIGNET_SECRET_KEY = oldKey;
      delete process.env.SIGNET_SECRET_KEY_PREVIOUS;
      resetEnvCache();
      resetKeyring();
    }
  });

  it("a worker witnesses committed checkpoints in its data dir, one heartbeat later, and only forward", async () => {
    worker = await startWorker({
      databaseUrl: tdb.url,
      jobs: [],
      log: getLogger(),
      heartbeatSeconds: 1,
      concurrency: 1,
      auditWitness: { dataDir, keys: getCheckpointVerifiers(getEnv()) },
    });
    const cp = await appendAuditEvents(db, [{ kind: "system", details: { note: "witnessed" } }]);
    await waitFor(async () => (readWitness(dataDir, tdb.url)?.seq === cp!.seq ? true : undefined), 20_000, "the witness of the new checkpoint");
    expect(readWitness(dataDir, tdb.url)).toEqual({ seq: cp!.seq, hash: cp!.hash, at: cp!.at, keyId: cp!.keyId, signature: cp!.signature });
    expect(await verifyAuditChain(db, { witness: readWitness(dataDir, tdb.url) })).toMatchObject({ ok: true, witness: "matched" });

    // an older checkpoint never replaces a newer witness; other databases have their own entry
    const older = (await db.auditCheckpoint.findFirstOrThrow({ orderBy: { id: "asc" } })).seq;
    expect(writeWitness(dataDir, tdb.url, { ...(await latestCheckpoint(db))!, seq: older })).toBe(false);
    expect(readWitness(dataDir, tdb.url.replace(tdb.name, "other"))).toBeNull();
    // a damaged witness file is an error, not an absent witness
    await fs.writeFile(path.join(dataDir, WITNESS_FILE), '{"version":1,"databases":{"x/y":{"seq":"1"}}}');
    expect(() => readWitness(dataDir, tdb.url)).toThrow(/not an audit witness file/);
    process.env.SIGNET_DATA_DIR = dataDir;
    resetEnvCache();
    try {
      const status = await getAuditChainStatus(db, tdb.url);
      expect(status).toMatchObject({ ok: false, witness: "failed", problem: { kind: "witness-signature" } });
      expect(status.problem?.message).toContain("cannot be read");
    } finally {
      delete process.env.SIGNET_DATA_DIR;
      resetEnvCache();
    }
  });
});
