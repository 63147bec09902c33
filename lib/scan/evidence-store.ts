import "server-only";
import { createHash } from "node:crypto";
import { insertRows } from "@/lib/db/bulk";
import type { Db } from "@/lib/db/client";
import { withTransaction } from "@/lib/db/transaction";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { DiscoveredArtifact, DiscoveryResult } from "@/lib/evidence/types";
import type { VerifiedEvidence } from "@/lib/sigstore/types";

/**
 * Evidence rows hold, per image, every artifact layer discovery found — with its bytes (base64), so
 * that a policy or key change re-verifies without refetching — and the facts of the last verification.
 */
interface RawLayer {
  artifact: Omit<DiscoveredArtifact, "layers">;
  layer: { index: number; digest: string; mediaType: string; size: number; annotations: Record<string, string>; content: string | null; skipped: string | null };
}

const KIND: Record<DiscoveredArtifact["kind"], "signature" | "attestation" | "sbom" | "bundle" | "other"> = {
  signature: "signature",
  attestation: "attestation",
  sbom: "sbom",
  bundle: "bundle",
  other: "other",
};

/**
 * Records a discovery outcome. Found / none replace the image's evidence set (a removed signature
 * disappears); an error keeps the stored evidence (never lose data on a failure) and marks the image.
 */
export async function storeDiscovery(db: Db, imageId: string, result: DiscoveryResult, now: Date): Promise<void> {
  await storeEvidenceBatch(db, [{ imageId, discovery: result }], now);
}

/** What one image's check learned, for storeEvidenceBatch. */
export interface EvidenceUpdate {
  imageId: string;
  /**
   * A discovery to record: found / none replace the evidence set, error marks the image and keeps
   * its evidence. Absent when the stored evidence was reused or found again unchanged.
   */
  discovery?: DiscoveryResult;
  /** Discovery ran and found exactly the stored artifacts: only discoveredAt moves. */
  rediscovered?: boolean;
  /** The stored evidence was reused because the registry's tag listing still shows its cosign tags. */
  revalidated?: boolean;
  /** Results of verifying the image's artifacts (absent when discovery failed: nothing to record). */
  verified?: VerifiedEvidence[];
  /** Image.verificationHash before this check: equal results are not written again. */
  storedHash?: string | null;
}

/**
 * Records that the stored evidence of `imageIds` was confirmed current against the registry at `at`
 * (a discovery, a tag listing showing the same cosign tags, the worker's revalidation): scans reuse it
 * without asking the registry until SIGNET_REVALIDATE_SECONDS after that (lib/scan/pipeline.ts
 * checkImages). `at` is taken before the registry was asked, so the bound is never overstated.
 */
export async function markRevalidated(db: Db | Prisma.TransactionClient, imageIds: readonly string[], at: Date): Promise<void> {
  if (imageIds.length === 0) return;
  await db.$executeRaw`UPDATE "Image" SET "revalidatedAt" = ${at} WHERE id = ANY(${[...imageIds]}::uuid[])`;
}

function evidenceRows(imageId: string, artifacts: readonly DiscoveredArtifact[], now: Date): Prisma.EvidenceCreateManyInput[] {
  return artifacts.flatMap((a) => {
    const { layers, ...artifact } = a;
    return layers.map((l, index) => {
      const raw: RawLayer = {
        artifact,
        layer: {
          index,
          digest: l.digest,
          mediaType: l.mediaType,
          size: l.size,
          annotations: l.annotations,
          content: l.content ? l.content.toString("base64") : null,
          skipped: l.skipped ?? null,
        },
      };
      return {
        imageId,
        kind: KIND[a.kind],
        artifactDigest: a.manifestDigest,
        layerIndex: index,
        layerDigest: l.digest,
        mediaType: l.mediaType,
        annotations: l.annotations,
        raw: raw as unknown as Prisma.InputJsonValue,
        fetchedAt: now,
      };
    });
  });
}

/** The verification columns of an evidence row. */
function verificationColumns(v: VerifiedEvidence, now: Date) {
  const signer = v.signer;
  const keyFp = v.matchedKeys[0]?.fingerprint ?? (signer?.kind === "key" ? signer.fingerprint : null);
  return {
    status: v.status,
    statusReason: v.reasons.map((r) => `${r.code}: ${r.message}`).join("; ").slice(0, 4000) || null,
    signerKind: signer?.kind ?? null,
    keyFingerprint: keyFp,
    certIdentity: signer?.kind === "keyless" ? signer.identity : null,
    certIssuer: signer?.kind === "keyless" ? signer.issuer : null,
    certExtensions: signer?.kind === "keyless" ? (signer.extensions as unknown as Prisma.InputJsonValue) : undefined,
    certNotBefore: signer?.kind === "keyless" ? new Date(signer.certificate.notBefore) : null,
    certNotAfter: signer?.kind === "keyless" ? new Date(signer.certificate.notAfter) : null,
    tlogLogIndex: v.tlog ? BigInt(v.tlog.logIndex) : null,
    // the log's time only when its SET verified (an inclusion proof alone does not sign integratedTime)
    tlogIntegratedTime: v.tlog?.verifiedSet ? new Date(v.tlog.integratedTimeISO) : null,
    tlogLogId: v.tlog?.logId ?? null,
    predicateType: v.predicateType,
    provenance: (v.provenance ?? undefined) as unknown as Prisma.InputJsonValue | undefined,
    verifiedAt: now,
  } satisfies Prisma.EvidenceUpdateManyMutationInput;
}

/** Every column an evidence row is created with (lib/db/bulk.ts insertRows: absent values are NULL). */
const EVIDENCE_COLUMNS = [
  "imageId", "kind", "artifactDigest", "layerIndex", "layerDigest", "mediaType", "annotations", "raw", "fetchedAt",
  "status", "statusReason", "signerKind", "keyFingerprint", "certIdentity", "certIssuer", "certExtensions", "certNotBefore", "certNotAfter",
  "tlogLogIndex", "tlogIntegratedTime", "tlogLogId", "predicateType", "provenance", "verifiedAt",
] as const;

const rowKey = (e: { artifactDigest: string; layerIndex?: number; layerDigest: string }) => `${e.artifactDigest}\u0000${e.layerIndex ?? 0}\u0000${e.layerDigest}`;
const originKey = (v: VerifiedEvidence) => rowKey({ artifactDigest: v.origin.manifestDigest, layerIndex: v.origin.layerIndex, layerDigest: v.origin.layerDigest });

/**
 * Stores what a batch of image checks learned, in one transaction and a few statements: replaced
 * evidence sets (stale rows deleted, new rows inserted with their verification results), errors
 * (the image is marked, its evidence kept), and verification results that changed (rows of an
 * unchanged evidence set are only rewritten when the results' hash moved).
 */
export async function storeEvidenceBatch(db: Db, updates: readonly EvidenceUpdate[], now: Date): Promise<void> {
  if (updates.length === 0) return;
  await withTransaction(
    db,
    async (tx) => {
      const replaced = updates.filter((u) => u.discovery && u.discovery.outcome !== "error");
      const existing = replaced.length
        ? await tx.evidence.findMany({
            where: { imageId: { in: replaced.map((u) => u.imageId) } },
            select: { id: true, imageId: true, artifactDigest: true, layerIndex: true, layerDigest: true },
          })
        : [];
      const existingByImage = new Map<string, typeof existing>();
      for (const e of existing) existingByImage.set(e.imageId, [...(existingByImage.get(e.imageId) ?? []), e]);

      const stale: string[] = [];
      const fresh: Prisma.EvidenceCreateManyInput[] = [];
      const rewrite: Array<{ imageId: string; v: VerifiedEvidence }> = [];
      const hashes = new Map<string, string>();
      for (const u of updates) {
        const hash = u.verified ? verificationHash(u.verified) : undefined;
        if (hash !== undefined) hashes.set(u.imageId, hash);
        const results = new Map((u.verified ?? []).map((v) => [originKey(v), v]));
        if (u.discovery && u.discovery.outcome !== "error") {
          // a row is the same evidence when artifact, position and layer bytes are all the same
          const rows = evidenceRows(u.imageId, u.discovery.outcome === "found" ? u.discovery.artifacts : [], now);
          const keep = new Set(rows.map(rowKey));
          const had = existingByImage.get(u.imageId) ?? [];
          for (const e of had) if (!keep.has(rowKey(e))) stale.push(e.id);
          const have = new Set(had.map(rowKey));
          for (const r of rows) {
            const v = results.get(rowKey(r));
            if (!have.has(rowKey(r))) fresh.push(v ? { ...r, ...verificationColumns(v, now) } : r);
            else if (v && hash !== u.storedHash) rewrite.push({ imageId: u.imageId, v });
          }
        } else if (u.verified && hash !== u.storedHash) {
          for (const v of u.verified) rewrite.push({ imageId: u.imageId, v });
        }
      }
      if (stale.length) await tx.evidence.deleteMany({ where: { id: { in: stale } } });
      await insertRows(tx, "Evidence", EVIDENCE_COLUMNS, fresh.map((r) => ({ status: "unverified", ...r })), { onConflictDoNothing: true });
      for (const { imageId, v } of rewrite) {
        await tx.evidence.updateMany({
          where: { imageId, artifactDigest: v.origin.manifestDigest, layerIndex: v.origin.layerIndex, layerDigest: v.origin.layerDigest },
          data: verificationColumns(v, now),
        });
      }

      // image columns: one statement per kind of change
      const errors = updates.filter((u) => u.discovery?.outcome === "error");
      for (const u of errors) {
        const d = u.discovery as Extract<DiscoveryResult, { outcome: "error" }>;
        await tx.image.update({ where: { id: u.imageId }, data: { discovery: "error", discoveryError: `${d.code}: ${d.reason}`.slice(0, 2000), discoveredAt: now } });
      }
      if (replaced.length) {
        await tx.$executeRaw`
          UPDATE "Image" i SET discovery = u.outcome::"DiscoveryOutcome", "discoveryError" = NULL, "discoveredAt" = ${now},
            "artifactDigests" = ARRAY(SELECT jsonb_array_elements_text(u.digests::jsonb))
          FROM unnest(${replaced.map((u) => u.imageId)}::uuid[], ${replaced.map((u) => u.discovery!.outcome)}::text[],
                      ${replaced.map((u) => JSON.stringify(u.discovery!.outcome === "found" ? u.discovery!.manifestDigests : []))}::text[]) AS u(id, outcome, digests)
          WHERE i.id = u.id`;
      }
      const rediscovered = updates.filter((u) => u.rediscovered).map((u) => u.imageId);
      if (rediscovered.length) await tx.image.updateMany({ where: { id: { in: rediscovered } }, data: { discoveredAt: now } });
      // confirmed current against the registry now: discovered (found / none), or its tag listing unchanged
      const confirmed = new Set(updates.filter((u) => u.revalidated || u.rediscovered || (u.discovery && u.discovery.outcome !== "error")).map((u) => u.imageId));
      const verified = updates.filter((u) => u.verified);
      // the common case of a rescan — confirmed current and verified to the same results — as one
      // row version per image in one statement (no join: the id list's index lookups)
      const same = new Set(verified.filter((u) => confirmed.has(u.imageId) && hashes.get(u.imageId) === u.storedHash).map((u) => u.imageId));
      if (same.size) await tx.$executeRaw`UPDATE "Image" SET "verifiedAt" = ${now}, "revalidatedAt" = ${now} WHERE id = ANY(${[...same]}::uuid[])`;
      await markRevalidated(tx, [...confirmed].filter((id) => !same.has(id)), now);
      // reused without a registry request (confirmed within the revalidation bound) and verified to the
      // same results: only when it was verified moves
      const sameUnconfirmed = verified.filter((u) => !confirmed.has(u.imageId) && hashes.get(u.imageId) === u.storedHash).map((u) => u.imageId);
      if (sameUnconfirmed.length) await tx.$executeRaw`UPDATE "Image" SET "verifiedAt" = ${now} WHERE id = ANY(${sameUnconfirmed}::uuid[])`;
      const kept = new Set([...same, ...sameUnconfirmed]);
      const rest = verified.filter((u) => !kept.has(u.imageId));
      if (rest.length) {
        await tx.$executeRaw`
          UPDATE "Image" i SET "verifiedAt" = ${now}, "verificationHash" = u.hash
          FROM unnest(${rest.map((u) => u.imageId)}::uuid[], ${rest.map((u) => hashes.get(u.imageId)!)}::text[]) AS u(id, hash)
          WHERE i.id = u.id`;
      }
    },
    { timeout: 120_000 },
  );
}

/** Rebuilds the discovered artifacts of an image from its stored evidence (no network). */
export async function loadStoredArtifacts(db: Db, imageId: string): Promise<DiscoveredArtifact[]> {
  return (await loadStoredArtifactsMany(db, [imageId])).get(imageId) ?? [];
}

/** loadStoredArtifacts for many images in one query; images without evidence map to []. */
export async function loadStoredArtifactsMany(db: Db, imageIds: readonly string[]): Promise<Map<string, DiscoveredArtifact[]>> {
  const out = new Map<string, DiscoveredArtifact[]>(imageIds.map((id) => [id, []]));
  if (imageIds.length === 0) return out;
  const rows = await db.evidence.findMany({ where: { imageId: { in: [...imageIds] } }, select: { imageId: true, raw: true }, orderBy: [{ imageId: "asc" }, { id: "asc" }] });
  const grouped = new Map<string, Array<{ raw: unknown }>>();
  for (const r of rows) grouped.set(r.imageId, [...(grouped.get(r.imageId) ?? []), r]);
  for (const [imageId, list] of grouped) out.set(imageId, artifactsFromRows(list));
  return out;
}

function artifactsFromRows(rows: ReadonlyArray<{ raw: unknown }>): DiscoveredArtifact[] {
  const byManifest = new Map<string, DiscoveredArtifact>();
  for (const r of rows) {
    const raw = r.raw as unknown as RawLayer | null;
    if (!raw?.artifact || !raw.layer) continue;
    let a = byManifest.get(raw.artifact.manifestDigest);
    if (!a) {
      a = { ...raw.artifact, layers: [] };
      byManifest.set(raw.artifact.manifestDigest, a);
    }
    a.layers[raw.layer.index] = {
      digest: raw.layer.digest,
      mediaType: raw.layer.mediaType,
      size: raw.layer.size,
      annotations: raw.layer.annotations,
      ...(raw.layer.content !== null ? { content: Buffer.from(raw.layer.content, "base64") } : {}),
      ...(raw.layer.skipped !== null ? { skipped: raw.layer.skipped } : {}),
    };
  }
  // a layer row may be missing (deleted in between): keep the array dense, preserving order
  return [...byManifest.values()].map((a) => ({ ...a, layers: a.layers.filter(Boolean) }));
}

/**
 * A digest of everything storeVerification writes for these results: equal hashes mean the stored
 * rows already say this, so a rescan with nothing changed writes nothing per evidence row.
 */
export function verificationHash(verified: readonly VerifiedEvidence[]): string {
  const h = createHash("sha256");
  for (const v of verified) {
    h.update(
      JSON.stringify([
        v.origin.manifestDigest,
        v.origin.layerIndex,
        v.origin.layerDigest,
        v.status,
        v.reasons.map((r) => [r.code, r.message]),
        v.matchedKeys.map((k) => k.fingerprint),
        v.signer ?? null,
        v.tlog ?? null,
        v.predicateType ?? null,
        v.provenance ?? null,
      ]),
    );
    h.update("\n");
  }
  return h.digest("hex");
}

/** Where an image's stored artifacts were found: its cosign tags and the referrers the referrers API listed. */
export interface StoredSources {
  tags: Set<string>;
  referrers: Set<string>;
}

/**
 * The cosign tags (tag and referrers-tag sources) and referrers-API manifests of the stored evidence
 * of many images, read from the evidence rows without their blobs (revalidation, lib/watch).
 */
export async function loadStoredSources(db: Db, imageIds: readonly string[]): Promise<Map<string, StoredSources>> {
  const out = new Map<string, StoredSources>(imageIds.map((id) => [id, { tags: new Set<string>(), referrers: new Set<string>() }]));
  if (imageIds.length === 0) return out;
  const rows = await db.$queryRaw<{ imageId: string; source: string | null; tag: string | null; digest: string }[]>`
    SELECT DISTINCT "imageId", raw->'artifact'->>'source' AS source, raw->'artifact'->>'tag' AS tag, "artifactDigest" AS digest
    FROM "Evidence" WHERE "imageId" = ANY(${[...imageIds]}::uuid[])`;
  for (const r of rows) {
    const s = out.get(r.imageId)!;
    if (r.tag && (r.source === "tag" || r.source === "referrers-tag")) s.tags.add(r.tag);
    if (r.source === "referrers-api") s.referrers.add(r.digest);
  }
  return out;
}
