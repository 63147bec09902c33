import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseEnv } from "@/lib/env";
import { SCAN_RUNTIME_ENV, scanRuntimeFlags } from "@/lib/scan/runtime";
import { ROOT } from "@/tests/support/process";

/** The image's shell entry point starts the worker as scripts/launch.ts does (lib/scan/runtime.ts). */
describe("deploy/image/entrypoint.sh", () => {
  it("runs the worker with the flags and environment of the scan runtime", () => {
    const sh = fs.readFileSync(path.join(ROOT, "deploy/image/entrypoint.sh"), "utf8");
    const line = sh.split("\n").find((l) => l.includes("/worker.js"))!;
    // the shell's default heap is the environment's default
    const heap = `\${SIGNET_WORKER_HEAP_MB:-${parseEnv({}).SIGNET_WORKER_HEAP_MB}}`;
    for (const flag of scanRuntimeFlags(0)) {
      const expected = flag.replace("=0", `=${heap}`);
      expect(line.includes(expected) || line.includes(`"${expected}"`)).toBe(true);
    }
    for (const [k, v] of Object.entries(SCAN_RUNTIME_ENV)) expect(line).toContain(`${k}=${v}`);
  });
});
