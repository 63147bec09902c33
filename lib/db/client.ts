import "server-only";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@/lib/generated/prisma/client";
import { getEnv } from "@/lib/env";

export type Db = PrismaClient;

const globalForDb = globalThis as unknown as { signetDb?: PrismaClient; signetDbUrl?: string };

/** Resolves the database URL: DATABASE_URL, which the launcher sets when it starts embedded Postgres. */
export function getDatabaseUrl(): string {
  const url = getEnv().DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set (start Signet with `npm start`, which provides embedded PostgreSQL)");
  return url;
}

export function createDb(url: string, poolMax = getEnv().SIGNET_DB_POOL_MAX, opts: { asyncCommit?: boolean } = {}): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: url,
    max: poolMax,
    connectionTimeoutMillis: getEnv().SIGNET_DB_CONNECT_TIMEOUT_MS,
    // see lib/jobs/worker.ts: commits return before their WAL reaches the disk
    ...(opts.asyncCommit ? { options: "-c synchronous_commit=off" } : {}),
  });
  return new PrismaClient({ adapter });
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
