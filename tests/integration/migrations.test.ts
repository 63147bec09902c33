import { spawnSync } from "node:child_process";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { applyMigrations, getMigrationStatus, listMigrations } from "@/lib/db/migrate";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { ROOT } from "@/tests/support/process";

describe("migrations on real PostgreSQL", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => db?.drop());

  it("apply to an empty database, once, even when several processes race", async () => {
    const all = (await listMigrations()).map((m) => m.name);
    expect(all.length).toBeGreaterThan(0);
    const results = await Promise.all([applyMigrations(db.url), applyMigrations(db.url), applyMigrations(db.url)]);
    expect(results.flat().sort()).toEqual(all.sort());
    expect(await applyMigrations(db.url)).toEqual([]);

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const status = await getMigrationStatus(client);
      expect(status).toEqual({ applied: all, pending: [], failed: [], modified: [] });
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL`);
      expect(rows[0].n).toBe(all.length);
    } finally {
      await client.end();
    }
  });

  it("keeps the audit log append-only at the database", async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(`INSERT INTO "VerificationEvent" (kind, "prevHash", hash) VALUES ('test', '', 'h1')`);
      await expect(client.query(`UPDATE "VerificationEvent" SET kind = 'x'`)).rejects.toThrow(/append-only/);
      await expect(client.query(`DELETE FROM "VerificationEvent"`)).rejects.toThrow(/append-only/);
      await expect(client.query(`TRUNCATE "VerificationEvent"`)).rejects.toThrow(/append-only/);
      const { rows } = await client.query(`SELECT kind FROM "VerificationEvent"`);
      expect(rows).toEqual([{ kind: "test" }]);
    } finally {
      await client.end();
    }
  });

  it("match prisma/schema.prisma exactly (prisma migrate diff reports no drift)", () => {
    const res = spawnSync(
      process.execPath,
      [
        path.join(ROOT, "node_modules/prisma/build/index.js"),
        "migrate", "diff",
        "--from-migrations", "prisma/migrations",
        "--to-schema", "prisma/schema.prisma",
        "--exit-code",
      ],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: inject("pgAdminUrl") }, encoding: "utf8", timeout: 60_000 },
    );
    expect(res.stdout + res.stderr).not.toMatch(/CREATE|ALTER|DROP/);
    expect(res.status).toBe(0);
  });
});
