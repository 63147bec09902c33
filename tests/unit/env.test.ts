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
