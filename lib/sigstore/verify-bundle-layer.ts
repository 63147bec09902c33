/** Sigstore bundles attached as OCI 1.1 referrers (cosign v3 default `--new-bundle-format`). */
import {
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  bundleFromJSON,
  type Bundle,
} from "@sigstore/bundle";
import { toSignedEntity } from "@sigstore/verify";
import { z } from "zod";
import { LIMITS } from "./limits";
import { MalformedError, parseJson, parseWith } from "./encoding";
import { baseEvidence, finish, readAnnotation, readLayerBytes, reasonFromError, type LayerContext } from "./evidence";
import type { EvidenceReason, VerifiedEvidence } from "./types";
import { checkStatement } from "./verify-legacy-layer";
import { verifyEntity } from "./verify-entity";

export const BUNDLE_MEDIA_TYPE_PREFIX = "application/vnd.dev.sigstore.bundle";
/** Manifest annotation cosign writes next to the bundle layer. */
export const ANNOTATION_BUNDLE_PREDICATE_TYPE = "dev.sigstore.bundle.predicateType";

/** Bundle versions whose rules are known; sigstore-js would validate any other "v<d>.<d>" as the latest. */
const KNOWN_BUNDLE_MEDIA_TYPES = [BUNDLE_V01_MEDIA_TYPE, BUNDLE_V02_MEDIA_TYPE, BUNDLE_V03_LEGACY_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE] as const;

/** Shape check before protobuf-specs' lenient fromJSON: exactly one content, bounded lists. */
const bundleShape = z.object({
  mediaType: z.enum(KNOWN_BUNDLE_MEDIA_TYPES),
  verificationMaterial: z.object({
    tlogEntries: z.array(z.unknown()).max(LIMITS.tlogEntries).optional(),
    timestampVerificationData: z.object({ rfc3161Timestamps: z.array(z.unknown()).max(LIMITS.timestamps).optional() }).loose().optional(),
  }).loose(),
  dsseEnvelope: z.object({ signatures: z.array(z.unknown()).max(16) }).loose().optional(),
  messageSignature: z.unknown().optional(),
}).loose().refine((b) => (b.dsseEnvelope === undefined) !== (b.messageSignature === undefined), "exactly one of dsseEnvelope / messageSignature");

/** Parses a Sigstore bundle (any version sigstore-js accepts); throws MalformedError. */
export function parseSigstoreBundle(bytes: Buffer): Bundle {
  const json = parseWith(bundleShape, parseJson(bytes, "bundle", LIMITS.layerBytes), "bundle");
  try {
    return bundleFromJSON(json);
  } catch (err) {
    throw new MalformedError("bundle", err instanceof Error ? err.message.slice(0, 200) : "invalid bundle");
  }
}

export function verifyBundleLayer(ctx: LayerContext): VerifiedEvidence {
  const evidence = baseEvidence(ctx, "bundle", "sigstore-bundle");
  const reasons: EvidenceReason[] = [];
  try {
    const bundle = parseSigstoreBundle(readLayerBytes(ctx));
    if (bundle.content.$case !== "dsseEnvelope") {
      // A message signature covers bytes we do not have (cosign never publishes this form for images).
      return finish(evidence, [{ code: "unsupported", message: "message-signature bundle: the signed payload is not available" }]);
    }
    const entity = toSignedEntity(bundle);
    const result = verifyEntity({ bundle, entity, roots: ctx.roots, keys: ctx.keys, now: ctx.now });
    Object.assign(evidence, {
      signer: result.signer,
      matchedKeys: result.matchedKeys,
      tlog: result.tlog,
      timestamps: result.timestamps,
      checkedAt: result.checkedAt,
      trustRootId: result.trustRootId,
    });
    reasons.push(...result.reasons);
    const envelope = bundle.content.dsseEnvelope;
    const annotated = readAnnotation(ctx.artifact.annotations ?? {}, ANNOTATION_BUNDLE_PREDICATE_TYPE);
    reasons.push(...checkStatement(evidence, ctx, envelope.payloadType, Buffer.from(envelope.payload), annotated));
  } catch (err) {
    reasons.push(...reasonFromError(err));
  }
  return finish(evidence, reasons);
}
