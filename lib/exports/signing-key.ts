import "server-only";
import { createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { getKeyring } from "@/lib/crypto/keys";
import { decryptSecret, encryptSecret, needsReencryption } from "@/lib/crypto/secrets";
import type { Db } from "@/lib/db/client";
import { getEnv } from "@/lib/env";
import { childLogger } from "@/lib/log";

/**
 * Signet's export key (docs/decisions/0015-export-signatures.md): an ECDSA P-256 key pair generated on
 * first use and kept in the `ServerKey` table, the private key encrypted with SIGNET_SECRET_KEY. Every
 * export (CSV, JSON, PDF) carries a detached signature made with it: base64 of the DER ECDSA signature
 * over SHA-256 of the exact bytes served, the format `cosign verify-blob --key` checks. It does not
 * change when SIGNET_SECRET_KEY rotates (the envelope is re-encrypted), so a published public key stays
 * valid for auditors. The private key never leaves this module: not in a DTO, a log line or a response.
 */
export const EXPORT_KEY_PURPOSE = "export";
export const EXPORT_KEY_ALGORITHM = "ecdsa-p256-sha256";

export interface ExportSigner {
  publicKeyPem: string;
  /** sha256 of the DER SubjectPublicKeyInfo, hex (as `Authority.fingerprint`). */
  fingerprint: string;
  createdAt: Date;
  /** base64 of the ASN.1 DER ECDSA signature over sha256(bytes). */
  sign(bytes: Uint8Array): string;
}

const log = childLogger("export-key");
const context = (purpose: string) => `server-key:${purpose}`;

export function spkiFingerprint(publicKey: KeyObject): string {
  return createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex");
}

function signerOf(row: { publicKeyPem: string; fingerprint: string; createdAt: Date }, privateKeyPem: string): ExportSigner {
  return {
    publicKeyPem: row.publicKeyPem,
    fingerprint: row.fingerprint,
    createdAt: row.createdAt,
    sign: (bytes) => sign("sha256", bytes, { key: privateKeyPem, dsaEncoding: "der" }).toString("base64"),
  };
}

const globalForKey = globalThis as unknown as { signetExportSigner?: Promise<ExportSigner> };

/** The export signer of this installation, created on first use (one key for every web and worker process). */
export function getExportSigner(db: Db): Promise<ExportSigner> {
  globalForKey.signetExportSigner ??= loadOrCreate(db).catch((err: unknown) => {
    globalForKey.signetExportSigner = undefined;
    throw err;
  });
  return globalForKey.signetExportSigner;
}

/** For tests that change the secret key or the database between cases. */
export function resetExportSigner(): void {
  globalForKey.signetExportSigner = undefined;
}

async function loadOrCreate(db: Db): Promise<ExportSigner> {
  const keyring = getKeyring(getEnv());
  let row = await db.serverKey.findUnique({ where: { purpose: EXPORT_KEY_PURPOSE } });
  if (!row) {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    // web and worker may start together: the first insert wins, everyone reads the stored key
    await db.serverKey.createMany({
      data: [
        {
          purpose: EXPORT_KEY_PURPOSE,
          algorithm: EXPORT_KEY_ALGORITHM,
          publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
          fingerprint: spkiFingerprint(publicKey),
          privateKeyEnc: encryptSecret(keyring, privatePem, context(EXPORT_KEY_PURPOSE)),
        },
      ],
      skipDuplicates: true,
    });
    row = await db.serverKey.findUniqueOrThrow({ where: { purpose: EXPORT_KEY_PURPOSE } });
    log.info({ fingerprint: row.fingerprint }, "generated the export signing key");
  }
  const privatePem = decryptSecret(keyring, row.privateKeyEnc, context(row.purpose));
  // the stored public key must be the private key's: a row edited in the database is refused, not used
  const derived = createPublicKey(privatePem);
  if (spkiFingerprint(derived) !== row.fingerprint || spkiFingerprint(createPublicKey(row.publicKeyPem)) !== row.fingerprint) {
    throw new Error("the stored export key's public key does not match its private key");
  }
  if (needsReencryption(keyring, row.privateKeyEnc)) {
    await db.serverKey.update({ where: { purpose: row.purpose }, data: { privateKeyEnc: encryptSecret(keyring, privatePem, context(row.purpose)) } });
    log.info({ fingerprint: row.fingerprint }, "re-encrypted the export signing key with the current secret key");
  }
  return signerOf(row, privatePem);
}

/** Checks a detached export signature (base64 DER) against a public key PEM: what cosign verify-blob does. */
export function verifyExportSignature(publicKeyPem: string, bytes: Uint8Array, signatureBase64: string): boolean {
  return verify("sha256", bytes, { key: publicKeyPem, dsaEncoding: "der" }, Buffer.from(signatureBase64, "base64"));
}
