#!/usr/bin/env node
// `signet` CLI entry. Runs cli/main.ts with TypeScript support (tsx) and the react-server export
// condition (so server-only modules load), on Node >= 22.12 (bootstrapping Node 24 when older).
import { spawnSync, execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [major, minor] = process.versions.node.split(".").map(Number);
let node = process.execPath;
if (major < 22 || (major === 22 && minor < 12)) {
  const bin = execFileSync("bash", [path.join(root, "scripts", "node24.sh")], { encoding: "utf8" }).trim();
  node = path.join(bin, "node");
}
const result = spawnSync(
  node,
  ["--conditions=react-server", "--import", "tsx", path.join(root, "cli", "main.ts"), ...process.argv.slice(2)],
  { stdio: "inherit", env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, "tsconfig.json") } },
);
if (result.error) {
  process.stderr.write(`signet: ${result.error.message}\n`);
  process.exit(1);
}
process.exit(result.status ?? (result.signal ? 128 : 1));
