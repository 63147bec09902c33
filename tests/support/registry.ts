/**
 * A real OCI registry for tests: Debian's `docker-registry` (CNCF distribution 2.8) on a free
 * loopback port, with a temporary storage directory and a generated config.yml. Modes: no auth,
 * htpasswd (basic), token (a JWT token service, see registry-token.ts), optionally TLS.
 * Also: HTTP push helpers and the loader of the shared signature vectors (../shared/vectors).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Agent, request, type Dispatcher } from "undici";
import { stringify as toYaml } from "yaml";
import { ROOT, waitFor } from "@/tests/support/process";
import { bcryptHash } from "@/tests/support/registry-bcrypt";

/** Paths of the external tools (scripts/provision.sh exports them; these are its defaults). */
export function registryTools(): { registry: string; cosign: string; crane: string } {
  const cache = process.env.SIGNET_CACHE ?? path.join(ROOT, ".cache");
  const tools = {
    registry: process.env.REGISTRY_BIN ?? "/usr/bin/docker-registry",
    cosign: process.env.COSIGN_BIN ?? path.join(cache, "tools/bin/cosign"),
    crane: process.env.CRANE_BIN ?? path.join(cache, "tools/bin/crane"),
  };
  for (const [name, bin] of Object.entries(tools)) {
    if (!existsSync(bin)) throw new Error(`${name} not found at ${bin}: run \`eval "$(bash scripts/provision.sh)"\` first`);
  }
  return tools;
}

export type RegistryAuthMode =
  | { kind: "none" }
  | { kind: "basic"; users: Record<string, string> }
  | { kind: "token"; realm: string; service: string; issuer: string; rootCertPath: string };

export interface StartRegistryOptions {
  auth?: RegistryAuthMode;
  /** Serve HTTPS with this certificate (PEM) and key. */
  tls?: { certPem: string; keyPem: string };
  /** Loopback address to listen on (127.0.0.1 by default; any 127/8 address works on Linux). */
  listen?: string;
  /**
   * GOGC of the registry process (Go's default 100). Benchmarks raise it: at thousands of requests
   * a second on two cores, the default spends ~40 % of the registry's CPU collecting garbage, which
   * then dominates every client's figures.
   */
  goGC?: number;
  /** distribution's log level (default warn). */
  logLevel?: "debug" | "info" | "warn" | "error";
}

export interface TestRegistry {
  /** "http://127.0.0.1:PORT" (or https). */
  url: string;
  /** "127.0.0.1:PORT", the registry host of image references. */
  host: string;
  dir: string;
  /** The docker-registry process id (benchmarks read its CPU time). */
  pid: number;
  /** The last 20,000 characters of its output. */
  logs(): string;
  /**
   * Every request it answered, in order (from its "response completed" lines; start it with
   * `logLevel: "info"`): not truncated like `logs()`, for tests that count a long run's requests.
   */
  requests(): { method: string; uri: string; status: number }[];
  stop(): Promise<void>;
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const tools = registryTools();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-registry-"));
  const listen = opts.listen ?? "127.0.0.1";
  const auth = opts.auth ?? { kind: "none" };
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: opts.logLevel ?? "warn", accesslog: { disabled: true } },
    // the in-memory blob descriptor cache is part of distribution's stock config.yml
    storage: { filesystem: { rootdirectory: path.join(dir, "storage") }, delete: { enabled: true }, cache: { blobdescriptor: "inmemory" } },
    http: { addr: "", secret: "signet-test-secret" },
  };
  const http = config.http as Record<string, unknown>;
  if (opts.tls) {
    await fs.writeFile(path.join(dir, "tls.crt"), opts.tls.certPem);
    await fs.writeFile(path.join(dir, "tls.key"), opts.tls.keyPem, { mode: 0o600 });
    http.tls = { certificate: path.join(dir, "tls.crt"), key: path.join(dir, "tls.key") };
  }
  if (auth.kind === "basic") {
    const lines = Object.entries(auth.users).map(([u, p]) => `${u}:${bcryptHash(p)}`);
    await fs.writeFile(path.join(dir, "htpasswd"), `${lines.join("\n")}\n`);
    config.auth = { htpasswd: { realm: "signet-test", path: path.join(dir, "htpasswd") } };
  } else if (auth.kind === "token") {
    config.auth = { token: { realm: auth.realm, service: auth.service, issuer: auth.issuer, rootcertbundle: auth.rootCertPath } };
  }

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort(listen);
    http.addr = `${listen}:${port}`;
    await fs.writeFile(path.join(dir, "config.yml"), toYaml(config));
    let out = "";
    let partial = "";
    const answered: { method: string; uri: string; status: number }[] = [];
    const collect = (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000);
      const lines = (partial + d.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.includes("response completed") || answered.length >= 1_000_000) continue;
        const method = /http\.request\.method=(\S+)/.exec(line)?.[1] ?? "";
        // logrus quotes a value only when it holds characters outside [A-Za-z0-9-._/@^+]
        const m = /http\.request\.uri=(?:"([^"]*)"|(\S+))/.exec(line);
        const uri = m?.[1] ?? m?.[2] ?? "";
        answered.push({ method, uri, status: Number(/http\.response\.status=(\d+)/.exec(line)?.[1] ?? 0) });
      }
    };
    const proc: ChildProcess = spawn(tools.registry, ["serve", path.join(dir, "config.yml")], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...(opts.goGC ? { GOGC: String(opts.goGC) } : {}) } });
    proc.stdout?.on("data", collect);
    proc.stderr?.on("data", collect);
    let exited = false;
    const exit = new Promise<void>((resolve) => proc.once("exit", () => ((exited = true), resolve())));
    const scheme = opts.tls ? "https" : "http";
    const url = `${scheme}://${listen}:${port}`;
    const agent = new Agent({ connect: opts.tls ? { ca: opts.tls.certPem } : {} });
    const died = exit.then((): never => {
      throw new Error(`docker-registry exited: ${out.slice(-2000)}`);
    });
    died.catch(() => undefined); // only the race below cares
    try {
      await Promise.race([
        waitFor(
          async () => {
            if (exited) return false;
            const res = await request(`${url}/v2/`, { dispatcher: agent });
            await res.body.dump();
            return res.statusCode === 200 || res.statusCode === 401 ? true : undefined;
          },
          15_000,
          `docker-registry on ${url}`,
        ),
        died,
      ]);
      await agent.close();
      const stop = async () => {
        if (!exited) {
          proc.kill("SIGTERM");
          const killer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
          await exit;
          clearTimeout(killer);
        }
        await fs.rm(dir, { recursive: true, force: true });
      };
      return { url, host: `${listen}:${port}`, dir, pid: proc.pid!, logs: () => out, requests: () => [...answered], stop };
    } catch (err) {
      lastError = err;
      await agent.close();
      if (!exited) proc.kill("SIGKILL");
      await exit;
      if (!String(err).includes("address already in use")) break;
    }
  }
  await fs.rm(dir, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

export interface PushOptions {
  headers?: Record<string, string>;
  dispatcher?: Dispatcher;
}

/** Monolithic blob upload (POST, then PUT to the Location with ?digest=). Returns the digest. */
export async function uploadBlob(registryUrl: string, repo: string, bytes: Uint8Array, opts: PushOptions = {}): Promise<string> {
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  const start = await request(`${registryUrl}/v2/${repo}/blobs/uploads/`, { method: "POST", headers: opts.headers, dispatcher: opts.dispatcher });
  const startBody = await start.body.text();
  if (start.statusCode !== 202) throw new Error(`blob upload start for ${repo}: HTTP ${start.statusCode} ${startBody.slice(0, 300)}`);
  const location = new URL(String(start.headers.location), registryUrl);
  location.searchParams.append("digest", digest);
  const put = await request(location, {
    method: "PUT",
    headers: { ...opts.headers, "content-type": "application/octet-stream" },
    body: Buffer.from(bytes),
    dispatcher: opts.dispatcher,
  });
  const putBody = await put.body.text();
  if (put.statusCode !== 201) throw new Error(`blob upload of ${digest} to ${repo}: HTTP ${put.statusCode} ${putBody.slice(0, 300)}`);
  return digest;
}

/** PUT a manifest under a tag or digest with its own media type. Returns the digest the registry reports. */
export async function putManifest(
  registryUrl: string,
  repo: string,
  reference: string,
  bytes: Uint8Array,
  mediaType: string,
  opts: PushOptions = {},
): Promise<string> {
  const res = await request(`${registryUrl}/v2/${repo}/manifests/${reference}`, {
    method: "PUT",
    headers: { ...opts.headers, "content-type": mediaType },
    body: Buffer.from(bytes),
    dispatcher: opts.dispatcher,
  });
  const body = await res.body.text();
  if (res.statusCode !== 201) throw new Error(`manifest PUT ${repo}:${reference}: HTTP ${res.statusCode} ${body.slice(0, 300)}`);
  const expected = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  const reported = res.headers["docker-content-digest"];
  if (reported !== expected) throw new Error(`manifest PUT ${repo}:${reference}: registry reports ${String(reported)}, expected ${expected}`);
  return expected;
}

// ---------------------------------------------------------------------------------------------
// Shared signature vectors (../shared/vectors relative to the repository root)

/** The vectors folder: `../shared/vectors` relative to the repository root. */
export const VECTORS_DIR = path.resolve(ROOT, "..", "shared", "vectors");

function isCi(): boolean {
  const v = (process.env.CI ?? "").toLowerCase();
  return v === "true" || v === "1" || v === "yes";
}

/**
 * Absolute directories of every vector case, sorted. A missing vectors folder is an error under CI
 * (CI=true) and an empty list elsewhere.
 */
export function listVectorCases(vectorsDir: string = VECTORS_DIR): string[] {
  const casesDir = path.join(vectorsDir, "cases");
  if (!existsSync(casesDir)) {
    if (isCi()) throw new Error(`the shared signature vectors are missing: ${casesDir} does not exist (required when CI=true)`);
    return [];
  }
  // Synchronous so that test files can build their cases at collection time.
  return readdirSync(casesDir)
    .map((name) => path.join(casesDir, name))
    .filter((p) => statSync(p).isDirectory() && existsSync(path.join(p, "subject.json")))
    .sort();
}

export interface VectorSubject {
  repository: string;
  originalReference: string;
  digest: string;
  scheme: "tag-sig" | "tag-att" | "referrers-fallback-tag";
}

export interface LoadedManifest {
  /** Tag or "sha256:<hex>" it was pushed under. */
  reference: string;
  file: string;
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface LoadedVectorCase {
  name: string;
  dir: string;
  subject: VectorSubject;
  /** Blob digests pushed. */
  blobs: string[];
  /** Digest manifests first, then tag manifests, in push order. */
  manifests: LoadedManifest[];
}

/**
 * Pushes one vector case into a registry per the vectors README: every blob, then the manifests by
 * digest (manifests/sha256/<hex>.json), then the manifests by tag (manifests/<tag>.json), each with
 * its own mediaType as Content-Type. `opts.headers` can carry an Authorization for auth registries.
 */
export async function loadVectorCase(registryUrl: string, caseDir: string, opts: PushOptions = {}): Promise<LoadedVectorCase> {
  const subject = JSON.parse(await fs.readFile(path.join(caseDir, "subject.json"), "utf8")) as VectorSubject;
  const repo = subject.repository;
  const blobDir = path.join(caseDir, "blobs", "sha256");
  const blobs: string[] = [];
  for (const hex of (await readdirIfExists(blobDir)).sort()) {
    const bytes = await fs.readFile(path.join(blobDir, hex));
    const digest = await uploadBlob(registryUrl, repo, bytes, opts);
    if (digest !== `sha256:${hex}`) throw new Error(`vector blob ${hex} of ${caseDir} hashes to ${digest}`);
    blobs.push(digest);
  }
  const manifests: LoadedManifest[] = [];
  const push = async (file: string, reference: string) => {
    const bytes = await fs.readFile(file);
    const mediaType = (JSON.parse(bytes.toString("utf8")) as { mediaType?: string }).mediaType;
    if (!mediaType) throw new Error(`vector manifest ${file} has no mediaType`);
    const digest = await putManifest(registryUrl, repo, reference, bytes, mediaType, opts);
    manifests.push({ reference, file, digest, mediaType, bytes });
  };
  const byDigestDir = path.join(caseDir, "manifests", "sha256");
  for (const f of (await readdirIfExists(byDigestDir)).filter((f) => f.endsWith(".json")).sort()) {
    await push(path.join(byDigestDir, f), `sha256:${f.slice(0, -".json".length)}`);
  }
  const manifestDir = path.join(caseDir, "manifests");
  for (const f of (await readdirIfExists(manifestDir)).filter((f) => f.endsWith(".json")).sort()) {
    await push(path.join(manifestDir, f), f.slice(0, -".json".length));
  }
  return { name: path.basename(caseDir), dir: caseDir, subject, blobs, manifests };
}

async function readdirIfExists(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}
