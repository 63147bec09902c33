import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import type { Env } from "@/lib/env";

/**
 * The database a command-line tool should use: DATABASE_URL, or the embedded PostgreSQL that a
 * running `npm start` owns (its port and password are in $SIGNET_DATA_DIR/postgres.json).
 */
export async function locateDatabaseUrl(env: Env): Promise<string> {
  if (env.DATABASE_URL) return env.DATABASE_URL;
  const file = path.join(env.SIGNET_DATA_DIR, "postgres.json");
  let state: { port?: number; user?: string; password?: string; database?: string };
  try {
    state = JSON.parse(await fs.readFile(file, "utf8"));
  } catch {
    throw new Error(`DATABASE_URL is not set and no embedded database was found at ${file}; start Signet with \`npm start\` first`);
  }
  if (!state.port || !state.user || !state.password || !state.database) throw new Error(`${file} is incomplete`);
  return `postgresql://${encodeURIComponent(state.user)}:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/${state.database}`;
}
