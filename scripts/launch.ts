// `npm start` / `npm run dev`: one process that brings up everything Signet needs on one machine.
//  1. parse the environment (fail fast with a list of problems)
//  2. DATABASE_URL unset → start embedded PostgreSQL under $SIGNET_DATA_DIR/postgres
//  3. check the database (one-line error, non-zero exit), apply pending migrations
//  4. run the web server (scripts/web.ts: Next behind Signet's HTTP server, --dev for development) and
//     the worker as child processes
//  5. on SIGINT/SIGTERM stop web and worker, then PostgreSQL, then exit 0
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { childProcessEnv, EnvError, getEnv, type Env } from "@/lib/env";
import { getLogger } from "@/lib/log";
import { checkDatabase, DatabaseUnavailableError } from "@/lib/db/preflight";
import { applyMigrations } from "@/lib/db/migrate";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "@/lib/db/embedded";
import { SCAN_RUNTIME_ENV, scanRuntimeFlags } from "@/lib/scan/runtime";
import { buildCli } from "@/scripts/build-cli.mjs";

const log = getLogger().child({ component: "launcher" });
const dev = process.argv.includes("--dev");
const root = process.cwd();

function fail(message: string, code = 1): never {
  process.stderr.write(`signet: ${message}\n`);
  process.exit(code);
}

interface Child {
  name: string;
  proc: ChildProcess;
}

/**
 * The worker outside --dev: the bundle of scripts/worker.ts that scripts/build-cli.mjs builds (again
 * when the sources changed), as the container image runs it (deploy/image/entrypoint.sh), not
 * `--import tsx scripts/worker.ts`: under tsx an idle worker waiting for its database took 179 MB of
 * RSS (heap 54 MB, 17 MB of array buffers: tsx's transforms), bundled 127 MB (heap 28 MB, none) —
 * that much more room under the 400 MB of a 100,000-pod scan (docs/decisions/0019). A crashed worker
 * restarts from the same bundle: nothing rebuilds it while the sources do not change.
 */
async function workerBundle(dir: string): Promise<string> {
  return path.join(await buildCli(dir), "worker.js");
}

function spawnChild(name: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, args, { cwd: root, env, stdio: "inherit" });
  return { name, proc };
}

function waitExit(child: Child, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) return resolve();
    const timer = setTimeout(() => {
      log.warn({ child: child.name }, "did not stop in time; killing");
      child.proc.kill("SIGKILL");
    }, timeoutMs);
    child.proc.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function main() {
  let env: Env;
  try {
    env = getEnv();
  } catch (err) {
    if (err instanceof EnvError) fail(err.message);
    throw err;
  }
  if (!dev && !fs.existsSync(path.join(root, ".next", "BUILD_ID"))) {
    fail("no production build found: run `npm start` (which builds when needed) or `npm run build`");
  }

  let embedded: EmbeddedPostgres | undefined;
  let databaseUrl = env.DATABASE_URL;
  const started = Date.now();
  if (!databaseUrl) {
    try {
      embedded = await startEmbeddedPostgres(env.SIGNET_DATA_DIR, log);
    } catch (err) {
      fail(`could not start embedded PostgreSQL: ${(err as Error).message}`);
    }
    databaseUrl = embedded.url;
  }
  try {
    await checkDatabase(databaseUrl, env.SIGNET_DB_CONNECT_TIMEOUT_MS);
    const applied = await applyMigrations(databaseUrl);
    if (applied.length) log.info({ applied }, "migrations applied");
  } catch (err) {
    await embedded?.stop();
    if (err instanceof DatabaseUnavailableError) fail(err.message, 2);
    fail(`database setup failed: ${(err as Error).message}`, 2);
  }

  const childEnv = childProcessEnv({ DATABASE_URL: databaseUrl, SIGNET_DATA_DIR: env.SIGNET_DATA_DIR });
  const children: Child[] = [];
  // no react-server condition: Next loads its own server bundles, as under `next start`
  const webArgs = ["--import", "tsx", path.join(root, "scripts", "web.ts"), ...(dev ? ["--dev"] : [])];
  children.push(spawnChild("web", webArgs, { ...childEnv, NODE_ENV: dev ? "development" : "production" }));
  // capped V8 generations and malloc arenas keep the worker's RSS low (lib/scan/runtime.ts)
  const workerArgs = [...scanRuntimeFlags(env.SIGNET_WORKER_HEAP_MB), ...(dev ? ["--conditions=react-server", "--import", "tsx", path.join(root, "scripts", "worker.ts")] : [await workerBundle(root)])];
  const workerEnv = { ...childEnv, ...SCAN_RUNTIME_ENV };
  if (!env.SIGNET_NO_WORKER) children.push(spawnChild("worker", workerArgs, workerEnv));
  log.info(
    { url: `http://${env.HOST}:${env.PORT}`, embedded: Boolean(embedded), ms: Date.now() - started },
    "signet starting",
  );

  let shuttingDown = false;
  const shutdown = async (reason: string, code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ reason }, "shutting down");
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGTERM");
    await Promise.all(children.map((c) => waitExit(c, 15_000)));
    await embedded?.stop();
    log.info("stopped");
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown("SIGINT", 0));
  process.on("SIGTERM", () => void shutdown("SIGTERM", 0));

  const restarts: number[] = [];
  const watch = (child: Child, args: string[], env: NodeJS.ProcessEnv) => {
    child.proc.once("exit", (code, signal) => {
      if (shuttingDown) return;
      if (child.name === "worker") {
        // A crashed worker is restarted (jobs it held are retried by pg-boss); a crash loop is fatal.
        const now = Date.now();
        restarts.push(now);
        while (restarts.length && restarts[0]! < now - 60_000) restarts.shift();
        if (restarts.length <= 5) {
          log.error({ code, signal }, "worker exited; restarting");
          const next = spawnChild("worker", args, env);
          children[children.indexOf(child)] = next;
          watch(next, args, env);
          return;
        }
      }
      log.error({ child: child.name, code, signal }, "child exited; stopping Signet");
      void shutdown(`${child.name} exited`, 1);
    });
  };
  watch(children[0]!, webArgs, { ...childEnv, NODE_ENV: dev ? "development" : "production" });
  // (a restarted worker runs as the first one did)
  if (children[1]) watch(children[1], workerArgs, workerEnv);
}

main().catch((err: unknown) => {
  log.fatal({ err }, "launcher failed");
  process.exit(1);
});
