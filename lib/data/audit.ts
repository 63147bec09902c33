import "server-only";
import type { Db } from "@/lib/db/client";
import type { Prisma } from "@/lib/generated/prisma/client";
import { getCheckpointSigner } from "@/lib/audit/keys";
import { publicKeyPem } from "@/lib/audit/checkpoint";
import { EXPORT_FORMAT, toExportedEvent, type AuditExport } from "@/lib/audit/export-format";
import { latestCheckpoint, pageAuditEvents, toStoredLink, verifyAuditChain } from "@/lib/audit/store";
import { readWitness } from "@/lib/audit/witness";
import { getEnv } from "@/lib/env";
import { chainStatusDto, type ChainStatusDto } from "@/lib/dto/dashboard";
import { auditPageDto, type AuditPageDto, type AuditQuery } from "@/lib/dto/read";

/** The filters of an audit query, but `before` (paging). */
function auditFilters(q: AuditQuery): Prisma.VerificationEventWhereInput {
  return {
    ...(q.kind ? { kind: q.kind } : {}),
    ...(q.verdict ? { verdict: q.verdict } : {}),
    ...(q.imageDigest ? { imageDigest: q.imageDigest } : {}),
    ...(q.cluster ? { clusterName: q.cluster } : {}),
    ...(q.from || q.to ? { occurredAt: { ...(q.from ? { gte: q.from } : {}), ...(q.to ? { lte: q.to } : {}) } } : {}),
  };
}

/** Audit events, newest first, keyset-paginated by sequence number. */
export async function listAuditEvents(db: Db, q: AuditQuery): Promise<AuditPageDto> {
  const where: Prisma.VerificationEventWhereInput = { ...auditFilters(q), ...(q.before !== undefined ? { seq: { lt: q.before } } : {}) };
  const rows = await db.verificationEvent.findMany({ where, orderBy: { seq: "desc" }, take: q.limit + 1 });
  const page = rows.slice(0, q.limit);
  return auditPageDto.parse({
    events: page.map((e) => ({ ...e, seq: e.seq.toString(), occurredAt: e.occurredAt.toISOString() })),
    nextBefore: rows.length > q.limit ? page[page.length - 1]!.seq.toString() : null,
  });
}

/** Every event matching the filters (newest first), page by page, for CSV / JSON exports; capped. */
export async function* iterateAuditEvents(db: Db, q: AuditQuery, cap = 1_000_000): AsyncGenerator<AuditPageDto["events"][number]> {
  let before = q.before;
  let seen = 0;
  for (;;) {
    const page = await listAuditEvents(db, { ...q, before, limit: 500 });
    for (const e of page.events) {
      if (seen++ >= cap) return;
      yield e;
    }
    if (!page.nextBefore) return;
    before = BigInt(page.nextBefore);
  }
}

let walking: Promise<ChainStatusDto> | undefined;
let nextWalk: Promise<ChainStatusDto> | undefined;

/**
 * The audit chain's status for the audit page and `/api/audit/chain`: a full walk for every request,
 * never a cached answer (a row changed with the trigger disabled must show at once). Callers arriving
 * while a walk runs share the next one, which starts after it: at most one walk runs per process and
 * every answer comes from a walk that began after the request.
 */
export function getAuditChainStatus(db: Db, databaseUrl: string): Promise<ChainStatusDto> {
  if (!walking) {
    walking = walkChain(db, databaseUrl).finally(() => {
      walking = undefined;
    });
    return walking;
  }
  nextWalk ??= walking.then(
    () => undefined,
    () => undefined,
  ).then(() => {
    nextWalk = undefined;
    return getAuditChainStatus(db, databaseUrl);
  });
  return nextWalk;
}

async function walkChain(db: Db, databaseUrl: string): Promise<ChainStatusDto> {
  const env = getEnv();
  const checkedAt = new Date().toISOString();
  // the witness is read before the walk's bounds, so the checkpoint it names is inside them
  let witness;
  let unreadable: string | undefined;
  try {
    witness = readWitness(env.SIGNET_DATA_DIR, databaseUrl);
  } catch (err) {
    unreadable = (err as Error).message;
  }
  const report = await verifyAuditChain(db, { witness });
  if (unreadable && report.ok) {
    // a damaged witness is reported, not ignored: overwriting it is one way to hide a rollback
    const problem = { kind: "witness-signature", afterSeq: null, throughSeq: null, checkpoint: null, message: `the local witness cannot be read: ${unreadable}` };
    return chainStatusDto.parse({ ...report, ok: false, witness: "failed", problem, keyFingerprint: getCheckpointSigner(env).keyId, checkedAt });
  }
  return chainStatusDto.parse({ ...report, keyFingerprint: getCheckpointSigner(env).keyId, checkedAt });
}

/**
 * The JSON export: events up to the newest checkpoint (read first, so appends during the export are
 * left out rather than left unanchored), in chain order, with that checkpoint and its public key.
 * Without filters it is the whole chain and verifies offline; with filters, `complete` is false.
 */
export async function buildAuditExport(db: Db, q: AuditQuery, cap = 1_000_000): Promise<AuditExport> {
  const env = getEnv();
  const signer = getCheckpointSigner(env);
  const cp = await latestCheckpoint(db);
  const filters = auditFilters(q);
  const complete = Object.keys(filters).length === 0 && q.before === undefined;
  const events: AuditExport["events"] = [];
  if (cp && complete) {
    for await (const page of pageAuditEvents(db, cp.seq, 500)) for (const l of page) if (events.length < cap) events.push(toExportedEvent(l));
  } else {
    const through = cp?.seq ?? (await db.verificationEvent.findFirst({ orderBy: { seq: "desc" }, select: { seq: true } }))?.seq ?? 0n;
    let after = -1n;
    while (events.length < cap) {
      const page = await db.verificationEvent.findMany({
        where: { ...filters, seq: { gt: after, lte: through, ...(q.before !== undefined ? { lt: q.before } : {}) } },
        orderBy: { seq: "asc" },
        take: 500,
      });
      for (const r of page) events.push(toExportedEvent(toStoredLink(r)));
      if (page.length < 500) break;
      after = page[page.length - 1]!.seq;
    }
  }
  return {
    format: EXPORT_FORMAT,
    version: 1,
    exportedAt: new Date().toISOString(),
    complete: complete && events.length < cap,
    filters: Object.fromEntries(Object.entries(q).filter(([k, v]) => k !== "limit" && v !== undefined).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : String(v)])),
    checkpoint: cp ? { seq: cp.seq.toString(), hash: cp.hash, at: cp.at, keyId: cp.keyId, signature: cp.signature } : null,
    publicKey: { pem: publicKeyPem(signer.publicKey), fingerprint: signer.keyId },
    events: events.slice(0, cap),
  };
}
