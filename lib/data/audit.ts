import "server-only";
import type { Db } from "@/lib/db/client";
import type { Prisma } from "@/lib/generated/prisma/client";
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
