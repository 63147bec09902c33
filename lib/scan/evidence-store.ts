import "server-only";
import { createHash } from "node:crypto";
import type { Db } from "@/lib/db/client";
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
  if (result.outcome === "error") {
    await db.image.update({
      where: { id: imageId },
      data: { discovery: "error", discoveryError: `${result.code}: ${result.reason}`.slice(0, 2000), discoveredAt: now },
    });
    return;
  }
  const artifacts = result.outcome === "found" ? result.artifacts : [];
  const rows: Prisma.EvidenceCreateManyInput[] = artifacts.flatMap((a) => {
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
  await db.$transaction(async (tx) => {
    // a row is the same evidence when artifact, position and layer bytes are all the same
    const key = (e: { artifactDigest: string; layerIndex?: number; layerDigest: string }) => `${e.artifactDigest}\u0000${e.layerIndex ?? 0}\u0000${e.layerDigest}`;
    const keep = new Set(rows.map(key));
    const existing = await tx.evidence.findMany({ where: { imageId }, select: { id: true, artifactDigest: true, layerIndex: true, layerDigest: true } });
    const stale = existing.filter((e) => !keep.has(key(e))).map((e) => e.id);
    if (stale.length) await tx.evidence.deleteMany({ where: { id: { in: stale } } });
    const have = new Set(existing.map(key));
    const fresh = rows.filter((r) => !have.has(key(r)));
    if (fresh.length) await tx.evidence.createMany({ data: fresh, skipDuplicates: true });
    await tx.image.update({
      where: { id: imageId },
      data: {
        discovery: result.outcome,
        discoveryError: null,
        discoveredAt: now,
        artifactDigests: result.outcome === "found" ? result.manifestDigests : [],
      },
    });
  });
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

/** Stores the facts of the last verification on the evidence rows (for the trust-chain view). */
export async function storeVerification(db: Db, imageId: string, verified: VerifiedEvidence[], now: Date): Promise<void> {
  const hash = verificationHash(verified);
  for (const v of verified) {
    const signer = v.signer;
    const keyFp = v.matchedKeys[0]?.fingerprint ?? (signer?.kind === "key" ? signer.fingerprint : null);
    await db.evidence.updateMany({
      where: { imageId, artifactDigest: v.origin.manifestDigest, layerIndex: v.origin.layerIndex, layerDigest: v.origin.layerDigest },
      data: {
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
        tlogIntegratedTime: v.tlog ? new Date(v.tlog.integratedTimeISO) : null,
        tlogLogId: v.tlog?.logId ?? null,
        predicateType: v.predicateType,
        provenance: (v.provenance ?? undefined) as unknown as Prisma.InputJsonValue | undefined,
        verifiedAt: now,
      },
    });
  }
  await db.image.update({ where: { id: imageId }, data: { verifiedAt: now, verificationHash: hash } });
}
