import "server-only";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@/lib/generated/prisma/client";
import { getEnv } from "@/lib/env";
import { boundDebugHistories } from "@/lib/db/debug-history";
import { connectFirstPool } from "@/lib/db/pool";
import { TX_ADMIN_TIMEOUT_MS, TX_MAX_WAIT_MS } from "@/lib/db/transaction";

export type Db = PrismaClient;

const globalForDb = globalThis as unknown as { signetDb?: PrismaClient; signetDbUrl?: string };

/** Resolves the database URL: DATABASE_URL, which the launcher sets when it starts embedded Postgres. */
export function getDatabaseUrl(): string {
  const url = getEnv().DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set (start Signet with `npm start`, which provides embedded PostgreSQL)");
  return url;
}

export interface DbOptions {
  /** Commits return before their WAL reaches the disk (see lib/jobs/worker.ts). */
  asyncCommit?: boolean;
  /**
   * Wait for a pooled connection up to the transactions' maxWait (TX_MAX_WAIT_MS) instead of the
   * connect timeout: node-postgres applies one timeout both to opening a connection and to waiting
   * for a free one, and a scanning process must wait out a busy pool, not fail a statement after 5 s.
   * The database's reachability was checked (lib/db/preflight) before such a pool is made.
   */
  patientPool?: boolean;
  /**
   * Prisma's error format. Unless "minimal", Prisma captures an Error (a stack trace) at every call to
   * name its call site in a failure's message: a scanning process makes tens of thousands of calls,
   * all of which paid for it (~0.5 % of the worker's CPU in a 40,000-pod full scan's profile). Unset:
   * Prisma's default ("minimal" under NODE_ENV=production, as in the container image).
   */
  errorFormat?: "minimal";
}

export function createDb(url: string, poolMax = getEnv().SIGNET_DB_POOL_MAX, opts: DbOptions = {}): PrismaClient {
  const connectMs = getEnv().SIGNET_DB_CONNECT_TIMEOUT_MS;
  const pool = connectFirstPool({
    connectionString: url,
    max: poolMax,
    connectionTimeoutMillis: opts.patientPool ? Math.max(connectMs, TX_MAX_WAIT_MS) : connectMs,
    ...(opts.asyncCommit ? { options: "-c synchronous_commit=off" } : {}),
  });
  // the pool is Signet's (lib/db/pool.ts), so the adapter ends it when the client disconnects
  const adapter = boundDebugHistories(new PrismaPg(pool, { disposeExternalPool: true }));
  // Prisma's own defaults (2 s wait, 5 s run) for any transaction not started through
  // lib/db/transaction.ts withTransaction, which sets both explicitly.
  return new PrismaClient({ adapter, transactionOptions: { maxWait: TX_MAX_WAIT_MS, timeout: TX_ADMIN_TIMEOUT_MS }, ...(opts.errorFormat ? { errorFormat: opts.errorFormat } : {}) });
}

/**
 * Connections of a process that scans (the worker, an in-process `signet scan`): one per job slot (an
 * image batch uses at most one connection at a time: its statements and transactions run one after
 * the other), plus what scan.start uses besides its own slot — the advisory lock it holds through the
 * inventory and up to 8 parallel statements (tag resolution).
 */
export function scanPoolMax(concurrency: number): number {
  return concurrency + 9;
}

/**
 * The database client of a process that scans: pool sized for `concurrency`, waiting out a busy pool,
 * failures named by their query without the call site (errorFormat "minimal").
 */
export function createScanDb(url: string, concurrency: number, opts: { asyncCommit?: boolean } = {}): PrismaClient {
  return createDb(url, scanPoolMax(concurrency), { ...opts, patientPool: true, errorFormat: "minimal" });
}

/** The process-wide client (one pool per process; survives Next dev hot reloads). */
export function getDb(): PrismaClient {
  const url = getDatabaseUrl();
  if (!globalForDb.signetDb || globalForDb.signetDbUrl !== url) {
    globalForDb.signetDb = createDb(url);
    globalForDb.signetDbUrl = url;
  }
  return globalForDb.signetDb;
}
