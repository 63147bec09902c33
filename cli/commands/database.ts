import { createDb, type Db } from "@/lib/db/client";
import { locateDatabaseUrl } from "@/lib/db/locate";
import { checkDatabase } from "@/lib/db/preflight";
import { getEnv, resetEnvCache } from "@/lib/env";

/**
 * The database of a CLI command: DATABASE_URL, or the embedded database of a running `npm start`,
 * checked to answer. On failure the reason is one line on stderr (`signet <command>: …`) and the
 * result is undefined (the command exits 2). The URL also becomes DATABASE_URL of this process, so
 * that library code using the process-wide client (getDb) reaches the same database.
 */
export async function databaseUrl(command: string): Promise<string | undefined> {
  try {
    const url = await locateDatabaseUrl(getEnv());
    await checkDatabase(url, getEnv().SIGNET_DB_CONNECT_TIMEOUT_MS);
    process.env.DATABASE_URL = url;
    resetEnvCache();
    return url;
  } catch (err) {
    process.stderr.write(`signet ${command}: ${(err as Error).message}\n`);
    return undefined;
  }
}

/**
 * Runs `fn` with a client of the command's database (see databaseUrl) and disconnects afterwards.
 * Exit code 2 when the database cannot be found or reached. `client` makes a client other than the
 * default small pool (a scan's, sized for its concurrency).
 */
export async function withDatabase(
  command: string,
  fn: (db: Db, url: string) => Promise<number>,
  client: (url: string) => Db = (url) => createDb(url, 2),
): Promise<number> {
  const url = await databaseUrl(command);
  if (url === undefined) return 2;
  const db = client(url);
  try {
    return await fn(db, url);
  } finally {
    await db.$disconnect();
  }
}
