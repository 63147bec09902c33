import "server-only";
import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { getEnv } from "@/lib/env";

/**
 * Applies pending Prisma migrations at start, without the Prisma CLI (a runtime dependency we keep
 * out of production start-up: it needs devDependencies and ~2 s per spawn). It writes the same
 * `_prisma_migrations` rows as `prisma migrate deploy` (sha256 checksum of migration.sql), so the
 * CLI's `migrate status` / `migrate dev` keep working on the same database. An advisory lock makes
 * concurrent starters (web, worker, several machines) apply each migration once.
 */
export function migrationsDir(): string {
  return path.join(/*turbopackIgnore: true*/ getEnv().SIGNET_APP_DIR, "prisma", "migrations");
}
const LOCK_KEY = 72_707_369; // arbitrary, constant: pg_advisory_lock key for migrations

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
  failed: string[];
  /** Applied migrations whose file changed since, or that are unknown to this build. */
  modified: string[];
}

export async function listMigrations(dir = migrationsDir()): Promise<Migration[]> {
  const entries = await fs.readdir(/*turbopackIgnore: true*/ dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const out: Migration[] = [];
  for (const name of names) {
    const sql = await fs.readFile(path.join(/*turbopackIgnore: true*/ dir, name, "migration.sql"), "utf8").catch(() => undefined);
    if (sql === undefined) continue;
    out.push({ name, sql, checksum: createHash("sha256").update(sql).digest("hex") });
  }
  return out;
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

interface Row {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/** Anything that runs a parameterless SQL string: a pg client, or Prisma's $queryRawUnsafe wrapped. */
export interface Queryable {
  query(sql: string): Promise<{ rows: unknown[] }>;
}

async function appliedRows(client: Queryable): Promise<Row[] | undefined> {
  const { rows: exists } = await client.query(`SELECT to_regclass('"_prisma_migrations"')::text AS t`);
  if (!(exists[0] as { t: string | null } | undefined)?.t) return undefined;
  const { rows } = await client.query(
    `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at`,
  );
  return rows as Row[];
}

function statusFrom(migrations: Migration[], rows: Row[] | undefined): MigrationStatus {
  const live = (rows ?? []).filter((r) => r.rolled_back_at === null);
  const done = new Map(live.filter((r) => r.finished_at !== null).map((r) => [r.migration_name, r.checksum]));
  const failed = live.filter((r) => r.finished_at === null).map((r) => r.migration_name);
  const known = new Set(migrations.map((m) => m.name));
  return {
    applied: migrations.filter((m) => done.has(m.name)).map((m) => m.name),
    pending: migrations.filter((m) => !done.has(m.name) && !failed.includes(m.name)).map((m) => m.name),
    failed,
    modified: [
      ...migrations.filter((m) => done.has(m.name) && done.get(m.name) !== m.checksum).map((m) => m.name),
      ...[...done.keys()].filter((n) => !known.has(n)),
    ],
  };
}

export async function getMigrationStatus(client: Queryable, dir = migrationsDir()): Promise<MigrationStatus> {
  return statusFrom(await listMigrations(dir), await appliedRows(client));
}

const shipped = new Map<string, Promise<Migration[]>>();

/**
 * The status against the migrations this build ships, read from disk once per process (they do not
 * change under a running server): what the health check asks on every overview and /api/health.
 */
export async function getShippedMigrationStatus(client: Queryable): Promise<MigrationStatus> {
  const dir = migrationsDir();
  let list = shipped.get(dir);
  if (!list) {
    list = listMigrations(dir);
    shipped.set(dir, list);
    list.catch(() => shipped.delete(dir));
  }
  return statusFrom(await list, await appliedRows(client));
}

/** Applies every pending migration, each in its own transaction. Returns the names applied. */
export async function applyMigrations(url: string, dir = migrationsDir()): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined);
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
    await client.query(CREATE_TABLE);
    const migrations = await listMigrations(dir);
    const status = statusFrom(migrations, await appliedRows(client));
    if (status.failed.length) {
      throw new Error(`migration ${status.failed[0]} failed earlier and needs attention (prisma migrate resolve)`);
    }
    const applied: string[] = [];
    for (const m of migrations.filter((x) => status.pending.includes(x.name))) {
      const id = randomUUID();
      await client.query("BEGIN");
      try {
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
          [id, m.checksum, m.name],
        );
        await client.query(m.sql);
        await client.query(`UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`, [id]);
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw new Error(`migration ${m.name} failed: ${(err as Error).message}`);
      }
      applied.push(m.name);
    }
    return applied;
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}
