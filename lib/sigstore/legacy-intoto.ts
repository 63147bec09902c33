/**
 * Rekor `intoto 0.0.1` entries, written by older `cosign attest` for legacy .att layers. sigstore-js
 * refuses them ("unsupported intoto version"), so this module checks what cosign checks: the SET
 * (same algorithm as sigstore-js tlog/set.ts, with @sigstore/core's JCS and crypto helpers), and the
 * body binding — content.hash == sha256(envelope as stored), payloadHash == sha256(payload). The body's
 * public key / certificate is bound by verify-entity like every other kind.
 */
import type { TransparencyLogEntry } from "@sigstore/bundle";
import { crypto as coreCrypto, json } from "@sigstore/core";
import { z } from "zod";
import { parseJson, parseWith, sha256Hex } from "./encoding";
import { LIMITS } from "./limits";
import type { TrustRoot } from "./trusted-root";
import type { EvidenceReason } from "./types";

type SignatureContent = { compareDigest(digest: Buffer): boolean };

export function isLegacyIntotoEntry(entry: TransparencyLogEntry | undefined): entry is TransparencyLogEntry {
  return entry?.kindVersion.kind === "intoto" && entry.kindVersion.version === "0.0.1";
}

/** Verifies the entry's SET with a trusted log whose logID matches and whose key was valid at integratedTime. */
export function verifyLegacySet(entry: TransparencyLogEntry, roots: readonly TrustRoot[]): { ok: boolean; rootId: string | null } {
  const set = entry.inclusionPromise?.signedEntryTimestamp;
  if (!set || set.length === 0) return { ok: false, rootId: null };
  const integratedTime = Number(entry.integratedTime);
  const logIndex = Number(entry.logIndex);
  if (!Number.isSafeInteger(integratedTime) || !Number.isSafeInteger(logIndex)) return { ok: false, rootId: null };
  const at = new Date(integratedTime * 1000);
  const data = Buffer.from(
    json.canonicalize({
      body: Buffer.from(entry.canonicalizedBody).toString("base64"),
      integratedTime,
      logIndex,
      logID: Buffer.from(entry.logId.keyId).toString("hex"),
    }),
    "utf8",
  );
  for (const root of roots) {
    for (const log of root.material.tlogs) {
      if (!log.logID.equals(entry.logId.keyId) || at < log.validFor.start || at > log.validFor.end) continue;
      if (coreCrypto.verify(data, log.publicKey, set)) return { ok: true, rootId: root.id };
    }
  }
  return { ok: false, rootId: null };
}

const hash = z.object({ algorithm: z.literal("sha256"), value: z.string().regex(/^[0-9a-f]{64}$/) }).loose();
const intoto001 = z.object({ spec: z.object({ content: z.object({ hash, payloadHash: hash }).loose() }).loose() }).loose();

/** Body binding of an intoto 0.0.1 entry to the stored envelope bytes and the signed payload. */
export function checkLegacyIntotoBody(entry: TransparencyLogEntry, storedEnvelope: Buffer | undefined, content: SignatureContent): EvidenceReason[] {
  const body = parseWith(intoto001, parseJson(Buffer.from(entry.canonicalizedBody), "tlogBody", LIMITS.tlogBodyBytes), "tlogBody");
  const reasons: EvidenceReason[] = [];
  if (!storedEnvelope || body.spec.content.hash.value !== sha256Hex(storedEnvelope)) {
    reasons.push({ code: "tlog-body-mismatch", message: "intoto entry does not hash this envelope" });
  }
  if (!content.compareDigest(Buffer.from(body.spec.content.payloadHash.value, "hex"))) {
    reasons.push({ code: "tlog-body-mismatch", message: "intoto entry does not hash this payload" });
  }
  return reasons;
}
