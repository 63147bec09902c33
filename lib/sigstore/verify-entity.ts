/**
 * The cryptographic core shared by every evidence format: a sigstore-js SignedEntity (built from a
 * Sigstore bundle, or from a legacy cosign layer converted to a bundle v0.1) is verified with
 * @sigstore/verify's Verifier against each trust root, and with every candidate key for key-based
 * signatures. Checks sigstore-js does not do are added here: codeSigning EKU, binding of the Rekor
 * entry body to the signer's key or certificate, Ed25519 over raw payloads, and certificate validity at
 * "now" when neither a tlog entry nor an RFC 3161 timestamp exists.
 */
import { verify as cryptoVerify, type KeyObject } from "node:crypto";
import type { Bundle, TransparencyLogEntry } from "@sigstore/bundle";
import { Verifier, VerificationError, type SignedEntity, type TrustMaterial } from "@sigstore/verify";
import { LIMITS } from "./limits";
import { decodePemBlocks, MalformedError } from "./encoding";
import { describeKeylessSigner, hasCodeSigningEku, isValidAt, parseCertificateDer, parseCertificatePem, type ParsedCertificate } from "./certificate";
import { parsePublicKey, parsePublicKeyDer, type ParsedPublicKey } from "./public-key";
import { checkLegacyIntotoBody, isLegacyIntotoEntry, verifyLegacySet } from "./legacy-intoto";
import { parseRekorBody, type BodyVerifier } from "./rekor";
import { EMPTY_TRUST_MATERIAL, type TrustRoot } from "./trusted-root";
import type { CheckedTime, EvidenceReason, EvidenceSigner, KeySigner, TimestampFacts, TlogFacts } from "./types";

type SignatureContent = SignedEntity["signature"];
type Timestamp = SignedEntity["timestamps"][number];

export interface EntityInput {
  bundle: Bundle;
  entity: SignedEntity;
  roots: readonly TrustRoot[];
  keys: readonly ParsedPublicKey[];
  now: Date;
  /** Message-signature payload bytes (lets Ed25519 verify over the raw payload, as cosign does). */
  artifact?: Buffer;
  /** Other byte strings an RFC 3161 timestamp may cover (legacy .att layers: the envelope as stored). */
  tsaDataAlternatives?: Buffer[];
  /** The DSSE envelope as stored in the layer (legacy .att), hashed by intoto 0.0.1 Rekor entries. */
  storedEnvelope?: Buffer;
}

export interface EntityResult {
  signer: EvidenceSigner | null;
  matchedKeys: KeySigner[];
  reasons: EvidenceReason[];
  tlog: TlogFacts | null;
  timestamps: TimestampFacts[];
  checkedAt: CheckedTime[];
  trustRootId: string | null;
}

/** Stage sigstore-js' Verifier reached before failing (it checks in this order). */
const STAGE_ORDER = ["timestamp", "key", "tlog", "signature", "done"] as const;
type Stage = (typeof STAGE_ORDER)[number];

interface RunOutcome {
  ok: boolean;
  code: string;
  message: string;
  /** The stage that failed ("done" when ok). */
  stage: Stage;
  rootId: string | null;
}

function stageOf(code: string): Stage {
  if (code === "TIMESTAMP_ERROR") return "timestamp";
  if (code === "CERTIFICATE_ERROR" || code === "PUBLIC_KEY_ERROR") return "key";
  if (code.startsWith("TLOG_")) return "tlog";
  if (code === "SIGNATURE_ERROR") return "signature";
  return "timestamp";
}

function run(material: TrustMaterial, entity: SignedEntity, options: ConstructorParameters<typeof Verifier>[1], rootId: string | null): RunOutcome {
  try {
    new Verifier(material, options).verify(entity);
    return { ok: true, code: "", message: "", stage: "done", rootId };
  } catch (err) {
    if (err instanceof VerificationError) {
      return { ok: false, code: err.code, message: err.message, stage: stageOf(err.code), rootId };
    }
    // Anything else (TypeError on a malformed structure, ASN.1 errors) is malformed input.
    return { ok: false, code: "MALFORMED", message: err instanceof Error ? err.message : "verification failed", stage: "timestamp", rootId };
  }
}

/** Runs once per trust root; the first success wins, else the failure that got furthest. */
function runAcrossRoots(
  roots: readonly TrustRoot[],
  needsRoot: boolean,
  entity: SignedEntity,
  options: ConstructorParameters<typeof Verifier>[1],
  keyFinder: TrustMaterial["publicKey"] | null,
): RunOutcome {
  const candidates: Array<{ id: string | null; material: TrustMaterial }> =
    needsRoot && roots.length ? roots.map((r) => ({ id: r.id, material: r.material })) : [{ id: null, material: EMPTY_TRUST_MATERIAL }];
  let best: RunOutcome | undefined;
  for (const candidate of candidates) {
    const material = keyFinder ? { ...candidate.material, publicKey: keyFinder } : candidate.material;
    const outcome = run(material, entity, options, candidate.id);
    if (outcome.ok) return outcome;
    if (!best || STAGE_ORDER.indexOf(outcome.stage) > STAGE_ORDER.indexOf(best.stage)) best = outcome;
  }
  return best as RunOutcome;
}

function reasonFor(outcome: RunOutcome, cert: ParsedCertificate | null, times: Date[]): EvidenceReason {
  const message = outcome.message.slice(0, 300);
  switch (outcome.code) {
    case "TLOG_INCLUSION_PROMISE_ERROR":
      return { code: "tlog-set", message };
    case "TLOG_INCLUSION_PROOF_ERROR":
    case "TLOG_MISSING_INCLUSION_ERROR":
      return { code: "tlog-inclusion", message };
    case "TLOG_BODY_ERROR":
      return /unsupported/.test(message) ? { code: "unsupported", message: `tlog entry: ${message}` } : { code: "tlog-body-mismatch", message };
    case "TLOG_ERROR":
      return { code: "tlog", message };
    case "CERTIFICATE_ERROR":
      if (/SCT/.test(message)) return { code: "sct", message };
      if (cert && times.some((t) => !isValidAt(cert, t))) {
        return { code: "cert-expired-at-integrated-time", message: `certificate not valid at ${times.map((t) => t.toISOString()).join(", ")}` };
      }
      return { code: "cert-chain", message };
    case "PUBLIC_KEY_ERROR":
      return { code: "no-matching-key", message };
    case "SIGNATURE_ERROR":
      return { code: "signature", message };
    case "TIMESTAMP_ERROR":
      return { code: "timestamp", message };
    default:
      return { code: "malformed", message: `verifier: ${message}` };
  }
}

/** Wraps signature content so Ed25519 keys verify message signatures over the raw payload (cosign semantics). */
function withEd25519(content: SignatureContent, artifact: Buffer | undefined): SignatureContent {
  if (!artifact) return content;
  return {
    signature: content.signature,
    compareSignature: (s) => content.compareSignature(s),
    compareDigest: (d) => content.compareDigest(d),
    compareSignedDigest: (d) => content.compareSignedDigest(d),
    verifySignature: (key: KeyObject) => {
      if (key.asymmetricKeyType === "ed25519") {
        try {
          return cryptoVerify(null, artifact, key, content.signature);
        } catch {
          return false;
        }
      }
      return content.verifySignature(key);
    },
  };
}

/** Same content, but RFC 3161 timestamps are checked over `data` instead of the signature bytes. */
function withTimestampData(content: SignatureContent, data: Buffer): SignatureContent {
  return {
    signature: data,
    compareSignature: (s) => content.compareSignature(s),
    compareDigest: (d) => content.compareDigest(d),
    compareSignedDigest: (d) => content.compareSignedDigest(d),
    verifySignature: (key) => content.verifySignature(key),
  };
}

function safeVerify(content: SignatureContent, key: KeyObject): boolean {
  try {
    return content.verifySignature(key);
  } catch {
    return false;
  }
}

/** A timestamp at `at` that sigstore-js uses only to pick the time for the certificate checks. */
function syntheticTimestamp(at: Date): Timestamp {
  const entry = {
    logIndex: "0",
    logId: { keyId: Buffer.alloc(0) },
    kindVersion: { kind: "", version: "" },
    integratedTime: String(Math.floor(at.getTime() / 1000)),
    inclusionPromise: { signedEntryTimestamp: Buffer.alloc(0) },
    inclusionProof: undefined,
    canonicalizedBody: Buffer.alloc(0),
  } as unknown as TransparencyLogEntry;
  return { $case: "transparency-log", tlogEntry: entry };
}

function tlogTimes(entity: SignedEntity): Date[] {
  return entity.tlogEntries.filter((e) => e.inclusionPromise).map((e) => new Date(Number(e.integratedTime) * 1000));
}

function tsaTimes(entity: SignedEntity): Date[] {
  const out: Date[] = [];
  for (const t of entity.timestamps) if (t.$case === "timestamp-authority") out.push(t.timestamp.signingTime);
  return out;
}

/** `legacySet`: result of the SET check done here for an intoto 0.0.1 entry (sigstore-js did not see it). */
function describeTlog(entity: SignedEntity, roots: readonly TrustRoot[], outcome: RunOutcome | null, legacySet?: boolean): TlogFacts | null {
  const entry = entity.tlogEntries[0];
  if (!entry) return null;
  const single = entity.tlogEntries.length === 1;
  const reached = outcome ? STAGE_ORDER.indexOf(outcome.stage) : -1;
  // sigstore-js checks SET, then proof + checkpoint, then the body; a later failure proves the earlier steps passed.
  const inclusionPassed =
    legacySet === undefined && outcome !== null && (reached > STAGE_ORDER.indexOf("tlog") || (single && outcome.code === "TLOG_BODY_ERROR"));
  const setPassed = legacySet ?? (inclusionPassed || (outcome !== null && single && outcome.code === "TLOG_INCLUSION_PROOF_ERROR"));
  const logId = entry.logId.keyId.toString("hex");
  const integratedTime = Number(entry.integratedTime);
  const logIndex = Number(entry.logIndex);
  let logUrl: string | null = null;
  for (const root of roots) logUrl ??= root.tlogUrls.get(logId) ?? null;
  const proof = entry.inclusionProof;
  return {
    logIndex,
    integratedTime,
    integratedTimeISO: Number.isFinite(integratedTime) && Math.abs(integratedTime) < 8.64e12 ? new Date(integratedTime * 1000).toISOString() : "",
    logId,
    kind: entry.kindVersion.kind,
    kindVersion: entry.kindVersion.version,
    verifiedSet: entry.inclusionPromise !== undefined && setPassed,
    verifiedInclusionProof: proof !== undefined && inclusionPassed,
    inclusionProof: proof ? { logIndex: Number(proof.logIndex), treeSize: Number(proof.treeSize) } : null,
    logUrl,
  };
}

function describeTimestamps(entity: SignedEntity, outcome: RunOutcome | null): TimestampFacts[] {
  const passed = outcome !== null && (outcome.ok || (outcome.code !== "TIMESTAMP_ERROR" && outcome.code !== "MALFORMED"));
  return tsaTimes(entity).map((t) => ({ time: t.toISOString(), verified: passed }));
}

/**
 * sigstore-js proves inclusion against the signed checkpoint's size and root hash and ignores the
 * proof's own rootHash / treeSize. Those unsigned copies must agree with the checkpoint, or the tree
 * size reported as a fact would be attacker-chosen.
 */
function checkProofConsistency(entity: SignedEntity): EvidenceReason[] {
  const reasons: EvidenceReason[] = [];
  for (const [i, entry] of entity.tlogEntries.entries()) {
    const proof = entry.inclusionProof;
    if (!proof) continue;
    const note = (proof.checkpoint?.envelope ?? "").split("\n\n")[0] ?? "";
    const [, size, rootHash] = note.split("\n");
    const consistent = size !== undefined && rootHash !== undefined && size === String(proof.treeSize) && Buffer.from(rootHash, "base64").equals(Buffer.from(proof.rootHash));
    if (!consistent) reasons.push({ code: "tlog-inclusion", message: `tlog entry ${i}: inclusion proof rootHash / treeSize differ from the signed checkpoint` });
  }
  return reasons;
}

/** Key / certificate named by each tlog entry body. */
function bodyVerifiers(entity: SignedEntity): BodyVerifier[][] {
  return entity.tlogEntries.map((entry) => parseRekorBody(Buffer.from(entry.canonicalizedBody)).verifiers);
}

/** DER of the PEM block(s) a body names; the body is signed by the SET, so bytes can be compared directly. */
function pemBlock(pem: string, label: string): Buffer | null {
  try {
    const [first] = decodePemBlocks(pem, label, "tlogBody.verifier", 1);
    return first ?? null;
  } catch {
    return null;
  }
}

function verifierSpki(v: BodyVerifier): Buffer | null {
  try {
    if (v.type === "der-key") return parsePublicKeyDer(v.der).spki;
    if (v.type === "der-cert") return parseCertificateDer(v.der).node.publicKey.export({ type: "spki", format: "der" });
    if (v.pem.includes("CERTIFICATE")) return parseCertificatePem(v.pem).node.publicKey.export({ type: "spki", format: "der" });
    // cosign logs the key as written in cosign.pub (SPKI); other encodings of the same key are parsed.
    return pemBlock(v.pem, "PUBLIC KEY") ?? parsePublicKey(v.pem).spki;
  } catch {
    return null;
  }
}

function verifierCertDer(v: BodyVerifier): Buffer | null {
  if (v.type === "der-cert") return v.der;
  if (v.type === "pem") return pemBlock(v.pem, "CERTIFICATE");
  return null;
}

function certificateDerOf(bundle: Bundle): Buffer | null {
  const content = bundle.verificationMaterial.content;
  if (content?.$case === "certificate") return Buffer.from(content.certificate.rawBytes);
  if (content?.$case === "x509CertificateChain") {
    const first = content.x509CertificateChain.certificates[0];
    return first ? Buffer.from(first.rawBytes) : null;
  }
  return null;
}

/** At most this many candidate fingerprints are named in a reason (the count is always exact). */
const NAMED_CANDIDATES = 8;

/**
 * The candidate keys as distinct keys: one key trusted by several policies (or authorities) is one
 * candidate, counted and named once by its fingerprint.
 */
function describeCandidates(keys: readonly ParsedPublicKey[]): string {
  const fps = [...new Set(keys.map((k) => k.fingerprint))];
  const named = fps.slice(0, NAMED_CANDIDATES).join(", ") + (fps.length > NAMED_CANDIDATES ? `, and ${fps.length - NAMED_CANDIDATES} more` : "");
  return fps.length === 1 ? `the one candidate key (${named})` : `any of ${fps.length} candidate keys (${named})`;
}

/**
 * Who signed a key-based signature no candidate verifies: the key its transparency-log entry names when
 * the signature verifies with that key (an untrusted signer, named by its fingerprint), else unknown.
 */
function untrustedSignerMessage(entity: SignedEntity, verifiersPerEntry: BodyVerifier[][], keys: readonly ParsedPublicKey[]): string {
  for (const verifiers of verifiersPerEntry) {
    for (const v of verifiers) {
      const spki = verifierSpki(v);
      if (!spki) continue;
      let named: ParsedPublicKey;
      try {
        named = parsePublicKeyDer(spki);
      } catch {
        continue;
      }
      if (keys.some((k) => k.fingerprint === named.fingerprint) || !safeVerify(entity.signature, named.keyObject)) continue;
      return `signed by an untrusted key ${named.fingerprint} (named by its transparency-log entry); no candidate key verifies this signature`;
    }
  }
  return "signed by an untrusted key: no candidate key verifies this signature, and the signature does not name its key";
}

function keyHintOf(bundle: Bundle): string | null {
  const content = bundle.verificationMaterial.content;
  return content?.$case === "publicKey" && content.publicKey.hint ? content.publicKey.hint.slice(0, 256) : null;
}

function toKeySigner(key: ParsedPublicKey, all: readonly ParsedPublicKey[], hint: string | null): KeySigner {
  return {
    kind: "key",
    fingerprint: key.fingerprint,
    algorithm: key.algorithm,
    keyId: key.keyId,
    keyIds: all.filter((k) => k.fingerprint === key.fingerprint).map((k) => k.keyId),
    hint,
  };
}

/** Verifies one signed entity. Never throws for untrusted input (MalformedError is the only exception and is caught by callers). */
export function verifyEntity(input: EntityInput): EntityResult {
  const { bundle, roots, keys, now } = input;
  if (input.entity.tlogEntries.length > LIMITS.tlogEntries || input.entity.timestamps.length > LIMITS.tlogEntries + LIMITS.timestamps) {
    throw new MalformedError("bundle", "too many tlog entries or timestamps");
  }
  const entity: SignedEntity = { ...input.entity, signature: withEd25519(input.entity.signature, input.artifact) };
  const needsRoot = entity.tlogEntries.length > 0 || entity.timestamps.length > 0;
  // An intoto 0.0.1 entry is checked by legacy-intoto.ts; sigstore-js verifies the rest (its integratedTime
  // stays among the timestamps for the certificate checks, trusted only if that SET verifies).
  const legacyEntry = entity.tlogEntries.length === 1 && isLegacyIntotoEntry(entity.tlogEntries[0]) ? entity.tlogEntries[0] : null;
  const checked: SignedEntity = legacyEntry ? { ...entity, tlogEntries: [] } : entity;
  const tlogOptions = { tlogThreshold: checked.tlogEntries.length, timestampThreshold: 0 };
  const checkLegacy = (outcome: RunOutcome) => {
    if (!legacyEntry) return { reasons: [] as EvidenceReason[], setOk: undefined, rootId: outcome.rootId };
    const set = verifyLegacySet(legacyEntry, outcome.rootId ? roots.filter((r) => r.id === outcome.rootId) : roots);
    const reasons: EvidenceReason[] = set.ok ? [] : [{ code: "tlog-set", message: "inclusion promise could not be verified" }];
    reasons.push(...checkLegacyIntotoBody(legacyEntry, input.storedEnvelope, entity.signature));
    return { reasons, setOk: set.ok, rootId: outcome.rootId ?? set.rootId };
  };
  const certDer = entity.key.$case === "certificate" ? certificateDerOf(bundle) : null;
  const verifiersPerEntry = bodyVerifiers(entity);

  /** Runs the verifier, retrying RFC 3161 checks over alternative data when the first attempt fails on them. */
  const runAll = (e: SignedEntity, options: ConstructorParameters<typeof Verifier>[1], finder: TrustMaterial["publicKey"] | null, rootsNeeded: boolean) => {
    let outcome = runAcrossRoots(roots, rootsNeeded, e, options, finder);
    for (const data of input.tsaDataAlternatives ?? []) {
      if (outcome.code !== "TIMESTAMP_ERROR") break;
      const retry = runAcrossRoots(roots, rootsNeeded, { ...e, signature: withTimestampData(e.signature, data) }, options, finder);
      if (retry.ok || STAGE_ORDER.indexOf(retry.stage) > STAGE_ORDER.indexOf(outcome.stage)) outcome = retry;
    }
    return outcome;
  };

  if (entity.key.$case === "public-key") {
    const hint = keyHintOf(bundle);
    const matched = keys.filter((k) => safeVerify(entity.signature, k.keyObject));
    if (matched.length === 0) {
      const reasons: EvidenceReason[] = keys.length
        ? [
            { code: "signature", message: `signature does not verify with ${describeCandidates(keys)}` },
            { code: "no-matching-key", message: untrustedSignerMessage(entity, verifiersPerEntry, keys) },
          ]
        : [{ code: "no-matching-key", message: "key-based signature and no candidate key was supplied" }];
      return { signer: null, matchedKeys: [], reasons, tlog: describeTlog(entity, roots, null), timestamps: describeTimestamps(entity, null), checkedAt: [], trustRootId: null };
    }
    const reasons: EvidenceReason[] = checkProofConsistency(entity);
    // With a tlog entry, the signer is the matched key the entry names (cosign: body key == verifying key).
    let primary = matched[0] as ParsedPublicKey;
    for (const [i, verifiers] of verifiersPerEntry.entries()) {
      const spkis = verifiers.map(verifierSpki).filter((s): s is Buffer => s !== null);
      const bound = matched.find((k) => spkis.some((s) => s.equals(k.spki)));
      if (!bound) reasons.push({ code: "tlog-body-mismatch", message: `tlog entry ${i} does not name the verifying key` });
      else if (i === 0) primary = bound;
    }
    const finder: TrustMaterial["publicKey"] = () => ({ publicKey: primary.keyObject, validFor: () => true });
    // Without tlog entries or timestamps the Verifier would only repeat the signature check just done
    // (entity.signature.verifySignature is exactly its last step); skip it to halve the cost.
    const outcome: RunOutcome = needsRoot
      ? runAll(checked, { ...tlogOptions, ctlogThreshold: 0 }, finder, true)
      : { ok: true, code: "", message: "", stage: "done", rootId: null };
    if (!outcome.ok) reasons.push(reasonFor(outcome, null, []));
    const legacy = checkLegacy(outcome);
    reasons.push(...legacy.reasons);
    const signers = [primary, ...matched.filter((k) => k.fingerprint !== primary.fingerprint)];
    const distinct = signers.filter((k, i) => signers.findIndex((o) => o.fingerprint === k.fingerprint) === i);
    return {
      signer: toKeySigner(primary, keys, hint),
      matchedKeys: distinct.map((k) => toKeySigner(k, keys, hint)),
      reasons,
      tlog: describeTlog(entity, roots, outcome, legacy.setOk),
      timestamps: describeTimestamps(entity, outcome),
      checkedAt: [],
      trustRootId: legacy.rootId,
    };
  }

  // Keyless / certificate.
  if (!certDer) throw new MalformedError("certificate", "missing");
  const cert = parseCertificateDer(certDer);
  const signer = describeKeylessSigner(cert);
  const reasons: EvidenceReason[] = checkProofConsistency(entity);
  if (!hasCodeSigningEku(cert)) reasons.push({ code: "cert-eku", message: "certificate lacks the codeSigning extended key usage" });
  for (const [i, verifiers] of verifiersPerEntry.entries()) {
    const ders = verifiers.map(verifierCertDer).filter((d): d is Buffer => d !== null);
    if (!ders.some((d) => d.equals(cert.der))) reasons.push({ code: "tlog-body-mismatch", message: `tlog entry ${i} does not name this certificate` });
  }
  const checkedAt: CheckedTime[] = [
    ...tlogTimes(entity).map((t) => ({ source: "tlog" as const, time: t })),
    ...tsaTimes(entity).map((t) => ({ source: "rfc3161" as const, time: t })),
  ].map((c) => ({ source: c.source, time: c.time.toISOString() }));
  let verifyEntityWith = checked;
  let times = [...tlogTimes(entity), ...tsaTimes(entity)];
  if (times.length === 0) {
    // Neither a tlog entry nor a timestamp: cosign checks the certificate at the current time.
    verifyEntityWith = { ...checked, timestamps: [...checked.timestamps, syntheticTimestamp(now)] };
    times = [now];
    checkedAt.push({ source: "now", time: now.toISOString() });
  }
  const outcome = runAll(verifyEntityWith, { ...tlogOptions, ctlogThreshold: 1 }, null, true);
  if (!outcome.ok) reasons.push(reasonFor(outcome, cert, times));
  const legacy = checkLegacy(outcome);
  reasons.push(...legacy.reasons);
  return {
    signer,
    matchedKeys: [],
    reasons,
    tlog: describeTlog(entity, roots, outcome, legacy.setOk),
    timestamps: describeTimestamps(entity, outcome),
    checkedAt,
    trustRootId: legacy.rootId,
  };
}
