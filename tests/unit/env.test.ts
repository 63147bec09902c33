import { describe, expect, it } from "vitest";
import { EnvError, parseEnv } from "@/lib/env";

describe("parseEnv", () => {
  it("applies defaults and resolves the data dir", () => {
    const env = parseEnv({});
    expect(env.PORT).toBe(3000);
    expect(env.SIGNET_SCAN_INTERVAL_MINUTES).toBe(10);
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.SIGNET_DATA_DIR.endsWith(".data")).toBe(true);
  });

  it("treats empty strings as unset", () => {
    expect(parseEnv({ DATABASE_URL: "", PORT: "" }).PORT).toBe(3000);
  });

  it("lists every problem at once, one line per variable, without echoing secrets", () => {
    let error: unknown;
    try {
      parseEnv({ DATABASE_URL: "mysql://root:hunter2@db/x", PORT: "70000", LOG_LEVEL: "loud", SIGNET_NO_WORKER: "maybe" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EnvError);
    const e = error as EnvError;
    expect(e.problems.map((p) => p.split(":")[0])).toEqual(
      expect.arrayContaining(["DATABASE_URL", "PORT", "LOG_LEVEL", "SIGNET_NO_WORKER"]),
    );
    expect(e.problems).toHaveLength(4);
    expect(e.message).toMatch(/^Invalid environment:\n {2}- /);
    expect(e.message).not.toContain("hunter2");
    expect(e.message).toContain('PORT: Too big');
  });

  it("accepts postgres and postgresql URLs", () => {
    expect(parseEnv({ DATABASE_URL: "postgres://a:b@h:5/d" }).DATABASE_URL).toBe("postgres://a:b@h:5/d");
    expect(parseEnv({ DATABASE_URL: "postgresql://h/d" }).DATABASE_URL).toBe("postgresql://h/d");
  });

  it("reads egress destination lists: globs, addresses and CIDR ranges; a malformed range is an error", () => {
    const env = parseEnv({ SIGNET_REGISTRY_DENY: "*.evil.example, 10.0.0.0/8,[::1]:5000, fd00::/8", SIGNET_EGRESS_ALLOW_INTERNAL: "127.0.0.1:5001", SIGNET_EGRESS_REFUSE_PRIVATE: "true" });
    expect(env.SIGNET_REGISTRY_DENY).toEqual(["*.evil.example", "10.0.0.0/8", "[::1]:5000", "fd00::/8"]);
    expect(env.SIGNET_EGRESS_ALLOW_INTERNAL).toEqual(["127.0.0.1:5001"]);
    expect(env.SIGNET_EGRESS_REFUSE_PRIVATE).toBe(true);
    expect(parseEnv({}).SIGNET_EGRESS_REFUSE_PRIVATE).toBe(false);
    for (const bad of ["10.0.0.0/33", "300.0.0.0/8", "fd00::/129", "http://x.example", "a b"]) {
      expect(() => parseEnv({ SIGNET_REGISTRY_DENY: bad })).toThrow(/SIGNET_REGISTRY_DENY: .*neither a host glob nor an IP address or CIDR range/);
    }
  });
});

describe("process.env", () => {
  it("is read only in lib/env.ts: elsewhere in lib, app, components, cli and scripts it is only written (a child's or this process's)", async () => {
    const { execFileSync } = await import("node:child_process");
    const root = (await import("node:path")).resolve(import.meta.dirname, "..", "..");
    const hits = execFileSync("git", ["grep", "-n", "process\\.env", "--", "lib", "app", "components", "cli", "scripts", "proxy.ts", "instrumentation.ts", ":!lib/env.ts", ":!lib/generated"], { cwd: root, encoding: "utf8" })
      .trim()
      .split("\n")
      .filter(Boolean);
    // writes: `process.env.X = …` and `Object.assign(process.env, …)`; and comments
    const reads = hits.filter((l) => !/process\.env\.[A-Z_]+ = |Object\.assign\(process\.env,|\/\/.*process\.env|^\S+:\d+:\s*\*/.test(l));
    // two reads that are not Signet's configuration: Next inlines NEXT_RUNTIME at build time (its documented
    // instrumentation check), and the offline Prisma schema-engine shim's trace switch (a debugging aid of a tool)
    expect(reads.filter((l) => !l.startsWith('instrumentation.ts:4:  if (process.env.NEXT_RUNTIME === "nodejs")') && !l.startsWith("scripts/prisma-wasm/schema-engine.mjs:"))).toEqual([]);
  });

  it("childProcessEnv: this process's environment with overrides, undefined removing a variable", async () => {
    const { childProcessEnv } = await import("@/lib/env");
    process.env.SIGNET_TEST_CHILD_ENV = "inherited";
    try {
      const env = childProcessEnv({ LC_ALL: "C", SIGNET_TEST_CHILD_ENV: undefined, SIGNET_TEST_ADDED: "1" });
      expect(env).toMatchObject({ LC_ALL: "C", SIGNET_TEST_ADDED: "1", PATH: process.env.PATH });
      expect("SIGNET_TEST_CHILD_ENV" in env).toBe(false);
      expect(childProcessEnv().SIGNET_TEST_CHILD_ENV).toBe("inherited");
    } finally {
      delete process.env.SIGNET_TEST_CHILD_ENV;
    }
  });
});
