import "server-only";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { Keyring } from "@/lib/crypto/keys";

/**
 * Secrets at rest: AES-256-GCM in a versioned envelope
 *
 *   sv1:<key id>:<iv>:<ciphertext>:<tag>      (base64url parts)
 *
 * The version and key id are authenticated together with an optional context string (e.g. the
 * registry host a password belongs to), so a ciphertext copied to another row or re-labelled with
 * another key id fails to decrypt instead of yielding a secret in the wrong place.
 */
const VERSION = "sv1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Decryption failed: unknown key, wrong context, or tampering. Never carries the plaintext. */
export class SecretDecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretDecryptError";
  }
}

function aad(keyId: string, context: string): Buffer {
  return Buffer.from(`${VERSION}\0${keyId}\0${context}`, "utf8");
}

export function encryptSecret(keyring: Keyring, plaintext: string, context = ""): string {
  const { id, key } = keyring.current;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(id, context));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return [VERSION, id, iv.toString("base64url"), ciphertext.toString("base64url"), cipher.getAuthTag().toString("base64url")].join(":");
}

export interface ParsedEnvelope {
  version: string;
  keyId: string;
}

/** The envelope's version and key id, or undefined when the value is not an envelope. */
export function parseEnvelope(envelope: string): ParsedEnvelope | undefined {
  const parts = envelope.split(":");
  if (parts.length !== 5 || parts[0] !== VERSION || !/^[0-9a-f]{16}$/.test(parts[1] ?? "")) return undefined;
  return { version: parts[0], keyId: parts[1]! };
}

export function decryptSecret(keyring: Keyring, envelope: string, context = ""): string {
  const parsed = parseEnvelope(envelope);
  if (!parsed) throw new SecretDecryptError("not a Signet secret envelope");
  const key = keyring.byId.get(parsed.keyId);
  if (!key) throw new SecretDecryptError(`secret was encrypted with key ${parsed.keyId}, which is not configured (SIGNET_SECRET_KEY / SIGNET_SECRET_KEY_PREVIOUS)`);
  const [, , ivPart, ctPart, tagPart] = envelope.split(":") as [string, string, string, string, string];
  const iv = Buffer.from(ivPart, "base64url");
  const tag = Buffer.from(tagPart, "base64url");
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretDecryptError("malformed secret envelope");
  try {
    const decipher = createDecipheriv("aes-256-gcm", key.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(parsed.keyId, context));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(ctPart, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    throw new SecretDecryptError("secret failed authentication (wrong key or context, or the stored value was altered)");
  }
}

/** True when the envelope was written with a key other than the current one (re-encrypt it). */
export function needsReencryption(keyring: Keyring, envelope: string): boolean {
  return parseEnvelope(envelope)?.keyId !== keyring.current.id;
}
