import "server-only";
import type { Db } from "@/lib/db/client";
import type { Prisma } from "@/lib/generated/prisma/client";
import { checkLinks, GENESIS_HASH, hashEvent, type AuditContent, type ChainCheck } from "@/lib/audit/chain";

/** One event to append. Times are set here (not by the database) because they are hashed. */
export interface NewAuditEvent {
  kind: "verdict" | "admin" | "scan" | "system";
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

const CHAIN_LOCK = 72_707_370; // pg_advisory_xact_lock key serializing appends

/** Round-trips through JSON so that what is hashed is exactly what jsonb stores and returns. */
function plain(value: unknown, fallback: unknown): unknown {
  return value === undefined ? fallback : JSON.parse(JSON.stringify(value));
}

function toContent(e: NewAuditEvent, at: Date): AuditContent {
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
    reasons: plain(e.reasons, []),
    evidence: plain(e.evidence, []),
    details: plain(e.details, {}),
  };
}

/**
 * Appends events to the chain inside `tx` (or a new transaction). A transaction-scoped advisory lock
 * serializes appenders across processes, so sequence order is chain order. Pass the caller's
 * transaction to make events commit atomically with the verdicts they describe.
 */
export async function appendAuditEvents(db: Db | Prisma.TransactionClient, events: NewAuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  const run = async (tx: Prisma.TransactionClient) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CHAIN_LOCK})`;
    const last = await tx.verificationEvent.findFirst({ orderBy: { seq: "desc" }, select: { hash: true } });
    let prev = last?.hash ?? GENESIS_HASH;
    const rows: Prisma.VerificationEventCreateManyInput[] = [];
    for (const e of events) {
      // timestamptz(3): hash the millisecond value the database will return
      const at = new Date(Math.floor((e.occurredAt ?? new Date()).getTime()));
      const content = toContent(e, at);
      const hash = hashEvent(prev, content);
      rows.push({
        ...content,
        occurredAt: at,
        verdict: content.verdict as Prisma.VerificationEventCreateManyInput["verdict"],
        previousVerdict: content.previousVerdict as Prisma.VerificationEventCreateManyInput["previousVerdict"],
        reasons: content.reasons as Prisma.InputJsonValue,
        evidence: content.evidence as Prisma.InputJsonValue,
        details: content.details as Prisma.InputJsonValue,
        prevHash: prev,
        hash,
      });
      prev = hash;
    }
    // a few hundred rows per statement: the query engine's WebAssembly memory grows to the largest one
    for (let i = 0; i < rows.length; i += 250) await tx.verificationEvent.createMany({ data: rows.slice(i, i + 250) });
  };
  if ("$transaction" in db) await db.$transaction(run, { timeout: 60_000 });
  else await run(db);
}

/** Walks the whole chain in sequence order, in pages, and reports the first broken row. */
export async function verifyAuditChain(db: Db, pageSize = 5000): Promise<ChainCheck> {
  let after: bigint | undefined;
  let prev = GENESIS_HASH;
  let checked = 0;
  for (;;) {
    const page = await db.verificationEvent.findMany({
      where: after === undefined ? {} : { seq: { gt: after } },
      orderBy: { seq: "asc" },
      take: pageSize,
    });
    if (page.length === 0) return { ok: true, checked, lastHash: prev };
    const result = checkLinks(
      page.map((r) => ({
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
      })),
      prev,
      checked,
    );
    if (!result.ok) return result;
    prev = result.lastHash;
    checked = result.checked;
    after = page[page.length - 1]!.seq;
  }
}
