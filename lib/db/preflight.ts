import "server-only";
import pg from "pg";

/** A database problem a person can act on, in one line. */
export class DatabaseUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatabaseUnavailableError";
  }
}

function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || "5432"}${u.pathname && u.pathname !== "/" ? u.pathname : ""}`;
  } catch {
    return "(unparseable DATABASE_URL)";
  }
}

/** Maps driver errors to a sentence that names the cause and never includes the password. */
export function describeConnectError(err: unknown, url: string): string {
  const target = describeTarget(url);
  const e = err as { code?: string; message?: string };
  switch (e.code) {
    case "ECONNREFUSED":
      return `cannot reach PostgreSQL at ${target}: connection refused`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `cannot reach PostgreSQL at ${target}: host not found`;
    case "ETIMEDOUT":
      return `cannot reach PostgreSQL at ${target}: connection timed out`;
    case "28P01":
    case "28000":
      return `PostgreSQL at ${target} rejected the credentials in DATABASE_URL`;
    case "3D000":
      return `PostgreSQL at ${target}: the database does not exist`;
    case "53300":
      return `PostgreSQL at ${target} has too many connections`;
    default: {
      const msg = (e.message ?? String(err)).split("\n")[0]?.replaceAll(url, "[DATABASE_URL]") ?? "unknown error";
      if (/timeout/i.test(msg)) return `cannot reach PostgreSQL at ${target}: connection timed out`;
      return `cannot use PostgreSQL at ${target}: ${msg}`;
    }
  }
}

/** Connects once and runs a trivial query; throws DatabaseUnavailableError with a one-line reason. */
export async function checkDatabase(url: string, timeoutMs = 5000): Promise<{ serverVersion: string }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ v: string }>("SHOW server_version");
    return { serverVersion: rows[0]?.v ?? "unknown" };
  } catch (err) {
    throw new DatabaseUnavailableError(describeConnectError(err, url));
  } finally {
    await client.end().catch(() => undefined);
  }
}
