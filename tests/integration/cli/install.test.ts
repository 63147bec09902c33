import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pkg from "@/package.json" with { type: "json" };
import { ROOT } from "@/tests/support/process";

const execFileP = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The CLI installed the way a user installs it (`npm link`, i.e. a global install of the checkout
 * into a temporary npm prefix) and run from another directory, with only the prefix's bin and Node
 * on PATH: no tsx, no checkout as working directory.
 */
describe("signet installed with npm link", () => {
  let tmp: string;
  let bin: string;
  let env: Record<string, string | undefined>;

  const run = (args: string[], extra: Record<string, string | undefined> = {}): Promise<Run> =>
    new Promise((resolve) =>
      execFile(bin, args, { cwd: path.join(tmp, "elsewhere"), env: { ...env, ...extra } as NodeJS.ProcessEnv }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
      ),
    );

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "signet-install-"));
    await fs.mkdir(path.join(tmp, "prefix", "lib"), { recursive: true });
    await fs.mkdir(path.join(tmp, "elsewhere"));
    // npm link = a global install of this package as a symlink; install scripts are not needed for it
    await execFileP("npm", ["link", "--no-audit", "--no-fund", "--ignore-scripts"], {
      cwd: ROOT,
      env: { ...process.env, NPM_CONFIG_PREFIX: path.join(tmp, "prefix"), NPM_CONFIG_UPDATE_NOTIFIER: "false" },
    });
    bin = path.join(tmp, "prefix", "bin", "signet");
    env = { PATH: `${path.join(tmp, "prefix", "bin")}:${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: tmp, SIGNET_CACHE: process.env.SIGNET_CACHE };
  });
  afterAll(async () => {
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it("runs from any directory: --version, --help listing every command, exit codes 64 for usage and 2 for a crash", async () => {
    expect((await fs.lstat(bin)).isSymbolicLink()).toBe(true);
    const version = await run(["--version"]);
    expect(version).toEqual({ code: 0, stdout: `signet ${pkg.version}\n`, stderr: "" });

    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    for (const command of ["audit", "db", "discover", "inventory", "jobs", "keys", "rejections", "report", "revoke", "scan", "users", "verify", "verify-bundle"]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    }

    const unknown = await run(["no-such-command"]);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('unknown command "no-such-command"');
    expect((await run(["verify"])).code).toBe(64);

    // an invalid environment makes the command throw: an error (2), never "not verified" (1)
    const crash = await run(["db", "status"], { LOG_LEVEL: "loud" });
    expect(crash.code).toBe(2);
    expect(crash.stderr).toContain("LOG_LEVEL");
  });
});
