/** Assembling VerifiedEvidence records: base facts, status from reasons, layer byte checks. */
import type { DiscoveredArtifact, DiscoveredLayer, ImageAt } from "@/lib/evidence/types";
import { LIMITS } from "./limits";
import { MalformedError, sha256Hex } from "./encoding";
import type { ParsedPublicKey } from "./public-key";
import type { TrustRoot } from "./trusted-root";
import type { EvidenceKind, EvidenceReason, EvidenceStatus, ReasonCode, VerifiedEvidence } from "./types";

/** Everything a format verifier needs for one layer. */
export interface LayerContext {
  image: ImageAt;
  artifact: DiscoveredArtifact;
  layer: DiscoveredLayer;
  layerIndex: number;
  roots: readonly TrustRoot[];
  keys: readonly ParsedPublicKey[];
  now: Date;
}

/** Reasons that mean "could not evaluate" rather than "evaluated and failed". */
const UNDETERMINED: ReadonlySet<ReasonCode> = new Set<ReasonCode>(["malformed", "unsupported", "content-missing", "limit"]);

export function statusOf(reasons: readonly EvidenceReason[]): EvidenceStatus {
  if (reasons.length === 0) return "valid";
  return reasons.some((r) => !UNDETERMINED.has(r.code)) ? "invalid" : "error";
}

/** Thrown inside a format verifier to stop with the given reasons (caught by the caller). */
export class StopVerification extends Error {
  constructor(readonly reasons: EvidenceReason[]) {
    super(reasons.map((r) => r.code).join(","));
  }
}

/** A fresh evidence record with no facts and the given reasons. */
export function baseEvidence(ctx: LayerContext, kind: EvidenceKind, format: VerifiedEvidence["format"]): VerifiedEvidence {
  const text = (v: unknown, max = 512) => (typeof v === "string" ? v.slice(0, max) : "");
  const manifestDigest = text(ctx.artifact.manifestDigest);
  return {
    id: `${manifestDigest}#${ctx.layerIndex}`,
    kind,
    format,
    status: "error",
    reasons: [],
    image: { registry: ctx.image.registry, repository: ctx.image.repository, digest: ctx.image.digest },
    origin: {
      source: ctx.artifact.source,
      tag: typeof ctx.artifact.tag === "string" ? text(ctx.artifact.tag) : null,
      manifestDigest,
      layerIndex: ctx.layerIndex,
      layerDigest: text(ctx.layer.digest),
      layerMediaType: text(ctx.layer.mediaType),
    },
    signer: null,
    matchedKeys: [],
    tlog: null,
    timestamps: [],
    checkedAt: [],
    trustRootId: null,
    annotations: null,
    dockerReference: null,
    statement: null,
    predicateType: null,
    provenance: null,
    verifiedAt: ctx.now.toISOString(),
  };
}

/** Sets status from reasons (deduplicated by code + message) and returns the record. */
export function finish(evidence: VerifiedEvidence, reasons: EvidenceReason[]): VerifiedEvidence {
  const seen = new Set<string>();
  evidence.reasons = reasons.filter((r) => {
    const key = `${r.code}\u0000${r.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  evidence.status = statusOf(evidence.reasons);
  return evidence;
}

/** Converts anything thrown by a parser into a reason. */
export function reasonFromError(err: unknown): EvidenceReason[] {
  if (err instanceof StopVerification) return err.reasons;
  if (err instanceof MalformedError) return [{ code: "malformed", message: err.message.slice(0, 300) }];
  return [{ code: "malformed", message: `unexpected: ${err instanceof Error ? err.message.slice(0, 200) : "error"}` }];
}

/** The layer bytes, checked against the descriptor digest (defence in depth: discovery already did). */
export function readLayerBytes(ctx: LayerContext): Buffer {
  const { layer } = ctx;
  if (!Buffer.isBuffer(layer.content)) {
    throw new StopVerification([{ code: "content-missing", message: layer.skipped ? `layer not fetched: ${String(layer.skipped).slice(0, 200)}` : "layer not fetched" }]);
  }
  if (layer.content.length > LIMITS.layerBytes) throw new StopVerification([{ code: "malformed", message: "layer: too large" }]);
  if (typeof layer.digest !== "string" || layer.digest !== `sha256:${sha256Hex(layer.content)}`) {
    throw new StopVerification([{ code: "layer-digest", message: "layer bytes do not match the layer digest" }]);
  }
  return layer.content;
}

/** An annotation value, bounded; undefined when absent or empty. */
export function readAnnotation(annotations: Record<string, string> | undefined, key: string): string | undefined {
  const value = annotations?.[key];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new MalformedError(`annotation ${key}`, "not a string");
  if (value.length > LIMITS.annotationChars) throw new MalformedError(`annotation ${key}`, "too large");
  return value;
}
