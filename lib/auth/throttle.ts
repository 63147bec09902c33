import "server-only";
import { createHash } from "node:crypto";
import { ApiError } from "@/lib/api/errors";
import { appendAuditEvents } from "@/lib/audit/store";
import type { Db } from "@/lib/db/client";
import { childLogger } from "@/lib/log";

/**
 * Throttling of sign-in and setup attempts, in PostgreSQL so that every web process shares it:
 *
 * - per client address (lib/net/client-address): at most `max` attempts in a fixed window per scope;
 * - per account (the email asked for, whether or not it exists): attempts since the last success are
 *   counted, the first FREE_ATTEMPTS pass at once, every further one blocks the account for 1, 2, 4 ...
 *   seconds, at most MAX_BACKOFF_SECONDS. The block is taken when an attempt starts, so parallel guesses
 *   wait like sequential ones. A success clears it; a quiet day starts afresh.
 *
 * A refusal is an ApiError "rate_limited" (429) with `retryAfterSeconds`; the route wrapper turns it
 * into a Retry-After header.
 */

export interface AddressRule {
  /** what the window counts: "sign-in", "sso", "setup" */
  scope: string;
  max: number;
  windowSeconds: number;
}

export const SIGN_IN_PER_ADDRESS: AddressRule = { scope: "sign-in", max: 5, windowSeconds: 60 };
export const SSO_PER_ADDRESS: AddressRule = { scope: "sso", max: 20, windowSeconds: 60 };
export const SETUP_PER_ADDRESS: AddressRule = { scope: "setup", max: 10, windowSeconds: 60 };

/** Attempts on an account since its last success that pass without waiting. */
export const FREE_ATTEMPTS = 5;
export const MAX_BACKOFF_SECONDS = 900;
/** An account or address row untouched this long is forgotten (a fresh start after a quiet day). */
const FORGET_AFTER_SECONDS = 86_400;
/** Distinct addresses an account row keeps for the audit event. */
const KEEP_ADDRESSES = 10;

const log = childLogger("throttle");

function accountKey(email: string): string {
  return `account:${createHash("sha256").update(email.trim().toLowerCase()).digest("hex")}`;
}

function refuse(retryAfterSeconds: number, message: string): never {
  throw new ApiError("rate_limited", message, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });
}

/** Seconds an attempt waits before the next one may start, given how many attempts (this one included) it is. */
export function backoffSeconds(attempt: number): number {
  if (attempt <= FREE_ATTEMPTS) return 0;
  return Math.min(MAX_BACKOFF_SECONDS, 2 ** Math.min(attempt - FREE_ATTEMPTS - 1, 30));
}

/**
 * Counts an attempt from `address` in the rule's window; refuses (429) beyond `max`. The first refusal
 * of a window is audited once (not every refused request).
 */
export async function takeAddressAttempt(db: Db, address: string, rule: AddressRule): Promise<void> {
  const key = `address:${address}|${rule.scope}`;
  const rows = await db.$queryRaw<{ attempts: number; retry: number }[]>`
    INSERT INTO "AuthThrottle" ("key", "attempts", "windowStart", "addresses", "updatedAt")
    VALUES (${key}, 1, now(), '{}', now())
    ON CONFLICT ("key") DO UPDATE SET
      "attempts" = CASE WHEN "AuthThrottle"."windowStart" <= now() - make_interval(secs => ${rule.windowSeconds}) THEN 1 ELSE "AuthThrottle"."attempts" + 1 END,
      "windowStart" = CASE WHEN "AuthThrottle"."windowStart" <= now() - make_interval(secs => ${rule.windowSeconds}) THEN now() ELSE "AuthThrottle"."windowStart" END,
      "updatedAt" = now()
    RETURNING "attempts", EXTRACT(EPOCH FROM "windowStart" + make_interval(secs => ${rule.windowSeconds}) - now())::float8 AS retry`;
  const row = rows[0]!;
  if (row.attempts <= rule.max) {
    // an occasional sweep keeps the table to the addresses and accounts active today
    if (Math.random() < 0.01) await forgetQuietThrottles(db);
    return;
  }
  if (row.attempts === rule.max + 1) {
    await auditQuietly(db, { action: "auth.throttled", scope: rule.scope, address, attempts: row.attempts, windowSeconds: rule.windowSeconds });
  }
  refuse(row.retry, "Too many attempts from your address. Try again later.");
}

/**
 * Starts an attempt on an account: refused (429) while the account waits out its back-off, otherwise
 * counted, and the back-off the next attempt must wait is set now (cleared by `clearAccount` on success).
 */
export async function takeAccountAttempt(db: Db, email: string): Promise<void> {
  const key = accountKey(email);
  const rows = await db.$queryRaw<{ attempts: number }[]>`
    INSERT INTO "AuthThrottle" ("key", "attempts", "windowStart", "blockedUntil", "addresses", "updatedAt")
    VALUES (${key}, 1, now(), now() + make_interval(secs => ${backoffSeconds(1)}), '{}', now())
    ON CONFLICT ("key") DO UPDATE SET
      "attempts" = CASE WHEN "AuthThrottle"."updatedAt" <= now() - make_interval(secs => ${FORGET_AFTER_SECONDS}) THEN 1 ELSE "AuthThrottle"."attempts" + 1 END,
      "updatedAt" = now()
    WHERE "AuthThrottle"."blockedUntil" IS NULL OR "AuthThrottle"."blockedUntil" <= now()
    RETURNING "attempts"`;
  if (rows.length === 0) {
    const blocked = await db.$queryRaw<{ retry: number }[]>`
      SELECT EXTRACT(EPOCH FROM "blockedUntil" - now())::float8 AS retry FROM "AuthThrottle" WHERE "key" = ${key}`;
    refuse(blocked[0]?.retry ?? 1, "Too many failed sign-ins for this account. Try again later.");
  }
  const attempts = rows[0]!.attempts;
  await db.$executeRaw`
    UPDATE "AuthThrottle" SET "blockedUntil" = now() + make_interval(secs => ${backoffSeconds(attempts)})
    WHERE "key" = ${key} AND "attempts" = ${attempts}`;
}

/** Failures from one address (any account) whose account-level audit rows are still written one by one. */
export const SPRAY_FREE_FAILURES = 8;

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

/**
 * Records a failed sign-in, counted per account (since its last success) and per client address (over
 * the last day, any account). Audited in aggregate, never one row per guess: an `auth.sign_in_failed`
 * event at the 1st, 2nd, 4th, 8th ... failure of the account — while its address has failed at most
 * SPRAY_FREE_FAILURES times — and at the 16th, 32nd ... failure of the address (a password spray over
 * many accounts, or a long brute force). Each event carries both counts, the account's last distinct
 * addresses and the address's last distinct accounts.
 */
export async function recordFailedSignIn(db: Db, email: string, address: string): Promise<void> {
  const account = email.trim().toLowerCase().slice(0, 254);
  const key = accountKey(email);
  const rows = await db.$queryRaw<{ attempts: number; addresses: string[] }[]>`
    UPDATE "AuthThrottle"
    SET "addresses" = (array_remove(COALESCE("addresses", '{}'), ${address}) || ARRAY[${address}]::text[])[GREATEST(1, cardinality(array_remove(COALESCE("addresses", '{}'), ${address})) + 2 - ${KEEP_ADDRESSES}):]
    WHERE "key" = ${key}
    RETURNING "attempts", "addresses"`;
  const byAddress = await db.$queryRaw<{ attempts: number; accounts: string[] }[]>`
    INSERT INTO "AuthThrottle" ("key", "attempts", "windowStart", "addresses", "accounts", "updatedAt")
    VALUES (${`failed:${address}`}, 1, now(), '{}', ARRAY[${account}]::text[], now())
    ON CONFLICT ("key") DO UPDATE SET
      "attempts" = CASE WHEN "AuthThrottle"."updatedAt" <= now() - make_interval(secs => ${FORGET_AFTER_SECONDS}) THEN 1 ELSE "AuthThrottle"."attempts" + 1 END,
      "accounts" = (array_remove(COALESCE("AuthThrottle"."accounts", '{}'), ${account}) || ARRAY[${account}]::text[])[GREATEST(1, cardinality(array_remove(COALESCE("AuthThrottle"."accounts", '{}'), ${account})) + 2 - ${KEEP_ADDRESSES}):],
      "updatedAt" = now()
    RETURNING "attempts", "accounts"`;
  const row = rows[0];
  const addr = byAddress[0]!;
  const accountDue = row !== undefined && isPowerOfTwo(row.attempts) && addr.attempts <= SPRAY_FREE_FAILURES;
  const addressDue = addr.attempts > SPRAY_FREE_FAILURES && isPowerOfTwo(addr.attempts);
  if (!accountDue && !addressDue) return;
  await auditQuietly(db, {
    action: "auth.sign_in_failed",
    account,
    failures: row?.attempts ?? null,
    addresses: row?.addresses ?? [address],
    address,
    addressFailures: addr.attempts,
    accounts: addr.accounts,
  });
}

/** A successful sign-in ends the account's back-off. */
export async function clearAccount(db: Db, email: string): Promise<void> {
  await db.authThrottle.deleteMany({ where: { key: accountKey(email) } });
}

/** Deletes rows untouched for a day whose back-off is over (run now and then by takeAddressAttempt). */
export async function forgetQuietThrottles(db: Db): Promise<void> {
  await db.$executeRaw`DELETE FROM "AuthThrottle" WHERE "updatedAt" < now() - make_interval(secs => ${FORGET_AFTER_SECONDS})
    AND ("blockedUntil" IS NULL OR "blockedUntil" < now())`;
}

/** Security events go to the audit log; a failure to write one is logged, never turned into a 500 for the caller. */
async function auditQuietly(db: Db, details: Record<string, unknown>): Promise<void> {
  try {
    await appendAuditEvents(db, [{ kind: "system", actor: "auth", details }]);
  } catch (err) {
    log.error({ err, action: details.action }, "could not audit a sign-in event");
  }
}
