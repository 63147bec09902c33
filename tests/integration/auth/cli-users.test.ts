import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { ROOT } from "@/tests/support/process";

/** `signet users …` as an operator runs it: bin/signet.mjs in a child process, password on stdin. */
describe("signet users", () => {
  let tdb: TestDatabase;
  let db: Db;
  // with an external database an operator sets the servers' key (it signs the audit checkpoints)
  const secretKey = randomBytes(32).toString("base64");
  const signet = (args: string[], input = "") =>
    spawnSync(process.execPath, [path.join(ROOT, "bin", "signet.mjs"), "users", ...args], {
      cwd: ROOT,
      input,
      encoding: "utf8",
      env: { ...process.env, DATABASE_URL: tdb.url, SIGNET_SECRET_KEY: secretKey, LOG_LEVEL: "warn", SIGNET_PUBLIC_URL: "https://signet.example.test" },
      timeout: 60_000,
    });

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 2);
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("prints a setup link while no user exists, then creates the first admin with an audited, hashed password", async () => {
    const link = signet(["setup-link"]);
    expect(link.status).toBe(0);
    expect(link.stdout).toMatch(/^https:\/\/signet\.example\.test\/setup\?token=[\w-]{43}\n$/);

    const short = signet(["create-admin", "--email", "ops@example.test"], "short\n");
    expect(short.status).not.toBe(0);
    expect(await db.user.count()).toBe(0);

    const created = signet(["create-admin", "--email", "Ops@Example.test", "--name", "Ops"], "a long enough cli password\n");
    expect(created.stderr).toBe("");
    expect(created.status).toBe(0);
    expect(created.stdout).toBe("created administrator ops@example.test\n");
    const user = await db.user.findUniqueOrThrow({ where: { email: "ops@example.test" }, include: { accounts: true } });
    expect(user.role).toBe("admin");
    expect(user.accounts[0]?.password).not.toContain("a long enough cli password");
    const event = await db.verificationEvent.findFirstOrThrow({ where: { kind: "admin" } });
    expect(event.actor).toMatch(/^cli:/);
    expect(event.details).toEqual({ action: "user.create", user: "ops@example.test", role: "admin" });

    // a user exists: no more setup links; the earlier one is gone
    expect(signet(["setup-link"]).status).toBe(1);
    expect(await db.verification.count({ where: { identifier: "signet:first-admin-setup" } })).toBe(0);

    const listed = signet(["list"]);
    expect(listed.stdout).toContain("ops@example.test\tadmin\tpassword\tOps");
  });
});
