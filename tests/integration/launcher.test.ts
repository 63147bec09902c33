import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { spawnTs } from "@/tests/support/process";

/** The start command must refuse bad configuration with one clear line and a non-zero exit. */
describe("launcher start-up errors", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  const run = async (env: Record<string, string>) => {
    const p = spawnTs("scripts/launch.ts", ["--dev"], { SIGNET_NO_WORKER: "1", PORT: "1", ...env });
    const exit = await p.exited;
    return { ...exit, output: p.output() };
  };

  it("an unreachable DATABASE_URL gives one line and exit 2", async () => {
    const r = await run({ DATABASE_URL: "postgresql://signet:topsecret@127.0.0.1:1/signet" });
    expect(r.code).toBe(2);
    expect(r.output.trim()).toBe("signet: cannot reach PostgreSQL at 127.0.0.1:1/signet: connection refused");
  });

  it("wrong credentials give one line, without the password", async () => {
    const url = new URL(db.url);
    url.password = "wrong-password-123";
    const r = await run({ DATABASE_URL: url.toString() });
    expect(r.code).toBe(2);
    const lines = r.output.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^signet: PostgreSQL at 127\.0\.0\.1:\d+\/t_\w+ rejected the credentials in DATABASE_URL$/);
    expect(r.output).not.toContain("wrong-password-123");
  });

  it("an unknown host gives one line", async () => {
    const r = await run({ DATABASE_URL: "postgresql://u:p@no-such-host.invalid:5432/x" });
    expect(r.code).toBe(2);
    expect(r.output.trim()).toBe("signet: cannot reach PostgreSQL at no-such-host.invalid:5432/x: host not found");
  });

  it("an invalid environment lists every problem and exits 1, no stack trace", async () => {
    const r = await run({ DATABASE_URL: "not a url", LOG_LEVEL: "shouting", PORT: "0" });
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/^signet: Invalid environment:\n/);
    expect(r.output).toContain("DATABASE_URL: must be a postgres:// or postgresql:// URL");
    expect(r.output).toContain("LOG_LEVEL:");
    expect(r.output).toContain("PORT:");
    expect(r.output).not.toMatch(/\n\s+at /);
  });
});
