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
});
