import "server-only";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { z } from "zod";
import { ApiError } from "@/lib/api/errors";
import { getPublicUrl } from "@/lib/auth/origins";
import { countUsers, createLocalUser, emailSchema, passwordSchema, type UserDto } from "@/lib/auth/users";
import type { Db } from "@/lib/db/client";
import { TX_ADMIN_TIMEOUT_MS, withTransaction } from "@/lib/db/transaction";
import type { Env } from "@/lib/env";
import { childLogger } from "@/lib/log";

/**
 * First sign-in without a default password: while no user exists, Signet issues a one-time setup
 * link (random token; only its sha256 is stored, in better-auth's `verification` table, with an
 * expiry). Opening it lets one person create the first administrator; the token is then deleted, and
 * no link is accepted once any user exists.
 */
const IDENTIFIER = "signet:first-admin-setup";
export const SETUP_TTL_MINUTES = 60;
const SETUP_LOCK = 72_707_371;

export const setupSchema = z.object({
  token: z.string().min(20).max(200),
  name: z.string().trim().min(1).max(100),
  email: emailSchema,
  password: passwordSchema,
});
export type SetupInput = z.input<typeof setupSchema>;

const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");

/**
 * Issues a setup link when no user exists. `rotate` replaces any earlier link (server start, CLI);
 * otherwise a still-valid link is kept and nothing new is issued. Returns the new link, if any.
 */
export async function issueSetupLink(db: Db, env: Env, opts: { rotate: boolean }): Promise<string | undefined> {
  return withTransaction(db, async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${SETUP_LOCK})`;
    if ((await countUsers(tx)) > 0) {
      await tx.verification.deleteMany({ where: { identifier: IDENTIFIER } });
      return undefined;
    }
    if (!opts.rotate && (await tx.verification.count({ where: { identifier: IDENTIFIER, expiresAt: { gt: new Date() } } })) > 0) {
      return undefined;
    }
    await tx.verification.deleteMany({ where: { identifier: IDENTIFIER } });
    const token = randomBytes(32).toString("base64url");
    await tx.verification.create({
      data: { id: randomUUID(), identifier: IDENTIFIER, value: hashToken(token), expiresAt: new Date(Date.now() + SETUP_TTL_MINUTES * 60_000) },
    });
    const url = new URL("/setup", getPublicUrl(env));
    url.searchParams.set("token", token);
    return url.toString();
  }, { timeout: TX_ADMIN_TIMEOUT_MS });
}

/** Issues a link if needed and prints it where the person who started Signet looks: a banner on the server's output. */
export async function announceSetupLink(db: Db, env: Env, opts: { rotate: boolean }): Promise<void> {
  const link = await issueSetupLink(db, env, opts);
  if (!link) return;
  // a plain banner a person sees among the JSON log lines (stderr, like the logs); the link is a
  // one-time secret, so the structured log only says where it is
  process.stderr.write(setupBanner(link));
  childLogger("auth").warn("No administrator exists yet: the one-time setup link is printed above (or run `signet users create-admin`).");
}

/** The first-run banner around the setup link: plain text, the link alone on its line. */
export function setupBanner(link: string): string {
  const rule = "=".repeat(78);
  return [
    "",
    rule,
    "  Signet: no administrator exists yet. Create the first one here (one-time link,",
    `  valid ${SETUP_TTL_MINUTES} minutes; a restart prints a new one):`,
    "",
    `  ${link}`,
    "",
    "  or run: signet users create-admin",
    rule,
    "",
    "",
  ].join("\n");
}

export async function hasAnyUser(db: Db): Promise<boolean> {
  return (await countUsers(db)) > 0;
}

export async function isSetupTokenValid(db: Db, token: string): Promise<boolean> {
  if (await hasAnyUser(db)) return false;
  const row = await db.verification.findFirst({ where: { identifier: IDENTIFIER, value: hashToken(token), expiresAt: { gt: new Date() } } });
  return row !== null;
}

/** Consumes the token and creates the first administrator (single use, refused once any user exists). */
export async function completeSetup(db: Db, input: SetupInput): Promise<UserDto> {
  const data = setupSchema.parse(input);
  return withTransaction(
    db,
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${SETUP_LOCK})`;
      const invalid = new ApiError("forbidden", "This setup link is invalid, used or expired. Restart Signet or run `signet users setup-link` for a new one.");
      if ((await countUsers(tx)) > 0) throw invalid;
      const row = await tx.verification.findFirst({ where: { identifier: IDENTIFIER, value: hashToken(data.token), expiresAt: { gt: new Date() } } });
      if (!row) throw invalid;
      await tx.verification.deleteMany({ where: { identifier: IDENTIFIER } });
      return createLocalUser(tx, { email: data.email, name: data.name, password: data.password, role: "admin" }, "setup-link");
    },
    { timeout: 30_000 },
  );
}
