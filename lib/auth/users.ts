import "server-only";
import { randomUUID } from "node:crypto";
import { hashPassword } from "better-auth/crypto";
import { z } from "zod";
import { ApiError } from "@/lib/api/errors";
import { appendAuditEvents } from "@/lib/audit/store";
import { roleSchema, type Role } from "@/lib/auth/roles";
import type { Db } from "@/lib/db/client";
import { TX_ADMIN_TIMEOUT_MS, withTransaction } from "@/lib/db/transaction";
import type { Prisma } from "@/lib/generated/prisma/client";

/** better-auth's provider id of email + password accounts. */
export const CREDENTIAL_PROVIDER = "credential";
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

export const emailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email())
  .transform((e) => e.toLowerCase());
export const passwordSchema = z.string().min(PASSWORD_MIN, `must be at least ${PASSWORD_MIN} characters`).max(PASSWORD_MAX);

export const newUserSchema = z.object({
  email: emailSchema,
  name: z.string().trim().min(1).max(100),
  password: passwordSchema,
  role: roleSchema.default("viewer"),
});
export type NewUser = z.input<typeof newUserSchema>;

/** A user as the API and pages show it: never a password hash or token. */
export interface UserDto {
  id: string;
  email: string;
  name: string;
  role: Role;
  /** How the user signs in: a local password, single sign-on, or both. */
  signIn: ("password" | "sso")[];
  createdAt: string;
}

type Tx = Prisma.TransactionClient;

const userSelect = {
  id: true,
  email: true,
  name: true,
  role: true,
  createdAt: true,
  accounts: { select: { providerId: true } },
} as const;

function toDto(u: { id: string; email: string; name: string; role: Role; createdAt: Date; accounts: { providerId: string }[] }): UserDto {
  const signIn = new Set<"password" | "sso">(u.accounts.map((a) => (a.providerId === CREDENTIAL_PROVIDER ? "password" : "sso")));
  return { id: u.id, email: u.email, name: u.name, role: u.role, signIn: [...signIn].sort(), createdAt: u.createdAt.toISOString() };
}

export async function countUsers(db: Db | Tx): Promise<number> {
  return db.user.count();
}

/** Creates a user who signs in with email + password, and records who did it in the audit log. */
export async function createLocalUser(db: Db | Tx, input: NewUser, actor: string): Promise<UserDto> {
  const data = newUserSchema.parse(input);
  const hash = await hashPassword(data.password);
  const run = async (tx: Tx) => {
    if (await tx.user.findUnique({ where: { email: data.email }, select: { id: true } })) {
      throw new ApiError("conflict", `A user with the email ${data.email} exists.`);
    }
    const id = randomUUID();
    const user = await tx.user.create({
      data: {
        id,
        email: data.email,
        name: data.name,
        role: data.role,
        accounts: { create: { id: randomUUID(), providerId: CREDENTIAL_PROVIDER, accountId: id, password: hash } },
      },
      select: userSelect,
    });
    await appendAuditEvents(tx, [{ kind: "admin", actor, details: { action: "user.create", user: data.email, role: data.role } }]);
    return toDto(user);
  };
  return "$transaction" in db ? withTransaction(db, run, { timeout: TX_ADMIN_TIMEOUT_MS }) : run(db);
}

export async function listUsers(db: Db): Promise<UserDto[]> {
  const rows = await db.user.findMany({ select: userSelect, orderBy: { email: "asc" } });
  return rows.map(toDto);
}

async function lockUsers(tx: Tx): Promise<void> {
  // Serializes role changes and deletions so two admins cannot demote each other into no admin at all.
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('signet:users'))`;
}

async function assertNotLastAdmin(tx: Tx, userId: string): Promise<void> {
  const admins = await tx.user.count({ where: { role: "admin", id: { not: userId } } });
  if (admins === 0) throw new ApiError("conflict", "This is the last administrator; make someone else an administrator first.");
}

/** Changes a user's role (refusing to remove the last administrator) and audits the change. */
export async function setUserRole(db: Db, userId: string, role: Role, actor: string): Promise<UserDto> {
  return withTransaction(db, async (tx) => {
    await lockUsers(tx);
    const user = await tx.user.findUnique({ where: { id: userId }, select: userSelect });
    if (!user) throw new ApiError("not_found", "No such user.");
    if (user.role === role) return toDto(user);
    if (user.role === "admin") await assertNotLastAdmin(tx, userId);
    const updated = await tx.user.update({ where: { id: userId }, data: { role }, select: userSelect });
    await appendAuditEvents(tx, [{ kind: "admin", actor, details: { action: "user.role", user: user.email, from: user.role, to: role } }]);
    return toDto(updated);
  }, { timeout: TX_ADMIN_TIMEOUT_MS });
}

/** Deletes a user with their sessions and accounts (refusing the last administrator) and audits it. */
export async function deleteUser(db: Db, userId: string, actor: string): Promise<void> {
  await withTransaction(db, async (tx) => {
    await lockUsers(tx);
    const user = await tx.user.findUnique({ where: { id: userId }, select: { email: true, role: true } });
    if (!user) throw new ApiError("not_found", "No such user.");
    if (user.role === "admin") await assertNotLastAdmin(tx, userId);
    await tx.user.delete({ where: { id: userId } });
    await appendAuditEvents(tx, [{ kind: "admin", actor, details: { action: "user.delete", user: user.email, role: user.role } }]);
  }, { timeout: TX_ADMIN_TIMEOUT_MS });
}

/**
 * Applies the role an SSO sign-in's groups grant. Audited when it changes (the identity provider is
 * the source of truth for SSO users: an admin's manual change lasts until their next sign-in).
 */
export async function applySsoRole(db: Db, userId: string, role: Role, groups: string[]): Promise<void> {
  await withTransaction(db, async (tx) => {
    await lockUsers(tx);
    const user = await tx.user.findUnique({ where: { id: userId }, select: { email: true, role: true } });
    if (!user || user.role === role) return;
    await tx.user.update({ where: { id: userId }, data: { role } });
    await appendAuditEvents(tx, [
      { kind: "admin", actor: "sso", details: { action: "user.role", user: user.email, from: user.role, to: role, groups } },
    ]);
  }, { timeout: TX_ADMIN_TIMEOUT_MS });
}

/** Audits the creation of a user by single sign-on (better-auth creates the row; this records it). */
export async function auditSsoUserCreated(db: Db, email: string, role: Role, groups: string[]): Promise<void> {
  await appendAuditEvents(db, [{ kind: "admin", actor: "sso", details: { action: "user.create", user: email, role, groups } }]);
}
