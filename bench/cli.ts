/**
 * CLI cold-start benchmark: median of 10 runs each of
 *   1. `signet --version`
 *   2. `signet verify <local signed image> --policy <key policy>` (one image, classic cosign signature)
 *   3. `cosign verify --key … --insecure-ignore-tlog=true` on the same image (cosign's own figure)
 * each a fresh process, as a pipeline runs them (bin/signet.mjs with the bundle already built).
 * Goals: ≤ 0.3 s and ≤ 0.5 s. Printed, never asserted.
 *
 *   npm run bench:cli [-- --runs 10]
 */
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import { ROOT } from "../tests/support/process";
import { registryTools, startRegistry } from "../tests/support/registry";
import { cosignSign, createCosignWorkspace, pushRandomImage } from "../tests/support/registry-cosign";

const execFileP = promisify(execFile);
const { values } = parseArgs({ options: { runs: { type: "string", default: "10" } } });
const RUNS = Number(values.runs);

async function time(cmd: string, args: string[], env: Record<string, string> = {}, expectCode = 0): Promise<number> {
  const t0 = performance.now();
  try {
    await execFileP(cmd, args, { cwd: "/", env: { ...process.env, ...env } });
    if (expectCode !== 0) throw new Error(`${cmd} ${args.join(" ")} exited 0, expected ${expectCode}`);
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    if (e.code !== expectCode) throw new Error(`${cmd} ${args.join(" ")} failed (${e.code}): ${e.stderr ?? String(err)}`);
  }
  return performance.now() - t0;
}

async function median(label: string, run: () => Promise<number>): Promise<number> {
  await run(); // warm the file cache once, as a pipeline's second step would find it
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await run());
  samples.sort((a, b) => a - b);
  const m = samples[Math.floor(samples.length / 2)]!;
  process.stdout.write(`  ${label.padEnd(44)} median ${(m / 1000).toFixed(3)} s  (min ${(samples[0]! / 1000).toFixed(3)}, max ${(samples.at(-1)! / 1000).toFixed(3)})\n`);
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
  process.stdout.write(`bench:cli — ${RUNS} runs each, fresh processes, node ${process.version}\n`);
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
