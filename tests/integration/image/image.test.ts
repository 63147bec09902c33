import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreePort } from "@/lib/db/embedded";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { ROOT, waitFor } from "@/tests/support/process";
import { registryTools, startRegistry, type TestRegistry } from "@/tests/support/registry";
import { createCosignWorkspace, type CosignWorkspace } from "@/tests/support/registry-cosign";

const execFileP = promisify(execFile);
const run = async (cmd: string, args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}) => {
  try {
    return (await execFileP(cmd, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${e.stderr || e.message}`);
  }
};

/** The image's process spec as umoci unpacked it (config.json: the image's Env, WorkingDir, User, Entrypoint). */
interface RuntimeSpec {
  process: { env: string[]; cwd: string; user: { uid: number; gid: number }; args: string[] };
}

/**
 * Signet's container image, for real and once (building it is cached by a hash of its inputs in
 * $SIGNET_CACHE/image; a cold build takes minutes): built from the Containerfile with buildah, pushed
 * to a local registry, signed and given a SLSA provenance attestation by real cosign, verified by
 * Signet's own CLI, then its filesystem booted — read-only root, a tmpfs on /tmp, uid 1000, as a pod
 * runs it — as web and worker against a real PostgreSQL until /api/health answers 200; the web command
 * keys sign-in throttling by each client's own address, as `npm start` does.
 */
describe("container image", () => {
  let archive: string;
  let work: string;
  let registry: TestRegistry;
  let ws: CosignWorkspace;
  let tdb: TestDatabase;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    archive = (await run("bash", [path.join(ROOT, "scripts/image/build.sh")])).trim().split("\n").at(-1)!;
    [work, registry, ws, tdb] = await Promise.all([fs.mkdtemp(path.join(os.tmpdir(), "signet-image-")), startRegistry(), createCosignWorkspace(), createTestDatabase({ migrate: false })]);
  }, 40 * 60_000);
  afterAll(async () => {
    // each boot is its own process group (unshare, then the image's process, exec'd down to node)
    const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
    const exited = running.map((c) => new Promise((r) => c.once("exit", r)));
    for (const c of running) process.kill(-c.pid!, "SIGTERM");
    const late = setTimeout(() => running.forEach((c) => c.exitCode === null && process.kill(-c.pid!, "SIGKILL")), 15_000);
    await Promise.all(exited);
    clearTimeout(late);
    await registry?.stop();
    await ws?.cleanup();
    await tdb?.drop();
    if (work) await run("rm", ["-rf", work]);
  });

  it("is pushed, signed and attested with cosign, verified by Signet itself, and boots read-only as web + worker to a healthy /api/health", async () => {
    // push and sign
    const tag = `${registry.host}/signet/signet:test`;
    await run("skopeo", ["copy", "--quiet", "--dest-tls-verify=false", `oci-archive:${archive}`, `docker://${tag}`]);
    const digest = (await run(registryTools().crane, ["digest", "--insecure", tag])).trim();
    const ref = `${registry.host}/signet/signet@${digest}`;
    const offline = ["--use-signing-config=false", "--tlog-upload=false", "--allow-http-registry", "--yes"];
    await run(registryTools().cosign, ["sign", "--key", ws.key, "--new-bundle-format=false", ...offline, ref], { env: ws.env, cwd: ws.dir });
    const provenance = path.join(ws.dir, "provenance.json");
    await fs.writeFile(
      provenance,
      JSON.stringify({
        buildDefinition: {
          buildType: "https://signet.dev/containerfile/v1",
          externalParameters: { containerfile: "Containerfile", archive: path.basename(archive) },
          resolvedDependencies: [],
        },
        runDetails: { builder: { id: "https://signet.dev/builders/buildah" } },
      }),
    );
    await run(registryTools().cosign, ["attest", "--key", ws.key, "--type", "slsaprovenance1", "--predicate", provenance, "--new-bundle-format=false", ...offline, ref], { env: ws.env, cwd: ws.dir });

    // Signet verifies its own image: signature and provenance by the release key
    const pem = await fs.readFile(ws.pub, "utf8");
    const policy = path.join(ws.dir, "policy.yaml");
    await fs.writeFile(
      policy,
      `apiVersion: signet.dev/v1
kind: Policy
metadata: { name: signet-release }
spec:
  requireTlog: false
  authorities: [ { name: release, key: { pem: ${JSON.stringify(pem)} } } ]
  require:
    signatures: { anyOf: [release] }
    attestations: [ { predicateType: "https://slsa.dev/provenance/v1" } ]
`,
    );
    const verified = await run(process.execPath, [path.join(ROOT, "bin/signet.mjs"), "verify", ref, "--policy", policy, "--insecure-registry", registry.host, "--json"]);
    const result = JSON.parse(verified) as { verdict: string; evidence: { kind: string; status: string; predicateType?: string }[] };
    expect(result.verdict).toBe("verified");
    expect(result.evidence).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: "signature", status: "valid" }),
        expect.objectContaining({ kind: "attestation", status: "valid", predicateType: "https://slsa.dev/provenance/v1" }),
      ]),
    );

    // the image's filesystem and process spec, as a runtime would unpack them
    await run("skopeo", ["copy", "--quiet", `oci-archive:${archive}`, `oci:${work}/oci:signet`]);
    await run("umoci", ["unpack", "--image", `${work}/oci:signet`, `${work}/bundle`]);
    const rootfs = path.join(work, "bundle", "rootfs");
    const bytes = Number((await run("du", ["-sb", rootfs])).split("\t")[0]);
    const compressed = JSON.parse(await run("skopeo", ["inspect", "--raw", `oci-archive:${archive}`])) as { layers: { size: number }[] };
    const mb = (n: number) => (n / 1_000_000).toFixed(1);
    process.stdout.write(`container image: ${mb(bytes)} MB unpacked (goal ≤ 300 MB), ${mb(compressed.layers.reduce((a, l) => a + l.size, 0))} MB of layers in the archive\n`);
    expect(bytes).toBeGreaterThan(0);
    const spec = JSON.parse(await fs.readFile(path.join(work, "bundle", "config.json"), "utf8")) as RuntimeSpec;
    expect(spec.process.user.uid).toBe(1000);
    expect(spec.process.args).toEqual(["/app/bin/signet-entrypoint", "web"]);

    // boot: a private mount namespace with the root filesystem read-only, a tmpfs on /tmp, /proc and
    // /dev; then chroot as the image's user with the image's environment
    const port = await findFreePort();
    const env = [
      ...spec.process.env.filter((e) => !/^(HOST|PORT)=/.test(e)),
      `HOST=127.0.0.1`,
      `PORT=${port}`,
      `DATABASE_URL=${tdb.url}`,
      `SIGNET_SECRET_KEY=${randomBytes(32).toString("base64")}`,
      `SIGNET_HEARTBEAT_SECONDS=1`,
      `SIGNET_TRUSTED_PROXIES=127.0.0.2`,
      `LOG_LEVEL=warn`,
    ];
    const boot = (command: string) => {
      const script = [
        "set -e",
        `r='${rootfs}'`,
        'mount --bind "$r" "$r"',
        'mount -t proc proc "$r/proc"',
        'mount --rbind /dev "$r/dev"',
        'mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"',
        'mount -o remount,bind,ro "$r"',
        `cd "$r" && exec env -i ${env.map((e) => `'${e.replace(/'/g, "'\\''")}'`).join(" ")} chroot --userspec=${spec.process.user.uid}:${spec.process.user.gid} "$r" sh -c 'cd ${spec.process.cwd} && exec "$@"' sh ${spec.process.args[0]} ${command}`,
      ].join("\n");
      const child = spawn("unshare", ["--mount", "--propagation", "private", "--fork", "sh", "-c", script], { stdio: ["ignore", "pipe", "pipe"], detached: true });
      let out = "";
      child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
      children.push(child);
      return { child, output: () => out };
    };
    const web = boot("web");
    const worker = boot("worker");
    const health = await waitFor(
      async () => {
        if (web.child.exitCode !== null) throw new Error(`web exited ${web.child.exitCode}: ${web.output()}`);
        if (worker.child.exitCode !== null) throw new Error(`worker exited ${worker.child.exitCode}: ${worker.output()}`);
        const res = await fetch(`http://127.0.0.1:${port}/api/health`).catch(() => undefined);
        return res?.status === 200 ? ((await res.json()) as Record<string, unknown>) : undefined;
      },
      180_000,
      "the image's web and worker to answer /api/health 200",
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- web ---\n${web.output()}\n--- worker ---\n${worker.output()}`);
    });
    expect(health).toMatchObject({ status: "ok" });

    // the web command is Signet's own server (scripts/web.ts): sign-in budgets are per socket address
    // (a forged X-Forwarded-For changes nothing), and only the trusted proxy's X-Forwarded-For counts
    const signIn = (i: string, from: string, forwardedFor?: string) =>
      new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ email: `nobody-${i}@example.test`, password: `wrong password ${i}` });
        const headers = { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), origin: `http://127.0.0.1:${port}`, ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}) };
        const req = http.request({ host: "127.0.0.1", port, path: "/api/auth/sign-in/email", method: "POST", headers, localAddress: from, agent: false }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", reject);
        req.end(body);
      });
    const statuses = async (from: string, prefix: string, forwardedFor?: (n: number) => string) => {
      const out: number[] = [];
      for (let n = 0; n < 6; n++) out.push(await signIn(`${prefix}-${n}`, from, forwardedFor?.(n)));
      return out;
    };
    expect(await statuses("127.0.0.1", "a", (n) => `198.51.100.${n + 1}`)).toEqual([401, 401, 401, 401, 401, 429]);
    expect(await statuses("127.0.0.3", "b")).toEqual([401, 401, 401, 401, 401, 429]);
    expect(await statuses("127.0.0.2", "c", (n) => `203.0.113.${n + 1}`)).toEqual([401, 401, 401, 401, 401, 401]);

    // the CLI is the same image's third command
    const cli = boot("signet --version");
    const code = await new Promise<number | null>((resolve) => cli.child.once("exit", resolve));
    expect({ code, output: cli.output() }).toEqual({ code: 0, output: expect.stringMatching(/^signet \d+\.\d+\.\d+\n$/) });
  }, 10 * 60_000);
});
