/**
 * Agreement with the reference: policy-controller's own tester (cmd/tester of
 * github.com/sigstore/policy-controller, built by scripts/provision/policy-tester.sh) and Signet decide
 * the same admission for every (image × imported ClusterImagePolicy) pair. Images are signed and attested
 * by real cosign (keys, no transparency log) or carry keyless signatures of a private Sigstore (custom
 * trust root given to both); the policies cover keys, keyless identities (exact and regexp), attestation
 * authorities, transparency log required or not, warn mode, static authorities and globs.
 */
import { mapLimit } from "@/lib/concurrency";
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { predictedAdmission } from "@/lib/policy/admission";
import { compilePolicy } from "@/lib/policy/compile";
import { importClusterImagePolicy } from "@/lib/policy/import-cluster";
import { RegistryClient } from "@/lib/registry/client";
import { parseImageReference } from "@/lib/registry/reference";
import { loadTrustRoots, verifyImage } from "@/lib/verify";
import { registryTools, startRegistry, type TestRegistry } from "@/tests/support/registry";
import { cosignSign, createCosignWorkspace, generateExtraKey, pushRandomImage, type CosignWorkspace } from "@/tests/support/registry-cosign";
import { keylessSignatureLayer, makeLeaf, makePrivateSigstore } from "@/tests/support/sigstore-pki";
import { pushSigManifest } from "@/tests/integration/verify/helpers";

const execFileP = promisify(execFile);
const TESTER = process.env.POLICY_TESTER_BIN ?? path.resolve(".cache/policy-tester/v0.13.1/policy-tester");
const ISSUER = "https://issuer.acme.test";

let reg: TestRegistry;
let ws: CosignWorkspace;
let dir: string;
const keys: Record<"a" | "b" | "c", { key: string; pub: string }> = {} as never;
/** image name → digest reference */
const images = new Map<string, string>();
const sigstore = makePrivateSigstore();

async function cosign(args: string[]): Promise<void> {
  await execFileP(registryTools().cosign, args, { cwd: ws.dir, env: { ...process.env, ...ws.env }, maxBuffer: 16 << 20 });
}
const OFFLINE = ["--use-signing-config=false", "--tlog-upload=false", "--allow-http-registry", "--yes", "--new-bundle-format=false"];

async function attest(ref: string, key: string, type: "slsaprovenance" | "cyclonedx"): Promise<void> {
  const pred = path.join(dir, `${type}.json`);
  await cosign(["attest", "--key", key, "--type", type, "--predicate", pred, ...OFFLINE, ref]);
}

async function keylessImage(name: string, o: { identity: string; issuer: string; tlog: boolean }): Promise<void> {
  const repo = `pt/${name}`;
  const digest = await pushRandomImage(ws, reg.host, repo, "v1");
  const now = Date.now();
  const leaf = makeLeaf({
    ca: sigstore.ca,
    ctlog: sigstore.ctlog,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 24 * 3600_000),
    identity: { email: o.identity },
    issuerV1: o.issuer,
    issuerV2: o.issuer,
  });
  await pushSigManifest(reg.url, repo, digest, [keylessSignatureLayer({ sigstore, leaf, imageDigest: digest, integratedTime: o.tlog ? Math.floor(now / 1000) - 600 : null })]);
  images.set(name, `${reg.host}/${repo}@${digest}`);
}

beforeAll(async () => {
  [reg, ws] = await Promise.all([startRegistry(), createCosignWorkspace()]);
  dir = path.join(ws.dir, "agreement");
  await fs.mkdir(dir);
  await fs.writeFile(path.join(dir, "slsaprovenance.json"), JSON.stringify({ builder: { id: "https://signet.test/builder" }, buildType: "https://signet.test/build/v1", invocation: {}, materials: [] }));
  await fs.writeFile(path.join(dir, "cyclonedx.json"), JSON.stringify({ bomFormat: "CycloneDX", specVersion: "1.5", version: 1, components: [] }));
  const [kb, kc] = await Promise.all([generateExtraKey(ws, "b"), generateExtraKey(ws, "c")]);
  keys.a = { key: ws.key, pub: await fs.readFile(ws.pub, "utf8") };
  keys.b = { key: kb, pub: await fs.readFile(path.join(path.dirname(kb), "cosign.pub"), "utf8") };
  keys.c = { key: kc, pub: await fs.readFile(path.join(path.dirname(kc), "cosign.pub"), "utf8") };

  // name → what real cosign does to it (repositories under pt/app and pt/lib for the globs)
  const plan: Array<[string, Array<["sign" | "slsa" | "cdx", "a" | "b" | "c"]>]> = [
    ["app/sa", [["sign", "a"]]],
    ["app/sb", [["sign", "b"]]],
    ["app/sab", [["sign", "a"], ["sign", "b"]]],
    ["app/sc", [["sign", "c"]]],
    ["app/unsigned", []],
    ["app/sa-slsa-a", [["sign", "a"], ["slsa", "a"]]],
    ["app/slsa-a", [["slsa", "a"]]],
    ["app/slsa-b", [["slsa", "b"]]],
    ["app/sb-cdx-a", [["sign", "b"], ["cdx", "a"]]],
    ["app/cdx-a-slsa-a", [["cdx", "a"], ["slsa", "a"]]],
    ["lib/sa", [["sign", "a"]]],
    ["lib/sb", [["sign", "b"]]],
    ["lib/sc-slsa-b", [["sign", "c"], ["slsa", "b"]]],
    ["lib/unsigned", []],
    ["lib/deep/sa", [["sign", "a"]]],
    ["lib/deep/sbc", [["sign", "b"], ["sign", "c"]]],
  ];
  await mapLimit(plan, 2, async ([name, steps]) => {
    const repo = `pt/${name}`;
    const digest = await pushRandomImage(ws, reg.host, repo, "v1");
    const ref = `${reg.host}/${repo}@${digest}`;
    for (const [what, who] of steps) {
      if (what === "sign") await cosignSign(ws, ref, { bundle: false, key: keys[who].key });
      else await attest(ref, keys[who].key, what === "slsa" ? "slsaprovenance" : "cyclonedx");
    }
    images.set(name, ref);
  });
  // a cosign v3 Sigstore bundle (OCI referrer): policy-controller v0.13 reads classic layers only
  {
    const digest = await pushRandomImage(ws, reg.host, "pt/app/sa-bundle", "v1");
    const ref = `${reg.host}/pt/app/sa-bundle@${digest}`;
    await cosignSign(ws, ref, { bundle: true, key: keys.a.key });
    images.set("app/sa-bundle", ref);
  }
  await keylessImage("kl/good", { identity: "ci@acme.test", issuer: ISSUER, tlog: false });
  await keylessImage("kl/good-tlog", { identity: "ci@acme.test", issuer: ISSUER, tlog: true });
  await keylessImage("kl/wrong-subject", { identity: "evil@acme.test", issuer: ISSUER, tlog: false });
  await keylessImage("kl/wrong-issuer", { identity: "ci@acme.test", issuer: "https://evil.test", tlog: true });

  // the private Sigstore, for both: a trusted_root.json for Signet, a TrustRoot resource for the tester
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  await fs.writeFile(path.join(dir, "acme.json"), sigstore.trustedRootJson);
  await fs.writeFile(
    path.join(dir, "trustroot.yaml"),
    YAML.stringify({
      apiVersion: "policy.sigstore.dev/v1alpha1",
      kind: "TrustRoot",
      metadata: { name: "acme" },
      spec: {
        sigstoreKeys: {
          certificateAuthorities: [{ subject: { organization: "signet.test", commonName: "private-fulcio" }, uri: "https://fulcio.signet.test", certChain: b64(sigstore.ca.pem) }],
          tLogs: [{ baseURL: "https://rekor.signet.test", hashAlgorithm: "sha-256", publicKey: b64(sigstore.rekor.key.pem) }],
          ctLogs: [{ baseURL: "https://ctfe.signet.test", hashAlgorithm: "sha-256", publicKey: b64(sigstore.ctlog.key.pem) }],
        },
      },
    }),
  );
}, 600_000);

afterAll(async () => {
  await reg?.stop();
  await ws?.cleanup();
});

function cips(): Record<string, Record<string, unknown>> {
  const host = reg.host;
  const key = (k: "a" | "b" | "c", extra: Record<string, unknown> = {}) => ({ key: { data: keys[k].pub }, ...extra });
  const kl = (id: Record<string, string>, extra: Record<string, unknown> = {}) => ({ keyless: { url: "https://fulcio.signet.test", trustRootRef: "acme", identities: [id] }, ...extra });
  const all = [{ glob: `${host}/pt/**` }];
  return {
    "key-a": { images: all, authorities: [{ name: "a", ...key("a") }] },
    "key-a-needs-tlog": { images: all, authorities: [{ name: "a", ...key("a", { ctlog: { url: "https://rekor.signet.test", trustRootRef: "acme" } }) }] },
    // policy-controller's v1beta1 → v1alpha1 conversion drops a ctlog without url: no log required
    "key-a-ctlog-without-url": { images: all, authorities: [{ name: "a", ...key("a", { ctlog: { trustRootRef: "acme" } }) }] },
    "key-a-or-b": { images: all, authorities: [{ name: "a", ...key("a") }, { name: "b", ...key("b") }] },
    "slsa-by-a": { images: all, authorities: [{ name: "a", ...key("a", { attestations: [{ name: "prov", predicateType: "slsaprovenance" }] }) }] },
    "sig-b-or-sbom-a": { images: all, authorities: [{ name: "b", ...key("b") }, { name: "sbom", ...key("a", { attestations: [{ name: "sbom", predicateType: "cyclonedx" }] }) }] },
    "two-attestations-a": { images: all, authorities: [{ ...key("a", { attestations: [{ name: "p", predicateType: "slsaprovenance" }, { name: "s", predicateType: "cyclonedx" }] }) }] },
    "warn-key-c": { mode: "warn", images: all, authorities: [{ name: "c", ...key("c") }] },
    "glob-app-one-segment": { images: [{ glob: `${host}/pt/app/*` }], authorities: [{ name: "a", ...key("a") }] },
    "glob-lib-deep": { images: [{ glob: `${host}/pt/lib/**` }], authorities: [{ name: "b", ...key("b") }] },
    "static-pass-lib": { images: [{ glob: `${host}/pt/lib/*` }], authorities: [{ static: { action: "pass" } }] },
    "static-fail": { images: all, authorities: [{ static: { action: "fail", message: "frozen" } }] },
    "static-fail-or-key-b": { images: all, authorities: [{ static: { action: "fail" } }, { name: "b", ...key("b") }] },
    "keyless-exact": { images: all, authorities: [{ name: "ci", ...kl({ issuer: ISSUER, subject: "ci@acme.test" }) }] },
    "keyless-regexp": { images: all, authorities: [{ name: "ci", ...kl({ issuerRegExp: "^https://issuer\\.acme\\.test$", subjectRegExp: "^ci@acme\\.test$" }) }] },
    "keyless-needs-tlog": { images: all, authorities: [{ name: "ci", ...kl({ issuer: ISSUER, subject: "ci@acme.test" }, { ctlog: { url: "https://rekor.signet.test", trustRootRef: "acme" } }) }] },
    "keyless-or-key-c": { images: all, authorities: [{ name: "ci", ...kl({ issuer: ISSUER, subjectRegExp: ".*@acme\\.test$" }) }, { name: "c", ...key("c") }] },
  };
}

async function tester(policyFile: string, image: string): Promise<{ pass: boolean; out: string }> {
  try {
    const { stdout, stderr } = await execFileP(TESTER, ["-policy", policyFile, "-image", image, "-trustroot", path.join(dir, "trustroot.yaml"), "-log-level", "error"], {
      env: { ...process.env, HOME: path.join(ws.dir, "home"), DOCKER_CONFIG: path.join(ws.dir, "home", ".docker"), TUF_ROOT: path.join(ws.dir, "tuf") },
      timeout: 60_000,
    });
    return { pass: true, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== "number") throw err;
    return { pass: false, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

describe("Signet agrees with policy-controller's tester", () => {
  it("on every image × imported ClusterImagePolicy", async () => {
    const client = new RegistryClient({ registries: [{ host: reg.host, insecure: true }] });
    const trust = await loadTrustRoots([`acme=${path.join(dir, "acme.json")}`]);
    const policies = cips();
    expect(images.size).toBeGreaterThanOrEqual(20);
    const pairs = Object.keys(policies).flatMap((p) => [...images.keys()].map((i) => [p, i] as const));
    const results: Array<{ policy: string; image: string; tester: boolean; signet: boolean; verdict: string; why: string }> = [];
    for (const [name, spec] of Object.entries(policies)) {
      const obj = { apiVersion: "policy.sigstore.dev/v1beta1", kind: "ClusterImagePolicy", metadata: { name }, spec };
      const file = path.join(dir, `${name}.yaml`);
      await fs.writeFile(file, YAML.stringify(obj));
      const imported = importClusterImagePolicy(obj);
      expect(imported.documents, `${name}: ${imported.unsupported.join("; ")}`).toHaveLength(1);
      const doc = imported.documents[0]!;
      const compiled = compilePolicy(doc.metadata.name, 1, doc.spec);
      const rows = await mapLimit([...images.entries()], 3, async ([image, ref]) => {
        const [t, s] = await Promise.all([tester(file, ref), verifyImage({ client, reference: parseImageReference(ref), policies: [compiled], trust })]);
        expect(t.out, `${name} × ${image}: the tester refused the policy`).not.toMatch(/CIP is invalid/);
        const verdict = s.policies[0]?.verdict.value ?? "unmatched";
        const decision = predictedAdmission(verdict, doc.spec.mode);
        return { policy: name, image, tester: t.pass, signet: decision === "admit" || decision === "warn", verdict, why: t.out.slice(0, 300) };
      });
      results.push(...rows);
    }
    expect(results).toHaveLength(pairs.length);
    const disagreements = results.filter((r) => r.tester !== r.signet);
    // Both outcomes occur for most policies: the comparison is not trivially all-pass or all-fail.
    const passes = results.filter((r) => r.tester).length;
    expect(passes).toBeGreaterThan(20);
    expect(results.length - passes).toBeGreaterThan(20);
    expect(disagreements, JSON.stringify(disagreements, null, 1)).toEqual([]);
    console.log(`policy-tester agreement: ${results.length} pairs (${Object.keys(policies).length} policies × ${images.size} images), ${passes} admitted, ${disagreements.length} disagreements`);
  }, 900_000);
});
