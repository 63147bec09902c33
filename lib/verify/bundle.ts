/**
 * A Sigstore bundle (v0.1–v0.3, message signature or DSSE) for one artifact — a file's bytes or a
 * sha256 digest — checked with the same @sigstore/verify core as image evidence (lib/sigstore
 * verifyEntity): signature, key or certificate chain + SCT, Rekor SET / inclusion proof, RFC 3161, and
 * the binding to the artifact, which sigstore-js leaves to the caller for DSSE.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { HashAlgorithm } from "@sigstore/protobuf-specs";
import { toSignedEntity } from "@sigstore/verify";
import { IN_TOTO_PAYLOAD_TYPE } from "@/lib/sigstore/dsse";
import { MalformedError } from "@/lib/sigstore/encoding";
import { describeStatement, findSubjectForDigest, parseStatement } from "@/lib/sigstore/in-toto";
import { prehashedSignatureContent, type PrehashedContent } from "@/lib/sigstore/prehashed";
import { parsePublicKey } from "@/lib/sigstore/public-key";
import type { TrustRoot } from "@/lib/sigstore/trusted-root";
import type { EvidenceReason, EvidenceSigner, StatementFacts, TimestampFacts, TlogFacts } from "@/lib/sigstore/types";
import { parseSigstoreBundle } from "@/lib/sigstore/verify-bundle-layer";
import { verifyEntity } from "@/lib/sigstore/verify-entity";

export type BundleArtifact =
  /** A file: its bytes (message signatures verify over them) and sha256. */
  | { kind: "file"; bytes: Buffer; digest: string }
  /**
   * Only a digest "sha256:<hex>": enough for DSSE (subject digest), and for an ECDSA message signature
   * over a SHA-256 digest (ECDSA signs the digest itself); other message signatures need the bytes.
   */
  | { kind: "digest"; digest: string };

export type BundleTrustPolicy = { key: string } | { identity: string; issuer: string };

export interface VerifyBundleInput {
  bundle: Buffer;
  artifact: BundleArtifact;
  policy: BundleTrustPolicy;
  trust: readonly TrustRoot[];
  /** A verified Rekor entry is mandatory (keyless always needs a Rekor entry or an RFC 3161 timestamp). */
  requireTlog?: boolean;
  now?: Date;
}

/** Reason codes: lib/sigstore's evidence codes, plus identity / issuer / tlog-missing / artifact-digest. */
export interface BundleVerification {
  ok: boolean;
  reasons: Array<{ code: EvidenceReason["code"] | "identity" | "issuer" | "tlog-missing" | "artifact-digest"; message: string }>;
  content: "message-signature" | "dsse-envelope" | null;
  mediaType: string | null;
  artifactDigest: string;
  signer: EvidenceSigner | null;
  trustRootId: string | null;
  tlog: TlogFacts | null;
  timestamps: TimestampFacts[];
  statement: StatementFacts | null;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** sha256 of a file, streamed. */
export async function hashFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

export function verifyBundle(input: VerifyBundleInput): BundleVerification {
  const now = input.now ?? new Date();
  const result: BundleVerification = {
    ok: false,
    reasons: [],
    content: null,
    mediaType: null,
    artifactDigest: input.artifact.digest,
    signer: null,
    trustRootId: null,
    tlog: null,
    timestamps: [],
    statement: null,
  };
  const fail = (code: BundleVerification["reasons"][number]["code"], message: string) => {
    result.reasons.push({ code, message });
    return result;
  };
  if (!DIGEST.test(input.artifact.digest)) return fail("malformed", "artifact digest is not sha256:<64 hex>");
  try {
    const bundle = parseSigstoreBundle(input.bundle);
    result.mediaType = bundle.mediaType;
    const keys = "key" in input.policy ? [parsePublicKey(input.policy.key, "key")] : [];
    let artifactBytes: Buffer | undefined;
    let prehashed: PrehashedContent | undefined;
    if (bundle.content.$case === "messageSignature") {
      result.content = "message-signature";
      const md = bundle.content.messageSignature.messageDigest;
      // The signature is checked over the bytes (or, from a digest, over that digest); the digest the bundle
      // (and its Rekor entry) names must be the artifact's too.
      if (!md || md.algorithm !== HashAlgorithm.SHA2_256 || `sha256:${Buffer.from(md.digest).toString("hex")}` !== input.artifact.digest) {
        if (input.artifact.kind === "digest") return fail("artifact-digest", `the bundle's message digest is not ${input.artifact.digest} (SHA-256)`);
        fail("artifact-digest", `the bundle's message digest is not the artifact's ${input.artifact.digest}`);
      }
      if (input.artifact.kind === "file") artifactBytes = input.artifact.bytes;
      else prehashed = prehashedSignatureContent(Buffer.from(bundle.content.messageSignature.signature), Buffer.from(input.artifact.digest.slice("sha256:".length), "hex"));
    } else {
      result.content = "dsse-envelope";
    }
    const signed = toSignedEntity(bundle, artifactBytes);
    const entity = prehashed ? { ...signed, signature: prehashed.content } : signed;
    const verified = verifyEntity({ bundle, entity, roots: input.trust, keys, now, ...(artifactBytes ? { artifact: artifactBytes } : {}) });
    const unsupported = prehashed?.unsupported();
    // the signer's algorithm cannot be checked from a digest: that, not "signature", is the answer
    if (unsupported) return fail("unsupported", unsupported);
    result.signer = verified.signer;
    result.trustRootId = verified.trustRootId;
    result.tlog = verified.tlog;
    result.timestamps = verified.timestamps;
    result.reasons.push(...verified.reasons);

    if (bundle.content.$case === "dsseEnvelope") {
      const envelope = bundle.content.dsseEnvelope;
      if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
        fail("payload-type", `DSSE payloadType ${envelope.payloadType.slice(0, 100)} is not ${IN_TOTO_PAYLOAD_TYPE}: nothing binds it to the artifact`);
      } else {
        const statement = parseStatement(Buffer.from(envelope.payload));
        result.statement = describeStatement(statement, input.artifact.digest);
        if (!findSubjectForDigest(statement, input.artifact.digest)) fail("dsse-subject", `no statement subject has digest ${input.artifact.digest}`);
      }
    }

    const tlogOk = !!result.tlog && (result.tlog.verifiedSet || result.tlog.verifiedInclusionProof);
    const signer = verified.signer;
    if ("key" in input.policy) {
      if (signer && signer.kind !== "key") fail("no-matching-key", "the bundle is signed with a certificate, not with the given key");
    } else if (signer?.kind === "keyless") {
      if (signer.issuer !== input.policy.issuer) fail("issuer", `certificate issuer ${signer.issuer ?? "(none)"} is not ${input.policy.issuer}`);
      if (signer.identity !== input.policy.identity) fail("identity", `certificate identity ${signer.identity} is not ${input.policy.identity}`);
      if (!tlogOk && !result.timestamps.some((t) => t.verified)) fail("tlog-missing", "a certificate needs a verified Rekor entry or RFC 3161 timestamp");
    } else if (signer) {
      fail("no-matching-key", "the bundle is signed with a key, not a certificate");
    }
    if (input.requireTlog && !tlogOk) fail("tlog-missing", "no verified Rekor entry, and one is required");
  } catch (err) {
    if (err instanceof MalformedError) return fail("malformed", err.message.slice(0, 300));
    return fail("malformed", `unexpected: ${err instanceof Error ? err.message.slice(0, 200) : "error"}`);
  }
  result.ok = result.reasons.length === 0 && result.signer !== null;
  return result;
}
