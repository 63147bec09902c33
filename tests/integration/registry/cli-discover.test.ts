import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { stringify as toYaml } from "yaml";
import { discover } from "@/cli/commands/discover";
import { json, startHostileRegistry, type HostileRegistry } from "@/tests/support/hostile-registry";
import { ROOT } from "@/tests/support/process";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { generateSigningKey, pushSignedImage, type PushedSignedImage } from "@/tests/support/registry-fixtures";

/** `signet discover` as a user runs it: bin/signet.mjs in a child process. */
function signet(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, "bin", "signet.mjs"), ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: "warn" } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The same command in-process (its exit code is run()'s return value), capturing stdout / stderr. */
async function runInProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true));
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true));
  try {
    const code = await discover.run(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe("signet discover", () => {
  let reg: TestRegistry;
  let locked: TestRegistry;
  let hostile: HostileRegistry;
  let dir: string;
  let signed: PushedSignedImage;
  let lockedImage: PushedSignedImage;
  const key = generateSigningKey();

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-cli-"));
    [reg, locked, hostile] = await Promise.all([
      startRegistry(),
      startRegistry({ auth: { kind: "basic", users: { carol: "pa55" } } }),
      startHostileRegistry([[/^\/v2\/.+/, json(500, { errors: [{ code: "UNKNOWN", message: "boom" }] })]]),
    ]);
    [signed, , lockedImage] = await Promise.all([
      pushSignedImage(reg.url, reg.host, "cli/signed", key, { tag: "v1" }),
      pushSignedImage(reg.url, reg.host, "cli/unsigned", key, { tag: "v1", sign: false }),
      pushSignedImage(locked.url, locked.host, "cli/locked", key, { tag: "v1", headers: { authorization: `Basic ${Buffer.from("carol:pa55").toString("base64")}` } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([reg?.stop(), locked?.stop(), hostile?.stop()]);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("the signet binary exits 0 when found (tag resolved first) and 1 when none", async () => {
    const [byTag, none] = await Promise.all([
      signet(["discover", `${reg.host}/cli/signed:v1`, "--insecure-registry", reg.host]),
      signet(["discover", `${reg.host}/cli/unsigned:v1`, "--insecure-registry", reg.host]),
    ]);
    expect({ code: byTag.code, stderr: byTag.stderr }).toEqual({ code: 0, stderr: "" });
    expect(byTag.stdout).toContain(`image: ${reg.host}/cli/signed:v1@${signed.digest}`);
    expect(byTag.stdout).toContain("outcome: found (1 artifact)");
    expect(byTag.stdout).toContain(signed.signatureManifestDigest);
    expect({ code: none.code, stderr: none.stderr }).toEqual({ code: 1, stderr: "" });
    expect(none.stdout).toContain("outcome: none");
    expect(none.stdout).toContain("referrers API (404)");
  });

  it("prints JSON with base64 layer contents", async () => {
    const r = await runInProcess([`${reg.host}/cli/signed@${signed.digest}`, "--insecure-registry", reg.host, "--json"]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ outcome: "found", manifestDigests: [signed.signatureManifestDigest] });
    expect(Buffer.from(result.artifacts[0].layers[0].content, "base64").equals(signed.payload)).toBe(true);
  });

  it("exits 2 on registry errors, and uses a Kubernetes pull secret (YAML) for credentials", async () => {
    const secret = path.join(dir, "pull-secret.yaml");
    await fs.writeFile(
      secret,
      toYaml({
        apiVersion: "v1",
        kind: "Secret",
        type: "kubernetes.io/dockerconfigjson",
        metadata: { name: "regcred" },
        data: { ".dockerconfigjson": Buffer.from(JSON.stringify({ auths: { [locked.host]: { username: "carol", password: "pa55" } } })).toString("base64") },
      }),
    );
    const error = await runInProcess([`${hostile.host}/cli/app@${signed.digest}`, "--insecure-registry", hostile.host, "--timeout", "5"]);
    expect(error.code).toBe(2);
    expect(error.stdout).toContain("outcome: error (server-error)");
    const withSecret = await runInProcess([`${locked.host}/cli/locked:v1`, "--insecure-registry", locked.host, "--docker-config", secret]);
    expect(withSecret.code).toBe(0);
    expect(withSecret.stdout).toContain(lockedImage.signatureManifestDigest);
    const withoutSecret = await runInProcess([`${locked.host}/cli/locked@${lockedImage.digest}`, "--insecure-registry", locked.host]);
    expect(withoutSecret.code).toBe(2);
    expect(withoutSecret.stdout).toContain("outcome: error (auth)");
    const badConfig = await runInProcess([`${locked.host}/cli/locked:v1`, "--docker-config", path.join(dir, "missing.json")]);
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toContain("cannot use");
  });

  it("refuses plain HTTP unless --insecure-registry names the host; unknown tags are errors; bad input is a usage error", async () => {
    const https = await runInProcess([`${reg.host}/cli/signed:v1`, "--timeout", "5"]);
    expect(https.code).toBe(2);
    expect(https.stderr).toMatch(/cannot resolve .*cannot reach/);
    const missing = await runInProcess([`${reg.host}/cli/signed:nope`, "--insecure-registry", reg.host, "--json"]);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout)).toMatchObject({ outcome: "error", code: "not-found" });
    for (const args of [[], ["ghcr.io/Org/app"], ["a", "b"], ["x", "--timeout", "0"], ["x", "--bogus"]]) {
      const r = await runInProcess(args);
      expect(r.code).toBe(64);
      expect(r.stderr).toMatch(/^signet discover: /);
    }
  });
});
