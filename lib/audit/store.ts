import "server-only";
import type { KeyObject } from "node:crypto";
import { canonicalJson, chainHash, GENESIS_HASH, hashEvent, type AuditContent, type StoredLink } from "@/lib/audit/chain";
import {
  checkCheckpointSignature,
  signCheckpoint,
  signVerifiedPrefix,
  verifiedPrefixIsSigned,
  type Checkpoint,
  type StoredCheckpoint,
  type VerifiedPrefix,
} from "@/lib/audit/checkpoint";
import { getCheckpointSigner, getCheckpointVerifiers } from "@/lib/audit/keys";
import { verifyChainWalk, type ChainReport } from "@/lib/audit/verify";
import type { Db } from "@/lib/db/client";
import { withTransaction } from "@/lib/db/transaction";
import { Prisma } from "@/lib/generated/prisma/client";
import { getEnv } from "@/lib/env";
import { childLogger } from "@/lib/log";

/** One event to append. Times are set here (not by the database) because they are hashed. */
export interface NewAuditEvent {
  kind: "verdict" | "admin" | "scan" | "system" | "admission";
  occurredAt?: Date;
  actor?: string | null;
  clusterName?: string | null;
  namespace?: string | null;
  workload?: string | null;
  containerId?: string | null;
  imageDigest?: string | null;
  policyName?: string | null;
  policyVersion?: number | null;
  verdict?: "verified" | "failed" | "unsigned" | "error" | "unmatched" | null;
  previousVerdict?: "verified" | "failed" | "unsigned" | "error" | "unmatched" | null;
  reasons?: unknown;
  evidence?: unknown;
  details?: unknown;
}

/** pg_advisory_xact_lock key serializing appends to the chain. */
export const CHAIN_LOCK = 72_707_370;

/**
 * Round-trips through JSON so that what is hashed is exactly what jsonb stores and returns. With
 * `memo`, an object shared by several events (an image's reasons, evidence and details, the same for
 * each of its containers) is round-tripped once.
 */
function plain(value: unknown, fallback: unknown, memo?: Map<object, unknown>): unknown {
  if (value === undefined) return fallback;
  if (!memo || value === null || typeof value !== "object") return JSON.parse(JSON.stringify(value));
  let p = memo.get(value);
  if (p === undefined) memo.set(value, (p = JSON.parse(JSON.stringify(value))));
  return p;
}

function toContent(e: NewAuditEvent, at: Date, memo?: Map<object, unknown>): AuditContent {
  return {
    occurredAt: at.toISOString(),
    kind: e.kind,
    actor: e.actor ?? null,
    clusterName: e.clusterName ?? null,
    namespace: e.namespace ?? null,
    workload: e.workload ?? null,
    containerId: e.containerId ?? null,
    imageDigest: e.imageDigest ?? null,
    policyName: e.policyName ?? null,
    policyVersion: e.policyVersion ?? null,
    verdict: e.verdict ?? null,
    previousVerdict: e.previousVerdict ?? null,
    reasons: plain(e.reasons, [], memo),
    evidence: plain(e.evidence, [], memo),
    details: plain(e.details, {}, memo),
  };
}

interface ChainState {
  headSeq: string | null;
  headHash: string | null;
  cpSeq: string | null;
  cpHash: string | null;
  seqs: string[];
}

const EVENT_COLUMNS = Prisma.raw(
  `seq, "occurredAt", kind, actor, "clusterName", namespace, workload, "containerId", "imageDigest", "policyName", "policyVersion", verdict, "previousVerdict", reasons, evidence, details, "prevHash", hash`,
);
const EVENT_RECORD = Prisma.raw(
  `r(seq bigint, "occurredAt" timestamptz, kind text, actor text, "clusterName" text, namespace text, workload text, "containerId" uuid, "imageDigest" text, ` +
    `"policyName" text, "policyVersion" int, verdict "VerdictValue", "previousVerdict" "VerdictValue", reasons jsonb, evidence jsonb, details jsonb, "prevHash" text, hash text)`,
);

/** Rows per INSERT: the query engine's WebAssembly memory grows to the largest statement. */
const ROWS_PER_STATEMENT = 250;

/**
 * Appends events to the chain inside `tx` (or a new transaction) and writes the signed checkpoint of
 * the new head in the same transaction, so events and their checkpoint commit (or are lost) together.
 * A transaction-scoped advisory lock serializes appenders across processes, so sequence order is chain
 * order. Pass the caller's transaction to make events commit atomically with the verdicts they describe.
 *
 * Cost: the lock, one statement reading the head, the last checkpoint and the new sequence numbers, and
 * one INSERT per 250 events whose last also writes the checkpoint (one Ed25519 signature per batch).
 */
export async function appendAuditEvents(db: Db | Prisma.TransactionClient, events: NewAuditEvent[]): Promise<Checkpoint | null> {
  if (events.length === 0) return null;
  const signer = getCheckpointSigner(getEnv());
  // Everything but the chaining is prepared before the chain lock is taken (it is held to the commit of
  // the caller's transaction, and concurrent evaluations wait for it): each event's content, its
  // canonical text (what its hash covers) and its row as JSON up to the chain's fields. Objects shared by
  // events are converted and written once (an image's containers share theirs).
  const plainMemo = new Map<object, unknown>();
  const textMemo = new Map<object, string>();
  const prepared = events.map((e) => {
    // timestamptz(3): hash the millisecond value the database will return
    const content = toContent(e, new Date(Math.floor((e.occurredAt ?? new Date()).getTime())), plainMemo);
    const canonical = canonicalJson(content, textMemo);
    // the memo is for what events share (reasons, evidence, details): not each event's own content
    textMemo.delete(content);
    // its row is the canonical text itself, open for the chain's fields: the same JSON with its keys
    // sorted (jsonb_to_recordset reads members by name; the jsonb columns keep no key order), so no
    // second serialization of each event
    return { canonical, row: canonical.slice(0, -1) };
  });
  const run = async (tx: Prisma.TransactionClient): Promise<Checkpoint> => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CHAIN_LOCK})`;
    // sequence numbers are taken here, under the lock, so the checkpoint can name the last one before the insert
    const [state] = await tx.$queryRaw<ChainState[]>`
      SELECT h.seq::text AS "headSeq", h.hash AS "headHash", c.seq::text AS "cpSeq", c.hash AS "cpHash",
             ARRAY(SELECT s.n::text AS seq FROM (SELECT nextval(pg_get_serial_sequence('"VerificationEvent"', 'seq')) AS n FROM generate_series(1, ${events.length}::int)) AS s ORDER BY s.n) AS seqs
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (SELECT seq, hash FROM "VerificationEvent" ORDER BY seq DESC LIMIT 1) AS h ON true
      LEFT JOIN LATERAL (SELECT seq, hash FROM "AuditCheckpoint" ORDER BY id DESC LIMIT 1) AS c ON true`;
    if (state!.cpSeq !== null && (state!.cpSeq !== state!.headSeq || state!.cpHash !== state!.headHash)) {
      // every append checkpoints its head, so a different head means rows were changed outside Signet;
      // this log line is a witness the database owner cannot erase (`signet audit verify` locates it)
      childLogger("audit").error(
        { headSeq: state!.headSeq, checkpointSeq: state!.cpSeq },
        "audit chain head does not match its last signed checkpoint: events were deleted or rewritten outside Signet",
      );
    }
    // the chain's hashes under the lock; each statement's rows are joined from them as it is written
    // (a batch of first evaluations appends thousands of events: one statement's rows at a time)
    const head = state!.headHash ?? GENESIS_HASH;
    const hashes: string[] = [];
    let prev = head;
    for (const p of prepared) hashes.push((prev = chainHash(prev, p.canonical)));
    const checkpoint = signCheckpoint(signer, { seq: BigInt(state!.seqs[prepared.length - 1]!), hash: prev, at: new Date() });
    for (let i = 0; i < prepared.length; i += ROWS_PER_STATEMENT) {
      // (seq: decimal digits; the hashes: hex)
      const rows = prepared
        .slice(i, i + ROWS_PER_STATEMENT)
        .map((p, j) => `${p.row},"seq":"${state!.seqs[i + j]!}","prevHash":"${i + j === 0 ? head : hashes[i + j - 1]!}","hash":"${hashes[i + j]!}"}`);
      const json = `[${rows.join(",")}]`;
      if (i + ROWS_PER_STATEMENT < prepared.length) await tx.$executeRaw`INSERT INTO "VerificationEvent" (${EVENT_COLUMNS}) SELECT ${EVENT_COLUMNS} FROM jsonb_to_recordset(${json}::jsonb) AS ${EVENT_RECORD}`;
      else
        await tx.$executeRaw`
          WITH ev AS (INSERT INTO "VerificationEvent" (${EVENT_COLUMNS}) SELECT ${EVENT_COLUMNS} FROM jsonb_to_recordset(${json}::jsonb) AS ${EVENT_RECORD})
          INSERT INTO "AuditCheckpoint" (seq, hash, at, "keyId", signature)
          VALUES (${checkpoint.seq.toString()}::bigint, ${checkpoint.hash}, ${checkpoint.at}::timestamptz, ${checkpoint.keyId}, ${checkpoint.signature})`;
    }
    return checkpoint;
  };
  if ("$transaction" in db) return withTransaction(db, run, { timeout: 60_000 });
  return run(db);
}

type EventRow = Awaited<ReturnType<Db["verificationEvent"]["findMany"]>>[number];

export function toStoredLink(r: EventRow): StoredLink {
  return {
    seq: r.seq,
    prevHash: r.prevHash,
    hash: r.hash,
    content: {
      occurredAt: r.occurredAt.toISOString(),
      kind: r.kind,
      actor: r.actor,
      clusterName: r.clusterName,
      namespace: r.namespace,
      workload: r.workload,
      containerId: r.containerId,
      imageDigest: r.imageDigest,
      policyName: r.policyName,
      policyVersion: r.policyVersion,
      verdict: r.verdict,
      previousVerdict: r.previousVerdict,
      reasons: r.reasons,
      evidence: r.evidence,
      details: r.details,
    },
  };
}

/** Events with seq in (start, through] (from the first without `start`), ascending, page by page. */
export async function* pageAuditEvents(db: Db, through: bigint, pageSize: number, start?: bigint): AsyncGenerator<StoredLink[]> {
  let after: bigint | undefined = start;
  for (;;) {
    const page = await db.verificationEvent.findMany({
      where: { seq: after === undefined ? { lte: through } : { gt: after, lte: through } },
      orderBy: { seq: "asc" },
      take: pageSize,
    });
    if (page.length === 0) return;
    yield page.map(toStoredLink);
    after = page[page.length - 1]!.seq;
    if (page.length < pageSize) return;
  }
}

async function* pageCheckpoints(db: Db, maxId: bigint, pageSize: number, afterSeq?: bigint): AsyncGenerator<StoredCheckpoint[]> {
  let after: { seq: bigint; id: bigint } | undefined;
  for (;;) {
    const page = await db.auditCheckpoint.findMany({
      where: {
        id: { lte: maxId },
        ...(afterSeq !== undefined ? { seq: { gt: afterSeq } } : {}),
        ...(after ? { OR: [{ seq: { gt: after.seq } }, { seq: after.seq, id: { gt: after.id } }] } : {}),
      },
      orderBy: [{ seq: "asc" }, { id: "asc" }],
      take: pageSize,
    });
    if (page.length === 0) return;
    yield page.map((c) => ({ id: c.id.toString(), seq: c.seq, hash: c.hash, at: c.at.toISOString(), keyId: c.keyId, signature: c.signature }));
    const last = page[page.length - 1]!;
    after = { seq: last.seq, id: last.id };
    if (page.length < pageSize) return;
  }
}

/**
 * Walks the whole chain and its checkpoints and reports the first problem, located (lib/audit/verify).
 * Bounded by the head and the newest checkpoint read in one statement first: appends that commit
 * during the walk only add events and checkpoints beyond both bounds, so they cannot look like damage.
 */
export async function verifyAuditChain(
  db: Db,
  opts: { pageSize?: number; witness?: Checkpoint | null; keys?: ReadonlyMap<string, KeyObject>; from?: VerifiedPrefix } = {},
): Promise<ChainReport> {
  const pageSize = opts.pageSize ?? 5000;
  const [bounds] = await db.$queryRaw<{ head: bigint | null; cp: bigint | null }[]>`
    SELECT (SELECT max(seq) FROM "VerificationEvent") AS head, (SELECT max(id) FROM "AuditCheckpoint") AS cp`;
  const head = bounds?.head ?? null;
  const maxCp = bounds?.cp ?? null;
  const from = opts.from;
  return verifyChainWalk({
    events: head === null ? [] : pageAuditEvents(db, head, pageSize, from?.seq),
    checkpoints: maxCp === null ? [] : pageCheckpoints(db, maxCp, pageSize, from?.seq),
    keys: opts.keys ?? getCheckpointVerifiers(getEnv()),
    witness: opts.witness ?? null,
    from: from ?? null,
  });
}

/** The audit chain's status and, when the walk started after a verified prefix, that prefix. */
export type IncrementalChainReport = ChainReport & { from: VerifiedPrefix | null };

/**
 * The chain's status walked from the newest verified prefix (a full walk's signed statement,
 * `AuditVerifiedPrefix`) instead of the first event: its event must still be there with its hash and
 * content, and the witness, when at or before it, must still be in both tables; then only the events and
 * checkpoints after it are walked (ADR 0008's incremental walk). Without a usable prefix it is the full
 * walk. A walk that ends intact records the new head as the next prefix. Events before the prefix
 * changed after it was verified are not seen here: the full walk (audit page, `signet audit verify`)
 * finds them, and records nothing then.
 */
export async function verifyAuditChainSinceVerified(
  db: Db,
  opts: { witness?: Checkpoint | null; keys?: ReadonlyMap<string, KeyObject>; now?: Date; record?: boolean } = {},
): Promise<IncrementalChainReport> {
  const keys = opts.keys ?? getCheckpointVerifiers(getEnv());
  const witness = opts.witness ?? null;
  const prefix = await latestVerifiedPrefix(db, keys);
  const usable = prefix !== null && (await prefixStillHolds(db, prefix, witness));
  const report = await verifyAuditChain(db, { witness, keys, ...(usable ? { from: prefix } : {}) });
  const from = usable ? prefix : null;
  if (opts.record ?? true) await recordVerifiedPrefix(db, report, (from?.events ?? 0) + report.checked, opts.now);
  return { ...report, from };
}

/** The prefix's event is unchanged (hash and content), and a witness at or before it is in both tables. */
async function prefixStillHolds(db: Db, prefix: VerifiedPrefix, witness: Checkpoint | null): Promise<boolean> {
  const seqs = [prefix.seq, ...(witness && witness.seq <= prefix.seq ? [witness.seq] : [])];
  const rows = await db.verificationEvent.findMany({ where: { seq: { in: seqs } } });
  const at = new Map(rows.map((r) => [r.seq, toStoredLink(r)]));
  const ev = at.get(prefix.seq);
  if (!ev || ev.hash !== prefix.hash || hashEvent(ev.prevHash, ev.content) !== ev.hash) return false;
  if (witness && witness.seq <= prefix.seq) {
    if (at.get(witness.seq)?.hash !== witness.hash) return false;
    const cp = await db.auditCheckpoint.findFirst({ where: { seq: witness.seq, hash: witness.hash, signature: witness.signature }, select: { id: true } });
    if (!cp) return false;
  }
  return true;
}

/** The newest verified prefix whose signature holds under `keys`, or null. */
export async function latestVerifiedPrefix(db: Db, keys: ReadonlyMap<string, KeyObject>): Promise<VerifiedPrefix | null> {
  const rows = await db.auditVerifiedPrefix.findMany({ orderBy: { id: "desc" }, take: 20 });
  for (const r of rows) {
    const p: VerifiedPrefix = { seq: r.seq, hash: r.hash, at: r.at.toISOString(), events: r.events, keyId: r.keyId, signature: r.signature };
    if (verifiedPrefixIsSigned(keys, p)) return p;
  }
  return null;
}

/**
 * After a walk that found the chain intact through its head (every event anchored by a checkpoint):
 * records the head as verified, signed, and drops older statements. `events` counts from the first.
 */
export async function recordVerifiedPrefix(db: Db, report: ChainReport, events: number, now = new Date()): Promise<VerifiedPrefix | null> {
  if (!report.ok || !report.head || !report.anchoredThrough || report.anchoredThrough.seq !== report.head.seq) return null;
  const p = signVerifiedPrefix(getCheckpointSigner(getEnv()), { seq: BigInt(report.head.seq), hash: report.head.hash, at: now, events });
  const row = await db.auditVerifiedPrefix.create({ data: { seq: p.seq, hash: p.hash, at: new Date(p.at), events: p.events, keyId: p.keyId, signature: p.signature } });
  await db.auditVerifiedPrefix.deleteMany({ where: { id: { lt: row.id } } });
  return p;
}

/** The newest checkpoint in the table (what an export is cut at, what the witness records). */
export async function latestCheckpoint(db: Db | Prisma.TransactionClient): Promise<StoredCheckpoint | null> {
  const c = await db.auditCheckpoint.findFirst({ orderBy: { id: "desc" } });
  return c ? { id: c.id.toString(), seq: c.seq, hash: c.hash, at: c.at.toISOString(), keyId: c.keyId, signature: c.signature } : null;
}

/**
 * Writes a checkpoint of the current head when none vouches for it with the current key although
 * nothing is wrong: the first start after checkpoints were introduced (events exist, no checkpoint
 * at all: they are trusted on first use, as the first append would), and the first start after a
 * secret-key rotation (the newest checkpoint matches the head but is signed with a previous key, which
 * may later be dropped from SIGNET_SECRET_KEY_PREVIOUS). Anything else (events past the newest
 * checkpoint, a head that does not match it) is left for verification to report. Run at worker start.
 */
export async function anchorAuditChain(db: Db): Promise<Checkpoint | null> {
  const env = getEnv();
  const signer = getCheckpointSigner(env);
  const verifiers = getCheckpointVerifiers(env);
  return withTransaction(db, async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CHAIN_LOCK})`;
    const head = await tx.verificationEvent.findFirst({ orderBy: { seq: "desc" }, select: { seq: true, hash: true } });
    if (!head) return null;
    const latest = await latestCheckpoint(tx);
    const firstUse = latest === null;
    const rotated =
      latest !== null && latest.seq === head.seq && latest.hash === head.hash && latest.keyId !== signer.keyId && checkCheckpointSignature(verifiers, latest) === "valid";
    if (!firstUse && !rotated) return null;
    const cp = signCheckpoint(signer, { seq: head.seq, hash: head.hash, at: new Date() });
    await tx.auditCheckpoint.create({ data: { seq: cp.seq, hash: cp.hash, at: new Date(cp.at), keyId: cp.keyId, signature: cp.signature } });
    childLogger("audit").info({ seq: head.seq.toString(), reason: firstUse ? "first checkpoint" : "new key" }, "audit chain head checkpointed");
    return cp;
  }, { timeout: 60_000 });
}
