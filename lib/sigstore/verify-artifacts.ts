/**
 * Entry point of the verification layer: every signature / attestation / bundle layer discovered for
 * one image digest → one VerifiedEvidence. Pure: no I/O, the clock is an argument, never throws.
 */
import type { DiscoveredArtifact, DiscoveredLayer, ImageAt } from "@/lib/evidence/types";
import { storable } from "@/lib/text";
import { LIMITS } from "./limits";
import { baseEvidence, finish, reasonFromError, type LayerContext } from "./evidence";
import { DSSE_MEDIA_TYPE } from "./dsse";
import { parseCandidateKeys } from "./public-key";
import { SIMPLE_SIGNING_MEDIA_TYPE } from "./simple-signing";
import type { TrustRoot } from "./trusted-root";
import type { EvidenceKind, PublicKeyCandidate, VerifiedEvidence } from "./types";
import { BUNDLE_MEDIA_TYPE_PREFIX, verifyBundleLayer } from "./verify-bundle-layer";
import { verifyDsseLayer, verifySimpleSigningLayer } from "./verify-legacy-layer";

export interface VerifyArtifactsInput {
  image: ImageAt;
  /** What discovery found for `image.digest` (DiscoveryResult.artifacts, or .partial after an error). */
  artifacts: readonly DiscoveredArtifact[];
  /** Trust roots to verify keyless certificates, tlog entries and timestamps against; the evidence records which one succeeded. */
  trust: TrustRoot | readonly TrustRoot[];
  /** Candidate public keys from every policy that applies; each signature is tried against all of them. */
  keys: readonly PublicKeyCandidate[];
  /** Used only when a certificate has neither a tlog entry nor an RFC 3161 timestamp; recorded as verifiedAt. */
  now: Date;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

type Format = { kind: EvidenceKind; format: VerifiedEvidence["format"]; verify: (ctx: LayerContext) => VerifiedEvidence };

/** Which verifier handles a layer, by layer media type. Other layers (configs, SBOM documents) are not evidence. */
function formatOf(mediaType: string): Format | null {
  if (mediaType === SIMPLE_SIGNING_MEDIA_TYPE) return { kind: "signature", format: "simple-signing", verify: verifySimpleSigningLayer };
  if (mediaType === DSSE_MEDIA_TYPE) return { kind: "attestation", format: "dsse", verify: verifyDsseLayer };
  if (mediaType.startsWith(BUNDLE_MEDIA_TYPE_PREFIX)) return { kind: "bundle", format: "sigstore-bundle", verify: verifyBundleLayer };
  return null;
}

/** Artifact kinds whose unknown layers are reported (as unsupported) rather than ignored. */
const SIGNING_KINDS = new Set(["signature", "attestation", "bundle"]);

/**
 * Verifies every signature-bearing layer of `artifacts` for `image`. Returns one evidence per layer in
 * discovery order. Malformed input yields `error` / `invalid` evidence, never an exception, never `valid`.
 */
export function verifyArtifacts(input: VerifyArtifactsInput): VerifiedEvidence[] {
  const out: VerifiedEvidence[] = [];
  const image: ImageAt = {
    registry: String(input?.image?.registry ?? ""),
    repository: String(input?.image?.repository ?? ""),
    digest: String(input?.image?.digest ?? ""),
  };
  const now = input?.now instanceof Date && !Number.isNaN(input.now.getTime()) ? input.now : new Date(0);
  const roots = (Array.isArray(input?.trust) ? input.trust : input?.trust ? [input.trust] : []) as readonly TrustRoot[];
  const { usable: keys } = parseCandidateKeys(Array.isArray(input?.keys) ? input.keys : []);
  const artifacts = Array.isArray(input?.artifacts) ? input.artifacts : [];

  for (const artifact of artifacts) {
    const layers = Array.isArray(artifact?.layers) ? artifact.layers : [];
    for (const [layerIndex, rawLayer] of layers.entries()) {
      if (out.length > LIMITS.evidencePerImage) return out;
      try {
        const evidence = verifyLayer(image, artifact, rawLayer, layerIndex, roots, keys, now, out.length);
        // facts and reasons quote signed payloads and certificates: kept in PostgreSQL, they must hold no U+0000
        if (evidence) out.push(storable(evidence));
      } catch {
        // verifyLayer and the format verifiers catch their own errors; this guards against hostile shapes.
        out.push(shapeError(image, artifact, layerIndex, now));
      }
    }
  }
  return out;
}

/** One layer → one evidence, or null when the layer is not signature material. */
function verifyLayer(
  image: ImageAt,
  artifact: DiscoveredArtifact,
  rawLayer: unknown,
  layerIndex: number,
  roots: readonly TrustRoot[],
  keys: LayerContext["keys"],
  now: Date,
  produced: number,
): VerifiedEvidence | null {
  const layer = (rawLayer && typeof rawLayer === "object" ? rawLayer : {}) as DiscoveredLayer;
  const mediaType = typeof layer.mediaType === "string" ? layer.mediaType : "";
  const format = formatOf(mediaType);
  if (!format && !SIGNING_KINDS.has(artifact.kind)) return null;
  const ctx: LayerContext = { image, artifact, layer, layerIndex, roots, keys, now };
  const kind = format?.kind ?? kindOf(artifact);
  const shape = format?.format ?? "simple-signing";
  if (produced >= LIMITS.evidencePerImage) {
    return finish(baseEvidence(ctx, kind, shape), [{ code: "limit", message: `more than ${LIMITS.evidencePerImage} signature layers for one digest` }]);
  }
  if (!format) {
    return finish(baseEvidence(ctx, kind, shape), [{ code: "unsupported", message: `layer media type ${mediaType.slice(0, 120)} is not a signature format` }]);
  }
  if (!DIGEST.test(image.digest)) {
    return finish(baseEvidence(ctx, kind, shape), [{ code: "malformed", message: "image digest is not sha256:<64 hex>" }]);
  }
  try {
    return format.verify(ctx);
  } catch (err) {
    return finish(baseEvidence(ctx, kind, shape), reasonFromError(err));
  }
}

/** Evidence for a layer whose shape is too broken to describe. */
function shapeError(image: ImageAt, artifact: DiscoveredArtifact, layerIndex: number, now: Date): VerifiedEvidence {
  const placeholder: LayerContext = {
    image,
    artifact: { kind: "other", source: "tag", manifestDigest: "", manifestMediaType: "", annotations: {}, layers: [] },
    layer: { digest: "", mediaType: "", size: 0, annotations: {} },
    layerIndex,
    roots: [],
    keys: [],
    now,
  };
  return finish(baseEvidence(placeholder, kindOf(artifact), "simple-signing"), [{ code: "malformed", message: "artifact or layer has an unexpected shape" }]);
}

function kindOf(artifact: DiscoveredArtifact): EvidenceKind {
  return artifact?.kind === "attestation" ? "attestation" : artifact?.kind === "bundle" ? "bundle" : "signature";
}
