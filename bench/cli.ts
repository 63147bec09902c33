/**
 * CLI cold-start benchmark: median of 10 runs each of
 *   1. `signet --version`
 *   2. `signet verify <local signed image> --policy <key policy>` (one image, classic cosign signature)
 *   3. `cosign verify --key … --insecure-ignore-tlog=true` on the same image (cosign's own figure)
 * each a fresh process, as a pipeline runs them (bin/signet.mjs with the bundle already built).
 * Goals: ≤ 0.3 s and ≤ 0.5 s wall time. Printed, never asserted; the CPU time beside it (GNU time) tells
 * start-up cost from waiting for a busy machine's cores.
 *
 *   npm run bench:cli [-- --runs 10]
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import { ROOT } from "../tests/support/process";
import { registryTools, startRegistry } from "../tests/support/registry";
import { cosignSign, createCosignWorkspace, pushRandomImage } from "../tests/support/registry-cosign";

const execFileP = promisify(execFile);
const { values } = parseArgs({ options: { runs: { type: "string", default: "10" } } });
const RUNS = Number(values.runs);

/** GNU time (Debian's `time` package) reports the child's CPU seconds; without it only wall time is printed. */
const GNU_TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : null;

interface Sample {
  wallMs: number;
  /** user + system CPU of the process (and its children), when GNU time is there. */
  cpuMs: number | null;
}

async function time(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Sample> {
  const [bin, argv] = GNU_TIME ? [GNU_TIME, ["-f", "SIGNET_CPU %U %S", cmd, ...args]] : [cmd, args];
  const t0 = performance.now();
  let stderr = "";
  try {
    ({ stderr } = await execFileP(bin, argv, { cwd: "/", env: { ...process.env, ...env } }));
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    throw new Error(`${cmd} ${args.join(" ")} failed (${e.code}): ${e.stderr ?? String(err)}`);
  }
  const wallMs = performance.now() - t0;
  const m = /SIGNET_CPU ([\d.]+) ([\d.]+)/.exec(stderr);
  return { wallMs, cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : null };
}

const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function median(label: string, run: () => Promise<Sample>): Promise<number> {
  await run(); // warm the file cache once, as a pipeline's second step would find it
  const samples: Sample[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await run());
  const wall = samples.map((s) => s.wallMs);
  const cpu = samples.map((s) => s.cpuMs).filter((c): c is number => c !== null);
  const m = mid(wall);
  process.stdout.write(
    `  ${label.padEnd(40)} median ${(m / 1000).toFixed(3)} s  (min ${(Math.min(...wall) / 1000).toFixed(3)}, max ${(Math.max(...wall) / 1000).toFixed(3)})` +
      (cpu.length ? `  CPU ${(mid(cpu) / 1000).toFixed(3)} s` : "") +
      "\n",
  );
  return m;
}

const registry = await startRegistry({});
const ws = await createCosignWorkspace();
try {
  const digest = await pushRandomImage(ws, registry.host, "bench/cli", "v1");
  const ref = `${registry.host}/bench/cli@${digest}`;
  await cosignSign(ws, ref, { bundle: false });
  const pem = await fs.readFile(ws.pub, "utf8");
  const policy = path.join(ws.dir, "policy.yaml");
  await fs.writeFile(policy, `apiVersion: signet.dev/v1\nkind: Policy\nmetadata: { name: bench }\nspec:\n  requireTlog: false\n  authorities: [ { name: k, key: { pem: ${JSON.stringify(pem)} } } ]\n  require: { signatures: { anyOf: [k] } }\n`);
  const signet = path.join(ROOT, "bin", "signet.mjs");
  const node = process.execPath;
  process.stdout.write(`bench:cli — ${RUNS} runs each, fresh processes, node ${process.version}, load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores\n`);
  const version = await median("signet --version", () => time(node, [signet, "--version"]));
  const verify = await median("signet verify (one local signed image)", () => time(node, [signet, "verify", ref, "--policy", policy, "--insecure-registry", registry.host]));
  const cosign = await median("cosign verify (same image)", () =>
    time(registryTools().cosign, ["verify", "--key", ws.pub, "--insecure-ignore-tlog=true", "--new-bundle-format=false", "--allow-http-registry", ref], ws.env),
  );
  process.stdout.write(
    [
      "",
      `  signet --version  ${(version / 1000).toFixed(3)} s   goal ≤ 0.300 s  ${version <= 300 ? "met" : "NOT met"}`,
      `  signet verify     ${(verify / 1000).toFixed(3)} s   goal ≤ 0.500 s  ${verify <= 500 ? "met" : "NOT met"}   (cosign verify ${(cosign / 1000).toFixed(3)} s)`,
      "",
    ].join("\n"),
  );
} finally {
  await ws.cleanup();
  await registry.stop();
}
