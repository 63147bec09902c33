/** Shared by the `signet verify` integration tests: running the commands in-process, pushing hand-made signature manifests. */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import { request } from "undici";
import { vi } from "vitest";
import type { Command } from "@/cli/commands/types";
import { ROOT } from "@/tests/support/process";
import { putManifest, registryTools, uploadBlob } from "@/tests/support/registry";
import { signatureConfig } from "@/tests/support/registry-fixtures";
import type { LayerSpec } from "@/tests/support/sigstore-fixtures";

const execFileP = promisify(execFile);
const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A command in-process (exit code = run()'s return value), capturing stdout / stderr. */
export async function runInProcess(command: Command, args: string[]): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true));
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true));
  try {
    const code = await command.run(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** The signet binary (bin/signet.mjs) in a child process. */
export function signetBinary(args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, "bin", "signet.mjs"), ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: "warn" } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** crane copy of one manifest (blobs mounted), e.g. a .sig tag onto another image's tag. */
export async function craneCopy(from: string, to: string): Promise<void> {
  await execFileP(registryTools().crane, ["copy", "--insecure", from, to]);
}

/** Pushes a cosign tag-schema signature manifest (sha256-<hex>.sig) holding `layers`, as go-containerregistry writes it. */
export async function pushSigManifest(registryUrl: string, repo: string, imageDigest: string, layers: LayerSpec[]): Promise<string> {
  const digests = await Promise.all(layers.map((l) => uploadBlob(registryUrl, repo, l.content)));
  const config = signatureConfig(digests);
  const configDigest = await uploadBlob(registryUrl, repo, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", size: config.length, digest: configDigest },
      layers: layers.map((l, i) => ({ mediaType: l.mediaType, size: l.content.length, digest: digests[i], annotations: l.annotations })),
    }),
  );
  return putManifest(registryUrl, repo, `sha256-${imageDigest.slice("sha256:".length)}.sig`, manifest, "application/vnd.oci.image.manifest.v1+json");
}

/** GET a manifest (OCI) and a blob from the test registry. */
export async function getManifest(registryUrl: string, repo: string, reference: string): Promise<any> {
  const res = await request(`${registryUrl}/v2/${repo}/manifests/${reference}`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
  if (res.statusCode !== 200) throw new Error(`GET manifest ${repo}:${reference}: HTTP ${res.statusCode}`);
  return JSON.parse(await res.body.text());
}

export async function getBlob(registryUrl: string, repo: string, digest: string): Promise<Buffer> {
  const res = await request(`${registryUrl}/v2/${repo}/blobs/${digest}`);
  if (res.statusCode !== 200) throw new Error(`GET blob ${repo}@${digest}: HTTP ${res.statusCode}`);
  const bytes = Buffer.from(await res.body.arrayBuffer());
  if (sha256(bytes) !== digest) throw new Error("blob digest mismatch");
  return bytes;
}

/** A YAML policy document (indentation-free flow style keeps it readable in tests). */
export function policyDoc(name: string, spec: string): string {
  return `---\napiVersion: signet.dev/v1\nkind: Policy\nmetadata: { name: ${name} }\nspec:\n${spec
    .trim()
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n")}\n`;
}

export function keyAuthority(name: string, pem: string, extra = ""): string {
  return `{ name: ${name}, key: { pem: ${JSON.stringify(pem)} }${extra ? `, ${extra}` : ""} }`;
}
