import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";

/**
 * Signed checkpoints of the audit chain, pure. A checkpoint says "at `at`, the chain's head was event
 * `seq` with hash `hash`"; because every event's hash covers the one before it, it vouches for the whole
 * chain up to `seq`. It is signed with Ed25519 by a key the database does not hold, so whoever controls
 * only the database can delete or rewrite events but cannot make a checkpoint for the result.
 */
export interface Checkpoint {
  seq: bigint;
  hash: string;
  /** ISO time, millisecond precision (what timestamptz(3) stores). */
  at: string;
  /** Fingerprint of the verifying public key ({@link publicKeyFingerprint}). */
  keyId: string;
  /** base64 Ed25519 signature of {@link checkpointMessage}. */
  signature: string;
}

/** A checkpoint as stored: its row id names it in reports. */
export interface StoredCheckpoint extends Checkpoint {
  id: string;
}

export function checkpointMessage(c: Pick<Checkpoint, "seq" | "hash" | "at">): Buffer {
  return Buffer.from(`signet-audit-checkpoint-v1\n${c.seq}\n${c.hash}\n${c.at}`, "utf8");
}

// PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410), so node:crypto can load a derived seed.
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export interface CheckpointSigner {
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
}

/** The Ed25519 key pair of a 32-byte seed (derived with HKDF from the secret key, lib/audit/keys). */
export function signerFromSeed(seed: Buffer): CheckpointSigner {
  if (seed.length !== 32) throw new Error("an Ed25519 seed is 32 bytes");
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: publicKeyFingerprint(publicKey) };
}

/** sha256 of the raw 32-byte public key, hex: what `signet audit public-key` prints and exports carry. */
export function publicKeyFingerprint(publicKey: KeyObject): string {
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  return createHash("sha256").update(raw).digest("hex");
}

export function publicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ format: "pem", type: "spki" }).toString();
}

/** Parses a PEM public key; only Ed25519 keys are accepted. */
export function parsePublicKeyPem(pem: string): KeyObject {
  const key = createPublicKey({ key: pem, format: "pem" });
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`expected an Ed25519 public key, got ${key.asymmetricKeyType ?? "an unknown key type"}`);
  return key;
}

export function signCheckpoint(signer: CheckpointSigner, head: { seq: bigint; hash: string; at: Date }): Checkpoint {
  const at = head.at.toISOString();
  const signature = sign(null, checkpointMessage({ seq: head.seq, hash: head.hash, at }), signer.privateKey).toString("base64");
  return { seq: head.seq, hash: head.hash, at, keyId: signer.keyId, signature };
}

/**
 * `valid`: signed by the key it names, which is one of `keys`; `invalid`: that key does not verify it
 * (a forged or altered checkpoint); `unknown-key`: signed by a key not in `keys` (e.g. a retired
 * secret key), so it can neither vouch for the chain nor be called forged.
 */
export function checkCheckpointSignature(keys: ReadonlyMap<string, KeyObject>, c: Checkpoint): "valid" | "invalid" | "unknown-key" {
  const key = keys.get(c.keyId);
  if (!key) return "unknown-key";
  try {
    const sig = Buffer.from(c.signature, "base64");
    return sig.length === 64 && verify(null, checkpointMessage(c), key, sig) ? "valid" : "invalid";
  } catch {
    return "invalid";
  }
}

/** Two checkpoints are the same statement (ids aside). */
export function sameCheckpoint(a: Checkpoint, b: Checkpoint): boolean {
  return a.seq === b.seq && a.hash === b.hash && a.at === b.at && a.keyId === b.keyId && a.signature === b.signature;
}

/**
 * A full walk's signed statement "every event through `seq` (hash `hash`) was verified at `at`, `events`
 * events from the first": where a later check may start instead of the first event (lib/audit/store
 * `verifyAuditChainSinceVerified`). Signed with the checkpoint key over its own message, so a checkpoint
 * (written on every append) can never pass for one, nor one for a checkpoint.
 */
export interface VerifiedPrefix {
  seq: bigint;
  hash: string;
  /** ISO time of the walk, millisecond precision. */
  at: string;
  events: number;
  keyId: string;
  signature: string;
}

export function verifiedPrefixMessage(p: Pick<VerifiedPrefix, "seq" | "hash" | "at" | "events">): Buffer {
  return Buffer.from(`signet-audit-verified-prefix-v1\n${p.seq}\n${p.hash}\n${p.at}\n${p.events}`, "utf8");
}

export function signVerifiedPrefix(signer: CheckpointSigner, p: { seq: bigint; hash: string; at: Date; events: number }): VerifiedPrefix {
  const at = p.at.toISOString();
  const signature = sign(null, verifiedPrefixMessage({ seq: p.seq, hash: p.hash, at, events: p.events }), signer.privateKey).toString("base64");
  return { seq: p.seq, hash: p.hash, at, events: p.events, keyId: signer.keyId, signature };
}

/** True when `p` is signed by the key it names and that key is one of `keys`. */
export function verifiedPrefixIsSigned(keys: ReadonlyMap<string, KeyObject>, p: VerifiedPrefix): boolean {
  const key = keys.get(p.keyId);
  if (!key) return false;
  try {
    const sig = Buffer.from(p.signature, "base64");
    return sig.length === 64 && verify(null, verifiedPrefixMessage(p), key, sig);
  } catch {
    return false;
  }
}
