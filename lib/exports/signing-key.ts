import "server-only";
import { createHash, createPublicKey, createSign, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { appendAuditEvents } from "@/lib/audit/store";
import { getKeyring, type Keyring } from "@/lib/crypto/keys";
import { decryptSecret, encryptSecret, needsReencryption } from "@/lib/crypto/secrets";
import type { Db } from "@/lib/db/client";
import { TX_ADMIN_TIMEOUT_MS, withTransaction } from "@/lib/db/transaction";
import { getEnv } from "@/lib/env";
import { childLogger } from "@/lib/log";

/**
 * Signet's export key (docs/decisions/0015-export-signatures.md): an ECDSA P-256 key pair generated on
 * first use and kept in the `ServerKey` table, the private key encrypted with SIGNET_SECRET_KEY. Every
 * export (CSV, JSON, PDF) carries a detached signature made with it: base64 of the DER ECDSA signature
 * over SHA-256 of the exact bytes served, the format `cosign verify-blob --key` checks. It does not
 * change when SIGNET_SECRET_KEY rotates (the envelope is re-encrypted), so a published public key stays
 * valid for auditors. An administrator rotates it (`rotateExportKey`): the old public key stays
 * published in `RetiredServerKey` with the period it was current, its private key is overwritten.
 * The private key never leaves this module: not in a DTO, a log line or a response.
 */
export const EXPORT_KEY_PURPOSE = "export";
export const EXPORT_KEY_ALGORITHM = "ecdsa-p256-sha256";

/** A signature computed over bytes fed in order, as an export is written. */
export interface StreamingSignature {
  update(chunk: Uint8Array): void;
  /** base64 of the ASN.1 DER ECDSA signature over sha256 of every byte fed. */
  sign(): string;
}

export interface ExportSigner {
  publicKeyPem: string;
  /** sha256 of the DER SubjectPublicKeyInfo, hex (as `Authority.fingerprint`). */
  fingerprint: string;
  /** When this key became the current export key. */
  createdAt: Date;
  /** base64 of the ASN.1 DER ECDSA signature over sha256(bytes). */
  sign(bytes: Uint8Array): string;
  /** The same signature, over bytes given piece by piece (a streamed export). */
  start(): StreamingSignature;
}

/** A public export key as published: the current one (`validUntil` null) or one rotated away. */
export interface PublishedExportKey {
  publicKeyPem: string;
  fingerprint: string;
  algorithm: string;
  validFrom: Date;
  validUntil: Date | null;
}

const log = childLogger("export-key");
const context = (purpose: string) => `server-key:${purpose}`;

export function spkiFingerprint(publicKey: KeyObject): string {
  return createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex");
}

function signerOf(row: { publicKeyPem: string; fingerprint: string; createdAt: Date }, privateKeyPem: string): ExportSigner {
  const key = { key: privateKeyPem, dsaEncoding: "der" as const };
  return {
    publicKeyPem: row.publicKeyPem,
    fingerprint: row.fingerprint,
    createdAt: row.createdAt,
    sign: (bytes) => sign("sha256", bytes, key).toString("base64"),
    start: () => {
      const s = createSign("sha256");
      return { update: (chunk) => void s.update(chunk), sign: () => s.sign(key, "base64") };
    },
  };
}

/** A fresh key pair as stored: public SPKI PEM, fingerprint, private PKCS#8 PEM in a secret envelope. */
function newKeyPair(keyring: Keyring): { algorithm: string; publicKeyPem: string; fingerprint: string; privateKeyEnc: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return {
    algorithm: EXPORT_KEY_ALGORITHM,
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    fingerprint: spkiFingerprint(publicKey),
    privateKeyEnc: encryptSecret(keyring, privateKey.export({ type: "pkcs8", format: "pem" }).toString(), context(EXPORT_KEY_PURPOSE)),
  };
}

type KeyRow = NonNullable<Awaited<ReturnType<Db["serverKey"]["findUnique"]>>>;

/** The stored export key, generated when there is none (web and worker may race: the first insert wins, all read the stored row). */
async function currentRow(db: Db): Promise<KeyRow> {
  const row = await db.serverKey.findUnique({ where: { purpose: EXPORT_KEY_PURPOSE } });
  if (row) return row;
  await db.serverKey.createMany({ data: [{ purpose: EXPORT_KEY_PURPOSE, ...newKeyPair(getKeyring(getEnv())) }], skipDuplicates: true });
  const created = await db.serverKey.findUniqueOrThrow({ where: { purpose: EXPORT_KEY_PURPOSE } });
  log.info({ fingerprint: created.fingerprint }, "generated the export signing key");
  return created;
}

const globalForKey = globalThis as unknown as { signetExportSigner?: { fingerprint: string; envelope: string; signer: ExportSigner } };

/**
 * The current export signer of this installation, created on first use. The stored row is read on every
 * call (one primary-key lookup), so a rotation made by any process is followed by every process at its
 * next export; the decrypted key is kept while the row is unchanged.
 */
export async function getExportSigner(db: Db): Promise<ExportSigner> {
  const row = await currentRow(db);
  const cached = globalForKey.signetExportSigner;
  if (cached && cached.fingerprint === row.fingerprint && cached.envelope === row.privateKeyEnc) return cached.signer;
  const keyring = getKeyring(getEnv());
  const privatePem = decryptSecret(keyring, row.privateKeyEnc, context(row.purpose));
  // the stored public key must be the private key's: a row edited in the database is refused, not used
  const derived = createPublicKey(privatePem);
  if (spkiFingerprint(derived) !== row.fingerprint || spkiFingerprint(createPublicKey(row.publicKeyPem)) !== row.fingerprint) {
    throw new Error("the stored export key's public key does not match its private key");
  }
  let envelope = row.privateKeyEnc;
  if (needsReencryption(keyring, row.privateKeyEnc)) {
    envelope = encryptSecret(keyring, privatePem, context(row.purpose));
    // only the envelope of the same key pair is replaced (a rotation in between is left alone)
    await db.serverKey.updateMany({ where: { purpose: row.purpose, fingerprint: row.fingerprint }, data: { privateKeyEnc: envelope } });
    log.info({ fingerprint: row.fingerprint }, "re-encrypted the export signing key with the current secret key");
  }
  const signer = signerOf(row, privatePem);
  globalForKey.signetExportSigner = { fingerprint: row.fingerprint, envelope, signer };
  return signer;
}

/** For tests that change the secret key or the database between cases. */
export function resetExportSigner(): void {
  globalForKey.signetExportSigner = undefined;
}

/**
 * The published export keys: the current one first, then every key rotated away, newest first, each
 * with the period it was current. Public halves only.
 */
export async function listExportKeys(db: Db): Promise<PublishedExportKey[]> {
  const [current, retired] = await Promise.all([
    currentRow(db),
    db.retiredServerKey.findMany({ where: { purpose: EXPORT_KEY_PURPOSE }, orderBy: { validUntil: "desc" }, take: 1000 }),
  ]);
  return [
    { publicKeyPem: current.publicKeyPem, fingerprint: current.fingerprint, algorithm: current.algorithm, validFrom: current.createdAt, validUntil: null },
    ...retired.map((r) => ({ publicKeyPem: r.publicKeyPem, fingerprint: r.fingerprint, algorithm: r.algorithm, validFrom: r.validFrom, validUntil: r.validUntil })),
  ];
}

/**
 * Replaces the export key with a new key pair (admin): the old public key is kept, published with the
 * period it was current, and its private key is overwritten in the same transaction, which also
 * appends the audit event naming both fingerprints. Works when the current private key can no longer
 * be decrypted (a lost SIGNET_SECRET_KEY): rotation is also the way out of that.
 */
export async function rotateExportKey(db: Db, actor: string): Promise<{ previous: PublishedExportKey; current: PublishedExportKey }> {
  await currentRow(db);
  const keyring = getKeyring(getEnv());
  const result = await withTransaction(
    db,
    async (tx) => {
      // two rotations at once: the second waits here and rotates the key the first one made
      await tx.$queryRaw`SELECT 1 FROM "ServerKey" WHERE "purpose" = ${EXPORT_KEY_PURPOSE} FOR UPDATE`;
      const old = await tx.serverKey.findUniqueOrThrow({ where: { purpose: EXPORT_KEY_PURPOSE } });
      const at = new Date();
      const next = newKeyPair(keyring);
      const retired = await tx.retiredServerKey.create({
        data: { fingerprint: old.fingerprint, purpose: old.purpose, algorithm: old.algorithm, publicKeyPem: old.publicKeyPem, validFrom: old.createdAt, validUntil: at, retiredBy: actor },
      });
      const updated = await tx.serverKey.update({ where: { purpose: EXPORT_KEY_PURPOSE }, data: { ...next, createdAt: at } });
      await appendAuditEvents(tx, [{ kind: "admin", actor, details: { action: "export-key.rotate", from: old.fingerprint, to: updated.fingerprint } }]);
      return {
        previous: { publicKeyPem: retired.publicKeyPem, fingerprint: retired.fingerprint, algorithm: retired.algorithm, validFrom: retired.validFrom, validUntil: retired.validUntil },
        current: { publicKeyPem: updated.publicKeyPem, fingerprint: updated.fingerprint, algorithm: updated.algorithm, validFrom: updated.createdAt, validUntil: null },
      };
    },
    { timeout: TX_ADMIN_TIMEOUT_MS },
  );
  resetExportSigner();
  log.info({ from: result.previous.fingerprint, to: result.current.fingerprint, actor }, "rotated the export signing key");
  return result;
}

/** Checks a detached export signature (base64 DER) against a public key PEM: what cosign verify-blob does. */
export function verifyExportSignature(publicKeyPem: string, bytes: Uint8Array, signatureBase64: string): boolean {
  return verify("sha256", bytes, { key: publicKeyPem, dsaEncoding: "der" }, Buffer.from(signatureBase64, "base64"));
}

/** A published key as the API shows it (dates as ISO strings). */
export function toPublishedKeyDto(k: PublishedExportKey): { publicKeyPem: string; fingerprint: string; algorithm: string; validFrom: string; validUntil: string | null } {
  return { publicKeyPem: k.publicKeyPem, fingerprint: k.fingerprint, algorithm: k.algorithm, validFrom: k.validFrom.toISOString(), validUntil: k.validUntil?.toISOString() ?? null };
}
