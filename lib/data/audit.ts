import "server-only";
import type { Db } from "@/lib/db/client";
import type { Prisma } from "@/lib/generated/prisma/client";
import { verifyAuditChain } from "@/lib/audit/store";
import { chainStatusDto, type ChainStatusDto } from "@/lib/dto/dashboard";
import { auditPageDto, type AuditPageDto, type AuditQuery } from "@/lib/dto/read";

/** Audit events, newest first, keyset-paginated by sequence number. */
export async function listAuditEvents(db: Db, q: AuditQuery): Promise<AuditPageDto> {
  const where: Prisma.VerificationEventWhereInput = {
    ...(q.before !== undefined ? { seq: { lt: q.before } } : {}),
    ...(q.kind ? { kind: q.kind } : {}),
    ...(q.verdict ? { verdict: q.verdict } : {}),
    ...(q.imageDigest ? { imageDigest: q.imageDigest } : {}),
    ...(q.cluster ? { clusterName: q.cluster } : {}),
    ...(q.from || q.to ? { occurredAt: { ...(q.from ? { gte: q.from } : {}), ...(q.to ? { lte: q.to } : {}) } } : {}),
  };
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

interface ChainCacheEntry {
  headSeq: string;
  at: number;
  result: Omit<ChainStatusDto, "cached">;
}
let chainCache: ChainCacheEntry | undefined;
let chainInFlight: Promise<ChainCacheEntry> | undefined;

/** How long a verified chain whose head did not move is trusted without walking it again. */
const CHAIN_CACHE_MS = 10 * 60_000;

/**
 * Chain verification status for the audit page. Walking the chain reads every event, so the result is
 * cached per process while the head of the chain does not move (rows cannot be changed in place: a
 * trigger refuses UPDATE and DELETE), and concurrent callers share one walk.
 */
export async function getAuditChainStatus(db: Db, opts: { force?: boolean; now?: () => number } = {}): Promise<ChainStatusDto> {
  const now = opts.now ?? Date.now;
  const head = await db.verificationEvent.findFirst({ orderBy: { seq: "desc" }, select: { seq: true } });
  const headSeq = head?.seq.toString() ?? "0";
  if (!opts.force && chainCache && chainCache.headSeq === headSeq && now() - chainCache.at < CHAIN_CACHE_MS) {
    return chainStatusDto.parse({ ...chainCache.result, cached: true });
  }
  chainInFlight ??= (async () => {
    try {
      const check = await verifyAuditChain(db);
      const entry: ChainCacheEntry = {
        headSeq,
        at: now(),
        result: {
          ok: check.ok,
          checked: check.checked,
          brokenAt: check.ok ? null : check.brokenAt.toString(),
          reason: check.ok ? null : check.reason,
          checkedAt: new Date(now()).toISOString(),
        },
      };
      chainCache = entry;
      return entry;
    } finally {
      chainInFlight = undefined;
    }
  })();
  const entry = await chainInFlight;
  return chainStatusDto.parse({ ...entry.result, cached: false });
}

/** Drops the cached chain status (tests). */
export function resetAuditChainCache(): void {
  chainCache = undefined;
}
