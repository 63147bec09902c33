#!/usr/bin/env node
// `signet` CLI entry, also when linked or installed globally (npm link / npm i -g): runs the esbuild
// bundle of cli/main.ts (scripts/build-cli.mjs; rebuilt here in about a second when a source changed) in this
// process, on Node >= 22.12 (re-running itself on the project's Node 24 when older).
// Exit codes: 0 success / verified, 1 a negative answer (failed, unsigned, below a threshold),
// 2 error (could not tell, invalid input or environment, a crash), 64 usage.
import { spawnSync, execFileSync } from "node:child_process";
import fs from "node:fs";
import module from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  try {
    const bin = execFileSync("bash", [path.join(root, "scripts", "node24.sh")], { encoding: "utf8" }).trim();
    const result = spawnSync(path.join(bin, "node"), [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
    process.exit(result.status ?? 2);
  } catch (err) {
    process.stderr.write(`signet: needs Node >= 22.12 (${err instanceof Error ? err.message : String(err)})\n`);
    process.exit(2);
  }
}
// Where the installation lives: the default SIGNET_DATA_DIR (root/.data, shared with `npm start`) and
// the migrations are found from any working directory.
process.env.SIGNET_APP_DIR ||= root;
// Node's on-disk compile cache (V8 code cache in the temporary directory, or NODE_COMPILE_CACHE): later
// starts do not compile the bundle and the packages it loads again. Without a writable directory it
// stays off, silently.
module.enableCompileCache?.();
try {
  let dir;
  // a checkout (sources and esbuild) builds its bundle; an installation without them runs the one it ships
  if (fs.existsSync(path.join(root, "cli", "main.ts")) && fs.existsSync(path.join(root, "node_modules", "esbuild"))) {
    const { buildCli } = await import("../scripts/build-cli.mjs");
    dir = await buildCli(root);
  } else {
    dir = path.join(root, "dist", "cli", fs.readFileSync(path.join(root, "dist", "cli", "CURRENT"), "utf8").trim());
  }
  await import(pathToFileURL(path.join(dir, "main.js")).href);
} catch (err) {
  process.stderr.write(`signet: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
