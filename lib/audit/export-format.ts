import { z } from "zod";
import type { AuditContent, StoredLink } from "@/lib/audit/chain";
import type { StoredCheckpoint } from "@/lib/audit/checkpoint";

/**
 * The JSON audit export (`/api/audit/export?format=json`): events with their chain links and the newest
 * signed checkpoint they lead to, with the public key that verifies it, so an auditor can check the
 * export offline (`signet audit verify --file`). An export under filters holds some events only: its
 * links cannot be followed (`complete: false`), only an unfiltered export verifies against its checkpoint.
 */
export const EXPORT_FORMAT = "signet-audit-export";

const seq = z.string().regex(/^\d{1,19}$/);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const nullableText = z.string().max(100_000).nullable();

export const exportedEvent = z.object({
  seq,
  prevHash: hex64,
  hash: hex64,
  occurredAt: z.string().max(40),
  kind: z.string().max(100),
  actor: nullableText,
  clusterName: nullableText,
  namespace: nullableText,
  workload: nullableText,
  containerId: nullableText,
  imageDigest: nullableText,
  policyName: nullableText,
  policyVersion: z.number().int().nullable(),
  verdict: nullableText,
  previousVerdict: nullableText,
  reasons: z.unknown(),
  evidence: z.unknown(),
  details: z.unknown(),
});
export type ExportedEvent = z.infer<typeof exportedEvent>;

export const exportedCheckpoint = z.object({ seq, hash: hex64, at: z.string().max(40), keyId: hex64, signature: z.string().max(200) });

export const auditExport = z.object({
  format: z.literal(EXPORT_FORMAT),
  version: z.literal(1),
  exportedAt: z.string(),
  /** Every event from the first through the checkpoint's (no filter applied). */
  complete: z.boolean(),
  filters: z.record(z.string(), z.unknown()),
  checkpoint: exportedCheckpoint.nullable(),
  publicKey: z.object({ pem: z.string().max(10_000), fingerprint: hex64 }),
  events: z.array(exportedEvent),
});
export type AuditExport = z.infer<typeof auditExport>;

export function toExportedEvent(l: StoredLink): ExportedEvent {
  return { seq: l.seq.toString(), prevHash: l.prevHash, hash: l.hash, ...l.content } as ExportedEvent;
}

export function fromExportedEvent(e: ExportedEvent): StoredLink {
  const { seq: s, prevHash, hash, ...content } = e;
  return { seq: BigInt(s), prevHash, hash, content: content as AuditContent };
}

export function fromExportedCheckpoint(c: z.infer<typeof exportedCheckpoint>): StoredCheckpoint {
  return { id: "in the export", seq: BigInt(c.seq), hash: c.hash, at: c.at, keyId: c.keyId, signature: c.signature };
}
