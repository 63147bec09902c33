/**
 * Real cosign and crane against a test registry: push random images, sign them (classic tags or
 * Sigstore bundles), attest, attach SBOMs. Offline: a local key pair, no Rekor, Fulcio or TUF.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { registryTools } from "@/tests/support/registry";

const execFileP = promisify(execFile);

export interface CosignWorkspace {
  dir: string;
  /** Private key (empty password) and public key PEM paths. */
  key: string;
  pub: string;
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

async function run(bin: string, args: string[], opts: { cwd: string; env: Record<string, string> }): Promise<string> {
  try {
    const { stdout } = await execFileP(bin, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${path.basename(bin)} ${args.join(" ")} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

/** A temporary HOME for cosign (no ~/.sigstore), with a generated key pair. */
export async function createCosignWorkspace(): Promise<CosignWorkspace> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-cosign-"));
  await fs.mkdir(path.join(dir, "home"));
  const env = { HOME: path.join(dir, "home"), COSIGN_PASSWORD: "", COSIGN_YES: "true", DOCKER_CONFIG: path.join(dir, "home", ".docker") };
  await run(registryTools().cosign, ["generate-key-pair"], { cwd: dir, env });
  return {
    dir,
    key: path.join(dir, "cosign.key"),
    pub: path.join(dir, "cosign.pub"),
    env,
    cleanup: () => fs.rm(dir, { recursive: true, force: true }),
  };
}

/** A second key pair in the same workspace (for several signatures on one image). */
export async function generateExtraKey(ws: CosignWorkspace, name: string): Promise<string> {
  const d = path.join(ws.dir, name);
  await fs.mkdir(d);
  await run(registryTools().cosign, ["generate-key-pair"], { cwd: d, env: ws.env });
  return path.join(d, "cosign.key");
}

/** crane append of one random layer; returns the image digest. */
export async function pushRandomImage(ws: CosignWorkspace, registryHost: string, repo: string, tag: string): Promise<string> {
  const { crane } = registryTools();
  const work = await fs.mkdtemp(path.join(ws.dir, "img-"));
  await fs.writeFile(path.join(work, "hello.txt"), randomBytes(32).toString("hex"));
  await execFileP("tar", ["-cf", "layer.tar", "hello.txt"], { cwd: work });
  const ref = `${registryHost}/${repo}:${tag}`;
  await run(crane, ["append", "--insecure", "-f", path.join(work, "layer.tar"), "-t", ref], { cwd: work, env: ws.env });
  return (await run(crane, ["digest", "--insecure", ref], { cwd: work, env: ws.env })).trim();
}

const OFFLINE = ["--use-signing-config=false", "--tlog-upload=false", "--allow-http-registry", "--yes"];

/** cosign sign with a key; `bundle` selects the v3 Sigstore-bundle format (referrers). */
export async function cosignSign(ws: CosignWorkspace, ref: string, o: { bundle: boolean; key?: string; env?: Record<string, string>; annotations?: Record<string, string> }): Promise<void> {
  const args = ["sign", "--key", o.key ?? ws.key, ...(o.bundle ? [] : ["--new-bundle-format=false"]), ...OFFLINE];
  for (const [k, v] of Object.entries(o.annotations ?? {})) args.push("-a", `${k}=${v}`);
  await run(registryTools().cosign, [...args, ref], { cwd: ws.dir, env: { ...ws.env, ...o.env } });
}

/** cosign attest --type slsaprovenance with a small predicate. */
export async function cosignAttest(ws: CosignWorkspace, ref: string, o: { bundle: boolean; env?: Record<string, string> }): Promise<void> {
  const pred = path.join(ws.dir, "pred.json");
  await fs.writeFile(pred, JSON.stringify({ builder: { id: "https://signet.test/builder" }, buildType: "https://signet.test/build/v1", invocation: {}, materials: [] }));
  const args = ["attest", "--key", ws.key, "--type", "slsaprovenance", "--predicate", pred, ...(o.bundle ? [] : ["--new-bundle-format=false"]), ...OFFLINE];
  await run(registryTools().cosign, [...args, ref], { cwd: ws.dir, env: { ...ws.env, ...o.env } });
}

/** cosign attach sbom (deprecated in cosign 3, still writes the .sbom tag). */
export async function cosignAttachSbom(ws: CosignWorkspace, ref: string): Promise<void> {
  const sbom = path.join(ws.dir, "sbom.spdx.json");
  await fs.writeFile(sbom, JSON.stringify({ spdxVersion: "SPDX-2.3", SPDXID: "SPDXRef-DOCUMENT", name: "signet-test", packages: [] }));
  await run(registryTools().cosign, ["attach", "sbom", "--sbom", sbom, "--type", "spdx", "--allow-http-registry", ref], { cwd: ws.dir, env: ws.env });
}

/** cosign verify --key (classic signatures, no tlog); resolves to the verified payloads. */
export async function cosignVerify(ws: CosignWorkspace, ref: string, pubKeyPath: string): Promise<unknown[]> {
  const out = await run(registryTools().cosign, ["verify", "--key", pubKeyPath, "--insecure-ignore-tlog=true", "--new-bundle-format=false", "--allow-http-registry", "--output", "json", ref], {
    cwd: ws.dir,
    env: ws.env,
  });
  return JSON.parse(out) as unknown[];
}

/** crane index append: a multi-platform style index of `manifests` at `tag`; returns the index digest. */
export async function pushIndex(ws: CosignWorkspace, registryHost: string, repo: string, tag: string, manifests: string[], o: { docker?: boolean } = {}): Promise<string> {
  const { crane } = registryTools();
  const ref = `${registryHost}/${repo}:${tag}`;
  const args = ["index", "append", "--insecure", ...(o.docker ? ["--docker-empty-base"] : []), ...manifests.flatMap((m) => ["-m", m]), "-t", ref];
  await run(crane, args, { cwd: ws.dir, env: ws.env });
  return (await run(crane, ["digest", "--insecure", ref], { cwd: ws.dir, env: ws.env })).trim();
}
