import "server-only";
import { z } from "zod";
import { ApiError } from "@/lib/api/errors";
import { appendAuditEvents } from "@/lib/audit/store";
import { getKeyring, type Keyring } from "@/lib/crypto/keys";
import { decryptSecret, encryptSecret } from "@/lib/crypto/secrets";
import type { Db } from "@/lib/db/client";
import { TX_ADMIN_TIMEOUT_MS, withTransaction } from "@/lib/db/transaction";
import { classifyAddress, isIpLiteral } from "@/lib/egress/address";
import { getEnv } from "@/lib/env";
import type { RegistryCredential } from "@/lib/generated/prisma/client";

/**
 * Per-registry credentials. The password / token is encrypted at rest (lib/crypto/secrets, bound to
 * the registry host); the API and pages only ever see `hasSecret`. The decrypted form is for the
 * registry client inside the worker, through `getRegistryCredentialForHost`.
 */
export const registryHostSchema = z
  .string()
  .trim()
  .toLowerCase()
  .min(1)
  .max(261)
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/, "must be a registry host, e.g. ghcr.io or registry.local:5000");

const caPemSchema = z
  .string()
  .trim()
  .max(65_536)
  .refine((v) => v.includes("-----BEGIN CERTIFICATE-----"), "must be PEM certificates");

/** A stored credential makes its registry configured (internal addresses allowed), never a metadata address. */
const isMetadataHost = (host: string): boolean => {
  const name = host.replace(/:\d+$/, "");
  return isIpLiteral(name) && classifyAddress(name) === "metadata";
};

export const newRegistryCredentialSchema = z.object({
  host: registryHostSchema.refine((h) => !isMetadataHost(h), "must not be a cloud metadata address"),
  username: z.string().trim().min(1).max(256).optional(),
  secret: z.string().min(1).max(16_384).optional(),
  insecure: z.boolean().default(false),
  caPem: caPemSchema.optional(),
});
export type NewRegistryCredential = z.input<typeof newRegistryCredentialSchema>;

/** `null` clears a field; an absent field stays as it is. */
export const registryCredentialUpdateSchema = z.object({
  username: z.string().trim().min(1).max(256).nullable().optional(),
  secret: z.string().min(1).max(16_384).nullable().optional(),
  insecure: z.boolean().optional(),
  caPem: caPemSchema.nullable().optional(),
});
export type RegistryCredentialUpdate = z.input<typeof registryCredentialUpdateSchema>;

/** What the API returns: never the secret, not even encrypted. */
export interface RegistryCredentialDto {
  id: string;
  host: string;
  username: string | null;
  hasSecret: boolean;
  insecure: boolean;
  hasCa: boolean;
  createdAt: string;
  updatedAt: string;
}

/** For the registry client only: never returned by an API or logged. */
export interface DecryptedRegistryCredential {
  host: string;
  username: string | null;
  secret: string | null;
  insecure: boolean;
  caPem: string | null;
}

const context = (host: string) => `registry-credential:${host}`;
const keyring = (): Keyring => getKeyring(getEnv());

function toDto(row: RegistryCredential): RegistryCredentialDto {
  return {
    id: row.id,
    host: row.host,
    username: row.username,
    hasSecret: row.secretEnc !== null,
    insecure: row.insecure,
    hasCa: row.caPem !== null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export async function listRegistryCredentials(db: Db): Promise<RegistryCredentialDto[]> {
  return (await db.registryCredential.findMany({ orderBy: { host: "asc" } })).map(toDto);
}

export async function createRegistryCredential(db: Db, input: NewRegistryCredential, actor: string): Promise<RegistryCredentialDto> {
  const data = newRegistryCredentialSchema.parse(input);
  const secretEnc = data.secret === undefined ? null : encryptSecret(keyring(), data.secret, context(data.host));
  return withTransaction(db, async (tx) => {
    if (await tx.registryCredential.findUnique({ where: { host: data.host }, select: { id: true } })) {
      throw new ApiError("conflict", `Credentials for ${data.host} exist; change or delete them instead.`, { field: "host" });
    }
    const row = await tx.registryCredential.create({
      data: { host: data.host, username: data.username ?? null, secretEnc, insecure: data.insecure, caPem: data.caPem ?? null },
    });
    await appendAuditEvents(tx, [
      { kind: "admin", actor, details: { action: "credential.create", host: row.host, username: row.username, hasSecret: secretEnc !== null, insecure: row.insecure } },
    ]);
    return toDto(row);
  }, { timeout: TX_ADMIN_TIMEOUT_MS });
}

export async function updateRegistryCredential(db: Db, id: string, input: RegistryCredentialUpdate, actor: string): Promise<RegistryCredentialDto> {
  const data = registryCredentialUpdateSchema.parse(input);
  return withTransaction(db, async (tx) => {
    const existing = await tx.registryCredential.findUnique({ where: { id } });
    if (!existing) throw new ApiError("not_found", "No such registry credential.");
    const secretEnc = data.secret === undefined ? undefined : data.secret === null ? null : encryptSecret(keyring(), data.secret, context(existing.host));
    const row = await tx.registryCredential.update({
      where: { id },
      data: { username: data.username, secretEnc, insecure: data.insecure, caPem: data.caPem },
    });
    const changed = Object.keys(data).filter((k) => data[k as keyof typeof data] !== undefined);
    await appendAuditEvents(tx, [{ kind: "admin", actor, details: { action: "credential.update", host: row.host, changed } }]);
    return toDto(row);
  }, { timeout: TX_ADMIN_TIMEOUT_MS });
}

export async function deleteRegistryCredential(db: Db, id: string, actor: string): Promise<void> {
  await withTransaction(db, async (tx) => {
    const existing = await tx.registryCredential.findUnique({ where: { id }, select: { host: true } });
    if (!existing) throw new ApiError("not_found", "No such registry credential.");
    await tx.registryCredential.delete({ where: { id } });
    await appendAuditEvents(tx, [{ kind: "admin", actor, details: { action: "credential.delete", host: existing.host } }]);
  }, { timeout: TX_ADMIN_TIMEOUT_MS });
}

/** The decrypted credential for a registry host (internal use by the registry client), or null. */
export async function getRegistryCredentialForHost(db: Db, host: string): Promise<DecryptedRegistryCredential | null> {
  const row = await db.registryCredential.findUnique({ where: { host: registryHostSchema.parse(host) } });
  if (!row) return null;
  return {
    host: row.host,
    username: row.username,
    secret: row.secretEnc === null ? null : decryptSecret(keyring(), row.secretEnc, context(row.host)),
    insecure: row.insecure,
    caPem: row.caPem,
  };
}
