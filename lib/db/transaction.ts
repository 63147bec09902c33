import "server-only";
import type { Db } from "@/lib/db/client";
import { Prisma } from "@/lib/generated/prisma/client";
import { childLogger } from "@/lib/log";

/**
 * The one way Signet runs an interactive transaction (docs/decisions/0011-database-under-load.md).
 *
 * Prisma's defaults (2 s to obtain a connection, 5 s to run) fail a scan as soon as the database is
 * busy: a batch waiting for the audit chain's lock holds its connection, the next batch cannot get one
 * within 2 s, and "Unable to start a transaction in the given time" ended a whole `signet scan`.
 * Here every transaction states how long it may run (`timeout`), waits up to TX_MAX_WAIT_MS for a
 * connection (`maxWait`), and is run again with back-off when PostgreSQL or Prisma say that running it
 * again can succeed: no connection in time (P2028 at start), a serialization failure (40001) or a
 * deadlock (40P01) — the transaction was rolled back, nothing of it is visible.
 *
 * `fn` may therefore run more than once: it must have no effect outside `tx` that a second run would
 * duplicate (every caller only reads and writes through `tx`).
 */

/** How long a transaction waits for a pooled connection before the attempt counts as failed. */
export const TX_MAX_WAIT_MS = 30_000;
/**
 * Timeout of an administrative change (users, credentials, policies, authorities, webhooks): a few rows
 * and an audit append, which may queue behind scan batches holding the audit chain's lock.
 */
export const TX_ADMIN_TIMEOUT_MS = 30_000;
/** Attempts (the first one included) before the last retryable error is thrown. */
export const TX_ATTEMPTS = 5;
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 5_000;

export type Tx = Prisma.TransactionClient;

export interface TransactionOptions {
  /** Longest the transaction may run once started (ms); past it Prisma rolls it back. Required: each caller knows its work. */
  timeout: number;
  /** Longest wait for a connection (ms); default TX_MAX_WAIT_MS. */
  maxWait?: number;
  isolationLevel?: Prisma.TransactionIsolationLevel;
  /** Default TX_ATTEMPTS. */
  attempts?: number;
  /** Called before each retry (tests); every retry is also logged. */
  onRetry?: (info: { attempt: number; reason: RetryReason; delayMs: number; error: unknown }) => void;
}

/** Why a failed transaction may succeed when run again. */
export type RetryReason = "connection-wait" | "serialization" | "deadlock";

const SQLSTATE_REASON: Record<string, RetryReason> = { "40001": "serialization", "40P01": "deadlock" };

/** The SQLSTATE PostgreSQL reported, wherever Prisma put it. */
function sqlState(err: unknown): string | undefined {
  const cause = (e: unknown) => (e as { cause?: { originalCode?: unknown } } | undefined)?.cause?.originalCode;
  let code: unknown;
  if (err instanceof Prisma.PrismaClientKnownRequestError) code = cause(err.meta?.driverAdapterError);
  // a failure at COMMIT (a serialization failure is often raised only there) arrives unwrapped
  else if (err instanceof Error && err.name === "DriverAdapterError") code = cause(err);
  return typeof code === "string" ? code : undefined;
}

/**
 * Why running the failed transaction again can succeed, or null when it cannot (a constraint, a
 * bug) or should not (a transaction that outlived its `timeout` would only time out again).
 */
export function retryReason(err: unknown): RetryReason | null {
  // P2028 is every "Transaction API error"; only the failure to start one is about waiting
  if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2028") {
    return /unable to start a transaction/i.test(err.message) ? "connection-wait" : null;
  }
  const state = sqlState(err);
  return state ? (SQLSTATE_REASON[state] ?? null) : null;
}

/** Full jitter: a random delay up to base·2^(attempt-1), capped, so that colliding retries spread out. */
function backoffMs(attempt: number): number {
  return Math.round(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1)));
}

/** Runs `fn` in an interactive transaction with explicit limits, retried while the failure is transient. */
export async function withTransaction<T>(db: Pick<Db, "$transaction">, fn: (tx: Tx) => Promise<T>, opts: TransactionOptions): Promise<T> {
  const attempts = Math.max(1, opts.attempts ?? TX_ATTEMPTS);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.$transaction(fn, {
        timeout: opts.timeout,
        maxWait: opts.maxWait ?? TX_MAX_WAIT_MS,
        ...(opts.isolationLevel ? { isolationLevel: opts.isolationLevel } : {}),
      });
    } catch (err) {
      const reason = retryReason(err);
      if (!reason || attempt >= attempts) throw err;
      const delayMs = backoffMs(attempt);
      opts.onRetry?.({ attempt, reason, delayMs, error: err });
      // a sign of contention worth seeing (a slow database, competing scans), not an error yet
      childLogger("db").info({ attempt, reason, delayMs, err: (err as Error).message?.split("\n").at(-1) }, "transaction retried");
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}
