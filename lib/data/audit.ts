import "server-only";
import type { Db } from "@/lib/db/client";
import { Prisma } from "@/lib/generated/prisma/client";
import { ApiError } from "@/lib/api/errors";
import { describeAuditEvent } from "@/lib/audit/describe";
import { getCheckpointSigner } from "@/lib/audit/keys";
import { publicKeyPem } from "@/lib/audit/checkpoint";
import { EXPORT_FORMAT, toExportedEvent, type AuditExport } from "@/lib/audit/export-format";
import { latestCheckpoint, pageAuditEvents, recordVerifiedPrefix, toStoredLink, verifyAuditChain, verifyAuditChainSinceVerified } from "@/lib/audit/store";
import type { ChainReport } from "@/lib/audit/verify";
import type { StoredLink } from "@/lib/audit/chain";
import { readWitness } from "@/lib/audit/witness";
import { getEnv } from "@/lib/env";
import { chainStatusDto, type ChainStatusDto } from "@/lib/dto/dashboard";
import { auditPageDto, type AuditPageDto, type AuditQuery } from "@/lib/dto/read";
import { normalizeFingerprint } from "@/lib/trust/facts";
import { authorityNames, listAuthorities } from "@/lib/trust/inventory";

/**
 * The text an audit search looks in, lower-cased. The SAME expression is indexed with pg_trgm's
 * gin_trgm_ops for non-verdict events (migration 20261206231000_audit_search_non_verdict): change both
 * together, or the search stops using the index.
 */
const SEARCH_TEXT = Prisma.sql`lower(coalesce("actor", '') || ' ' || coalesce("clusterName", '') || ' ' || coalesce("namespace", '') || ' ' || coalesce("workload", '') || ' ' || coalesce("imageDigest", '') || ' ' || coalesce("policyName", '') || ' ' || "details"::text)`;
/** A text search finds at most this many events (the newest), and gives up after SEARCH_TIMEOUT_MS. */
export const SEARCH_MAX_MATCHES = 10_000;
const SEARCH_TIMEOUT_MS = 5_000;

/** `term` as a LIKE pattern that matches it literally, anywhere (no regular expression). */
export function likeContains(term: string): string {
  return `%${term.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Sequence numbers of the newest administrative, scan and system events (below `before`) whose text
 * contains `q.q`: LIKE through the partial trigram index (verdict events are left out: the bulk of the
 * log, found by their digest, cluster and verdict filters), bounded in matches and time. A search too broad to finish in time is a 422 asking for
 * more words or a narrower range, never a long-running query.
 */
async function searchSeqs(db: Db, q: AuditQuery): Promise<bigint[]> {
  // verdict events are not searched (the partial index leaves them out): their filters find them
  const conds = [Prisma.sql`"kind" <> 'verdict'`, Prisma.sql`${SEARCH_TEXT} LIKE ${likeContains(q.q!)}`];
  if (q.kind) conds.push(Prisma.sql`"kind" = ${q.kind}`);
  if (q.actor) conds.push(Prisma.sql`"actor" = ${q.actor}`);
  if (q.policy) conds.push(Prisma.sql`"policyName" = ${q.policy}`);
  if (q.policyVersion !== undefined) conds.push(Prisma.sql`"policyVersion" = ${q.policyVersion}`);
  if (q.from) conds.push(Prisma.sql`"occurredAt" >= ${q.from}`);
  if (q.to) conds.push(Prisma.sql`"occurredAt" <= ${q.to}`);
  if (q.before !== undefined) conds.push(Prisma.sql`"seq" < ${q.before}`);
  try {
    const [, rows] = await db.$transaction([
      db.$executeRaw`SELECT set_config('statement_timeout', ${String(SEARCH_TIMEOUT_MS)}, true)`,
      db.$queryRaw<{ seq: bigint }[]>`SELECT "seq" FROM "VerificationEvent" WHERE ${Prisma.join(conds, " AND ")} ORDER BY "seq" DESC LIMIT ${SEARCH_MAX_MATCHES}`,
    ]);
    return rows.map((r) => r.seq);
  } catch (err) {
    if (/statement timeout|57014/.test(String((err as Error).message))) {
      throw new ApiError("validation_failed", "The search matches too much to finish: add words, an actor or a date range.", [{ path: "q", message: "too broad" }]);
    }
    throw err;
  }
}

/**
 * Sequence numbers of the newest administrative events concerning the key `q.key` (below `before`): the
 * authority events naming it (by name, or by fingerprint: a revocation of an inline key), and the
 * creations, changes and archivals of the policies that trust it (a key written inline changes with its
 * policy). Read through the (kind, occurredAt) index: administrative events are few; bounded like the
 * text search. An unknown key name still finds events naming it (a key removed since).
 */
async function keySeqs(db: Db, q: AuditQuery): Promise<bigint[]> {
  const entry = (await listAuthorities(db)).find((a) => a.name === q.key);
  const hex = entry?.fingerprint ? entry.fingerprint.toLowerCase().replace(/^sha256:/, "") : null;
  const policies = [...new Set(entry?.policies.map((p) => p.policy) ?? [])];
  const name = q.key!;
  const conds = [
    Prisma.sql`"kind" = 'admin'`,
    Prisma.sql`(("details"->>'action' LIKE 'authority.%' AND (
        "details"->>'name' = ${name} OR "details"->>'from' = ${name} OR "details"->>'to' = ${name} OR "details"->>'authority' = ${name}
        OR (${hex}::text IS NOT NULL AND lower(replace("details"->>'fingerprint', 'sha256:', '')) = ${hex}::text)))
      OR ("details"->>'action' LIKE 'policy.%' AND "policyName" = ANY(${policies}::text[])))`,
  ];
  if (q.actor) conds.push(Prisma.sql`"actor" = ${q.actor}`);
  if (q.from) conds.push(Prisma.sql`"occurredAt" >= ${q.from}`);
  if (q.to) conds.push(Prisma.sql`"occurredAt" <= ${q.to}`);
  if (q.before !== undefined) conds.push(Prisma.sql`"seq" < ${q.before}`);
  const [, rows] = await db.$transaction([
    db.$executeRaw`SELECT set_config('statement_timeout', ${String(SEARCH_TIMEOUT_MS)}, true)`,
    db.$queryRaw<{ seq: bigint }[]>`SELECT "seq" FROM "VerificationEvent" WHERE ${Prisma.join(conds, " AND ")} ORDER BY "seq" DESC LIMIT ${SEARCH_MAX_MATCHES}`,
  ]);
  return rows.map((r) => r.seq);
}

/** The filters of an audit query, but `before` (paging); a text search and a key resolve to the events they found. */
async function auditFilters(db: Db, q: AuditQuery): Promise<Prisma.VerificationEventWhereInput> {
  const [searched, byKey] = await Promise.all([q.q ? searchSeqs(db, q) : null, q.key ? keySeqs(db, q) : null]);
  return {
    ...(q.kind ? { kind: q.kind } : {}),
    ...(q.verdict ? { verdict: q.verdict } : {}),
    ...(q.imageDigest ? { imageDigest: q.imageDigest } : {}),
    ...(q.cluster ? { clusterName: q.cluster } : {}),
    ...(q.actor ? { actor: q.actor } : {}),
    // the events under a policy (verdicts under it, changes of it), and of one of its versions: the
    // policy page's counts per version open this list
    ...(q.policy ? { policyName: q.policy } : {}),
    ...(q.policyVersion !== undefined ? { policyVersion: q.policyVersion } : {}),
    ...(q.from || q.to ? { occurredAt: { ...(q.from ? { gte: q.from } : {}), ...(q.to ? { lte: q.to } : {}) } } : {}),
    ...(searched || byKey ? { AND: [searched, byKey].filter((s) => s !== null).map((seqs) => ({ seq: { in: seqs } })) } : {}),
  };
}

type EventRow = Awaited<ReturnType<Db["verificationEvent"]["findMany"]>>[number];
const toEventDto = (e: EventRow, policyIds: ReadonlyMap<string, string>, names: Readonly<Record<string, string>>) => ({
  ...e,
  seq: e.seq.toString(),
  occurredAt: e.occurredAt.toISOString(),
  policyId: e.policyName ? (policyIds.get(e.policyName) ?? null) : null,
  summary: describeAuditEvent(e),
  signerKeys: [...new Set(eventSigners(e).flatMap((s) => (names[s] ? [names[s]] : [])))],
});

/**
 * The signers of the evidence a verdict event rests on, as signer ids ("key:sha256:<hex>",
 * "keyless:<issuer>|<subject>", the form `authorityNames` names): its stored evidence summary
 * (lib/scan/evaluate-image `evidenceSummary`), read defensively (older events, other kinds).
 */
function eventSigners(e: EventRow): string[] {
  if (e.kind !== "verdict" || !Array.isArray(e.evidence)) return [];
  const out: string[] = [];
  for (const item of e.evidence) {
    const signer = item && typeof item === "object" && !Array.isArray(item) ? (item as { signer?: unknown }).signer : null;
    if (!signer || typeof signer !== "object") continue;
    const { key, identity, issuer } = signer as { key?: unknown; identity?: unknown; issuer?: unknown };
    if (Array.isArray(key)) for (const fp of key) if (typeof fp === "string") out.push(`key:${normalizeFingerprint(fp)}`);
    if (typeof identity === "string" && typeof issuer === "string") out.push(`keyless:${issuer}|${identity}`);
  }
  return out;
}

/** The ids of the policies named by these events (their rows link to the policy's page). */
async function policyIdsOf(db: Db, rows: readonly EventRow[]): Promise<Map<string, string>> {
  const names = [...new Set(rows.map((r) => r.policyName).filter((n): n is string => n !== null))];
  if (names.length === 0) return new Map();
  const found = await db.policy.findMany({ where: { name: { in: names } }, select: { id: true, name: true } });
  return new Map(found.map((p) => [p.name, p.id]));
}

/** Audit events, newest first, keyset-paginated by sequence number. */
export async function listAuditEvents(db: Db, q: AuditQuery): Promise<AuditPageDto> {
  const filters = await auditFilters(db, q);
  const where: Prisma.VerificationEventWhereInput = { AND: [filters, ...(q.before !== undefined ? [{ seq: { lt: q.before } }] : [])] };
  const rows = await db.verificationEvent.findMany({ where, orderBy: { seq: "desc" }, take: q.limit + 1 });
  const page = rows.slice(0, q.limit);
  // the keys' names are read only for a page that has signers to name
  const [policyIds, names] = await Promise.all([policyIdsOf(db, page), page.some((e) => eventSigners(e).length > 0) ? authorityNames(db) : {}]);
  return auditPageDto.parse({
    events: page.map((e) => toEventDto(e, policyIds, names)),
    nextBefore: rows.length > q.limit ? page[page.length - 1]!.seq.toString() : null,
  });
}

/**
 * Everyone who appears as an actor, for the audit page's filter: a loose index scan over
 * ("actor", "seq") — one index probe per distinct actor, whatever the size of the log; at most 200.
 */
export async function listAuditActors(db: Db): Promise<string[]> {
  const rows = await db.$queryRaw<{ actor: string }[]>`
    WITH RECURSIVE a AS (
      (SELECT "actor" FROM "VerificationEvent" WHERE "actor" IS NOT NULL ORDER BY "actor" LIMIT 1)
      UNION ALL
      SELECT (SELECT v."actor" FROM "VerificationEvent" v WHERE v."actor" > a."actor" ORDER BY v."actor" LIMIT 1) FROM a WHERE a."actor" IS NOT NULL
    )
    SELECT "actor" FROM a WHERE "actor" IS NOT NULL LIMIT 200`;
  return rows.map((r) => r.actor);
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
  return (await checkChain(db, databaseUrl, "full")).status;
}

/**
 * The chain's status for the auditor's report: walked only from the newest verified prefix (the last
 * full walk's signed statement, lib/audit/store `verifyAuditChainSinceVerified`), with that prefix
 * (`from`, null when it walked from the first event). A full walk when none holds.
 */
export async function getAuditChainStatusSinceVerified(
  db: Db,
  databaseUrl: string,
): Promise<{ status: ChainStatusDto; from: { seq: string; at: string; events: number } | null }> {
  return checkChain(db, databaseUrl, "since-verified");
}

async function checkChain(
  db: Db,
  databaseUrl: string,
  mode: "full" | "since-verified",
): Promise<{ status: ChainStatusDto; from: { seq: string; at: string; events: number } | null }> {
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
  let report: ChainReport;
  let from: { seq: string; at: string; events: number } | null = null;
  if (mode === "full") {
    report = await verifyAuditChain(db, { witness });
    // the next auditor's report walks only what follows (a damaged witness records nothing)
    if (!unreadable) await recordVerifiedPrefix(db, report, report.checked);
  } else {
    const r = await verifyAuditChainSinceVerified(db, { witness: unreadable ? null : witness, record: !unreadable });
    report = r;
    from = r.from ? { seq: r.from.seq.toString(), at: r.from.at, events: r.from.events } : null;
  }
  if (unreadable && report.ok) {
    // a damaged witness is reported, not ignored: overwriting it is one way to hide a rollback
    const problem = { kind: "witness-signature", afterSeq: null, throughSeq: null, checkpoint: null, message: `the local witness cannot be read: ${unreadable}` };
    return { status: chainStatusDto.parse({ ...report, ok: false, witness: "failed", problem, keyFingerprint: getCheckpointSigner(env).keyId, checkedAt }), from };
  }
  return { status: chainStatusDto.parse({ ...report, keyFingerprint: getCheckpointSigner(env).keyId, checkedAt }), from };
}

/**
 * The JSON export: events up to the newest checkpoint (read first, so appends during the export are
 * left out rather than left unanchored), in chain order, with that checkpoint and its public key.
 * Without filters it is the whole chain and verifies offline; with filters, `complete` is false.
 * `head` is every member but the events; `events` reads them page by page (rows up to the checkpoint
 * never change, so pages read one after the other make one consistent export); `complete()` is known
 * once they are read.
 */
export async function auditExportParts(
  db: Db,
  q: AuditQuery,
  cap = 1_000_000,
): Promise<{ head: Omit<AuditExport, "events" | "complete">; events: AsyncGenerator<AuditExport["events"][number]>; complete: () => boolean }> {
  const env = getEnv();
  const signer = getCheckpointSigner(env);
  const cp = await latestCheckpoint(db);
  const filters = await auditFilters(db, q);
  const unfiltered = Object.keys(filters).length === 0 && q.before === undefined;
  let count = 0;
  async function* pages(): AsyncGenerator<StoredLink[]> {
    if (cp && unfiltered) {
      yield* pageAuditEvents(db, cp.seq, 500);
      return;
    }
    const through = cp?.seq ?? (await db.verificationEvent.findFirst({ orderBy: { seq: "desc" }, select: { seq: true } }))?.seq ?? 0n;
    let after = -1n;
    for (;;) {
      const page = await db.verificationEvent.findMany({
        where: { AND: [filters, { seq: { gt: after, lte: through, ...(q.before !== undefined ? { lt: q.before } : {}) } }] },
        orderBy: { seq: "asc" },
        take: 500,
      });
      yield page.map(toStoredLink);
      if (page.length < 500) return;
      after = page[page.length - 1]!.seq;
    }
  }
  async function* events(): AsyncGenerator<AuditExport["events"][number]> {
    for await (const page of pages()) {
      for (const l of page) {
        if (count >= cap) return;
        count += 1;
        yield toExportedEvent(l);
      }
    }
  }
  return {
    head: {
      format: EXPORT_FORMAT,
      version: 1,
      exportedAt: new Date().toISOString(),
      filters: Object.fromEntries(Object.entries(q).filter(([k, v]) => k !== "limit" && v !== undefined).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : String(v)])),
      checkpoint: cp ? { seq: cp.seq.toString(), hash: cp.hash, at: cp.at, keyId: cp.keyId, signature: cp.signature } : null,
      publicKey: { pem: publicKeyPem(signer.publicKey), fingerprint: signer.keyId },
    },
    events: events(),
    complete: () => unfiltered && count < cap,
  };
}
