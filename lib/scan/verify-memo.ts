import "server-only";
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { DiscoveredArtifact, ImageAt } from "@/lib/evidence/types";
import type { TrustRoot } from "@/lib/sigstore";
import type { PublicKeyCandidate, VerifiedEvidence } from "@/lib/sigstore/types";

/**
 * Verification results kept by what they were computed from: the image, its artifacts (manifest and
 * layer digests — digest-verified bytes — and annotations, where simple-signing signatures live),
 * the candidate keys and the trusted roots. A rescan re-verifies no signature whose inputs did not
 * change (at 10,000 images, ~5 s of CPU on the two-core machine); a new key, a rotated root or a new
 * signature is a new entry. Results a certificate was checked against the clock for (keyless, with
 * neither a transparency-log entry nor a timestamp) are never kept: they may expire.
 */
export type VerifyInput = { image: ImageAt; artifacts: DiscoveredArtifact[]; keys: PublicKeyCandidate[]; now: Date; trust: readonly TrustRoot[] };

/** Entries: one per image (a few KB each for key-signed images). */
const MAX_ENTRIES = 12_000;
/**
 * And a bound in bytes, whatever the entries hold: results carry what signatures say (annotations,
 * statements, provenance), which a registry chooses, so a count alone bounds nothing. Sized as twice
 * the JSON length (a rough measure of the heap the objects take); the worker's heap is 192 MB by
 * default, about half of it the code and the query compiler. A result larger than an eighth of the
 * bound is not kept.
 */
const MAX_BYTES = 24 * 1024 * 1024;

/** The heap an entry is counted for. */
export function resultSize(v: VerifiedEvidence[]): number {
  return Math.max(1, JSON.stringify(v).length * 2);
}

/**
 * An entry not used for this long may make room for a new one (it outlives several scan intervals:
 * a running image's entry is used by every scan).
 */
export const MEMO_UNUSED_MS = 30 * 60_000;
const PURGE_EVERY_MS = 60_000;

/**
 * Full of entries used within MEMO_UNUSED_MS, the memo keeps them and does not take the new result:
 * scans go over the same images in a cycle, and a least-recently-used memo smaller than that cycle
 * (10,000 images at 100,000 pods: about 9,000 key-signed results fit the byte bound) evicts each
 * entry just before its next use — every rescan verified most signatures again. Kept this way, the
 * entries that fit are hits on every scan, and a new result takes the place of one no scan used lately
 * (an image no longer running, a key rotated away).
 */
export function memoizeVerification(
  verify: (input: VerifyInput) => VerifiedEvidence[],
  { max = MAX_ENTRIES, maxBytes = MAX_BYTES, unusedMs = MEMO_UNUSED_MS }: { max?: number; maxBytes?: number; unusedMs?: number } = {},
): (input: VerifyInput) => VerifiedEvidence[] {
  const kept = new LRUCache<string, VerifiedEvidence[]>({
    max,
    maxSize: maxBytes,
    maxEntrySize: Math.floor(maxBytes / 8),
    sizeCalculation: resultSize,
    // an entry's age is the time since its last use
    ttl: unusedMs,
    updateAgeOnGet: true,
  });
  let purgedAt = Number.NEGATIVE_INFINITY;
  return (input) => {
    const key = verificationKey(input);
    const hit = kept.get(key);
    // the clock value passed in is recorded on each result
    if (hit) return hit.map((v) => ({ ...v, verifiedAt: input.now.toISOString() }));
    const out = verify(input);
    if (out.every((v) => v.checkedAt.every((c) => c.source !== "now"))) {
      const size = resultSize(out);
      const full = () => kept.size >= max || kept.calculatedSize + size > maxBytes;
      if (full() && performance.now() - purgedAt >= PURGE_EVERY_MS) {
        // room is made only of entries no scan used lately (at most once a minute: a pass over them all)
        kept.purgeStale();
        purgedAt = performance.now();
      }
      if (!full()) kept.set(key, out, { size });
    }
    return out;
  };
}

function verificationKey({ image, artifacts, keys, trust }: VerifyInput): string {
  const h = createHash("sha256").update("verify-v1\n");
  h.update(`${JSON.stringify([image.registry, image.repository, image.digest])}\n`);
  for (const a of artifacts) {
    h.update(
      `${JSON.stringify([a.kind, a.source, a.tag ?? null, a.manifestDigest, a.manifestMediaType, a.artifactType ?? null, a.subjectDigest ?? null, a.annotations, a.layers.map((l) => [l.digest, l.mediaType, l.size, l.annotations, l.skipped ?? null, l.content ? 1 : 0])])}\n`,
    );
  }
  h.update("keys\n");
  for (const k of keys) h.update(`${JSON.stringify([k.keyId, k.pem])}\n`);
  h.update("trust\n");
  for (const t of trust) h.update(`${JSON.stringify([t.id, t.sha256])}\n`);
  return h.digest("hex");
}
