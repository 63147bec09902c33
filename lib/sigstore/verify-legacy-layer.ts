/**
 * Legacy cosign layers (tag schema sha256-<hex>.sig / .att, and the "experimental OCI 1.1" referrer):
 * a simple-signing payload or a DSSE envelope, with signature, certificate, Rekor bundle and RFC 3161
 * annotations. Converted to a Sigstore bundle v0.1 and verified by verifyEntity, then bound to the image.
 */
import { toSignedEntity } from "@sigstore/verify";
import { LIMITS } from "./limits";
import { boundedRecord, decodeBase64, sha256 } from "./encoding";
import { certificateDerFromPem } from "./certificate";
import { parseDsseEnvelope, IN_TOTO_PAYLOAD_TYPE } from "./dsse";
import { baseEvidence, finish, readAnnotation, readLayerBytes, reasonFromError, type LayerContext } from "./evidence";
import { describeStatement, findSubjectForDigest, parseStatement } from "./in-toto";
import { toLegacyBundle, type LegacyLayerMaterial } from "./legacy-bundle";
import { extractProvenance } from "./provenance";
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_CERTIFICATE,
  ANNOTATION_PREDICATE_TYPE,
  ANNOTATION_RFC3161,
  ANNOTATION_SIGNATURE,
  parseRekorBundleAnnotation,
  parseRfc3161Annotation,
} from "./rekor";
import { parseSimpleSigningPayload, SIMPLE_SIGNING_TYPE } from "./simple-signing";
import type { EvidenceReason, VerifiedEvidence } from "./types";
import { verifyEntity } from "./verify-entity";

function readMaterial(annotations: Record<string, string>): LegacyLayerMaterial {
  const certPem = readAnnotation(annotations, ANNOTATION_CERTIFICATE);
  const rekor = readAnnotation(annotations, ANNOTATION_BUNDLE);
  const rfc3161 = readAnnotation(annotations, ANNOTATION_RFC3161);
  return {
    // Only decoded here; verifyEntity parses and checks it once.
    certificateDer: certPem ? certificateDerFromPem(certPem) : null,
    rekor: rekor ? parseRekorBundleAnnotation(rekor) : null,
    rfc3161: rfc3161 ? parseRfc3161Annotation(rfc3161) : null,
  };
}

/** One simple-signing layer (`application/vnd.dev.cosign.simplesigning.v1+json`). */
export function verifySimpleSigningLayer(ctx: LayerContext): VerifiedEvidence {
  const evidence = baseEvidence(ctx, "signature", "simple-signing");
  const reasons: EvidenceReason[] = [];
  try {
    const payload = readLayerBytes(ctx);
    const annotations = ctx.layer.annotations ?? {};
    const signatureB64 = readAnnotation(annotations, ANNOTATION_SIGNATURE);
    if (!signatureB64) return finish(evidence, [{ code: "malformed", message: "no signature annotation" }]);
    const signature = decodeBase64(signatureB64, "signature", LIMITS.signatureBytes);
    const material = readMaterial(annotations);
    const bundle = toLegacyBundle(material, { type: "message", payloadDigest: sha256(payload), signature });
    const entity = toSignedEntity(bundle, payload);
    const result = verifyEntity({ bundle, entity, roots: ctx.roots, keys: ctx.keys, now: ctx.now, artifact: payload });
    Object.assign(evidence, {
      signer: result.signer,
      matchedKeys: result.matchedKeys,
      tlog: result.tlog,
      timestamps: result.timestamps,
      checkedAt: result.checkedAt,
      trustRootId: result.trustRootId,
    });
    reasons.push(...result.reasons);

    // Bind the signed payload to this image: cosign compares only docker-manifest-digest (docker-reference is ignored).
    const claims = parseSimpleSigningPayload(payload);
    evidence.annotations = boundedRecord(claims.optional);
    evidence.dockerReference = claims.dockerReference;
    if (claims.type !== SIMPLE_SIGNING_TYPE) {
      reasons.push({ code: "payload-type", message: `critical.type is not "${SIMPLE_SIGNING_TYPE}"` });
    }
    if (claims.dockerManifestDigest !== ctx.image.digest) {
      reasons.push({ code: "payload-digest", message: `payload signs ${claims.dockerManifestDigest.slice(0, 80)}, not ${ctx.image.digest}` });
    }
  } catch (err) {
    reasons.push(...reasonFromError(err));
  }
  return finish(evidence, reasons);
}

/** One legacy attestation layer (`application/vnd.dsse.envelope.v1+json`, blob = DSSE envelope). */
export function verifyDsseLayer(ctx: LayerContext): VerifiedEvidence {
  const evidence = baseEvidence(ctx, "attestation", "dsse");
  const reasons: EvidenceReason[] = [];
  try {
    const stored = readLayerBytes(ctx);
    const annotations = ctx.layer.annotations ?? {};
    const envelope = parseDsseEnvelope(stored);
    const material = readMaterial(annotations);
    const bundle = toLegacyBundle(material, { type: "dsse", envelope: envelope.json });
    const entity = toSignedEntity(bundle);
    // cosign attest timestamps the envelope as stored; sigstore-js expects the signature bytes. Accept either.
    const result = verifyEntity({ bundle, entity, roots: ctx.roots, keys: ctx.keys, now: ctx.now, tsaDataAlternatives: [stored], storedEnvelope: stored });
    Object.assign(evidence, {
      signer: result.signer,
      matchedKeys: result.matchedKeys,
      tlog: result.tlog,
      timestamps: result.timestamps,
      checkedAt: result.checkedAt,
      trustRootId: result.trustRootId,
    });
    reasons.push(...result.reasons);
    const content = bundle.content.$case === "dsseEnvelope" ? bundle.content.dsseEnvelope : null;
    if (!content) return finish(evidence, [...reasons, { code: "malformed", message: "envelope" }]);
    reasons.push(...checkStatement(evidence, ctx, content.payloadType, Buffer.from(content.payload), readAnnotation(annotations, ANNOTATION_PREDICATE_TYPE)));
  } catch (err) {
    reasons.push(...reasonFromError(err));
  }
  return finish(evidence, reasons);
}

/**
 * The in-toto statement checks shared with bundles: payloadType, subject digest == image digest
 * (sigstore-js does not check it), predicateType consistent with what the artifact annotates.
 * `payload` must be the bytes sigstore-js verified (taken from the parsed bundle, not re-decoded).
 */
export function checkStatement(
  evidence: VerifiedEvidence,
  ctx: LayerContext,
  payloadType: string,
  payload: Buffer,
  annotatedPredicateType: string | undefined,
): EvidenceReason[] {
  const reasons: EvidenceReason[] = [];
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    reasons.push({ code: "payload-type", message: `payloadType is not ${IN_TOTO_PAYLOAD_TYPE}` });
    return reasons;
  }
  const statement = parseStatement(payload);
  evidence.statement = describeStatement(statement, ctx.image.digest);
  evidence.predicateType = statement.predicateType;
  evidence.provenance = extractProvenance(statement.predicateType, statement.predicate);
  if (!findSubjectForDigest(statement, ctx.image.digest)) {
    reasons.push({ code: "dsse-subject", message: `no statement subject has digest ${ctx.image.digest}` });
  }
  if (annotatedPredicateType !== undefined && annotatedPredicateType !== statement.predicateType) {
    reasons.push({ code: "predicate-type-mismatch", message: "statement predicateType differs from the annotated predicateType" });
  }
  return reasons;
}
