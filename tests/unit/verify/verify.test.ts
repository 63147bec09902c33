/**
 * lib/verify without a registry: policy files, trusted-root names, scope by image, candidate keys, the
 * evaluation of discovered artifacts (including after a discovery error), overall verdicts and exit codes.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DiscoveryResult, ImageAt } from "@/lib/evidence/types";
import { publicKeyFingerprint } from "@/lib/policy/compile";
import { PUBLIC_GOOD_ID, TrustRootError } from "@/lib/sigstore";
import {
  appliesToImage,
  candidateKeys,
  compilePolicyFile,
  evaluateDiscovered,
  exitCodeOf,
  loadTrustRoots,
  missingTrustedRoots,
  PolicyFileError,
  trustedRootSpec,
  verifyBundle,
} from "@/lib/verify";
import { toEvidenceFact } from "@/lib/scan/facts";
import { loadPublicGoodTrustRoot } from "@/lib/sigstore/trusted-root";
import { classicLayer, makeKey, randomDigest, tagArtifact } from "@/tests/support/sigstore-fixtures";
import { cloneArtifacts, editJsonContent } from "@/tests/support/sigstore-mutate";
import { makePrivateSigstore } from "@/tests/support/sigstore-pki";
import { loadCase, vectorsAvailable } from "@/tests/support/sigstore-vectors";

const key = makeKey("p256");
const other = makeKey("p256");
const doc = (name: string, spec: string) => `---\napiVersion: signet.dev/v1\nkind: Policy\nmetadata: { name: ${name} }\nspec: ${spec}\n`;
const keyPolicy = (name: string, pem: string, extra = "") =>
  doc(name, `{ requireTlog: false, authorities: [ { name: k, key: { pem: ${JSON.stringify(pem)} } } ]${extra} }`);
const NOW = new Date("2026-11-25T00:00:00Z");

describe("policy files", () => {
  it("compiles every document, with key fingerprints", () => {
    const policies = compilePolicyFile(keyPolicy("one", key.pem) + keyPolicy("two", other.pem, ", scope: { images: ['ghcr.io/acme/**'] }"));
    expect(policies.map((p) => [p.name, p.keys.find((k) => k.authority === "k")?.fingerprint])).toEqual([
      ["one", publicKeyFingerprint(key.pem)],
      ["two", publicKeyFingerprint(other.pem)],
    ]);
    expect(candidateKeys(policies)).toEqual([
      { keyId: "one/k", pem: key.pem },
      { keyId: "two/k", pem: other.pem },
    ]);
  });

  it("refuses invalid documents, duplicate names and stored-key references", () => {
    expect(() => compilePolicyFile("kind: Policy", "p.yaml")).toThrow(PolicyFileError);
    expect(() => compilePolicyFile(keyPolicy("same", key.pem) + keyPolicy("same", other.pem))).toThrow(/two documents are named "same"/);
    expect(() => compilePolicyFile(doc("ref", "{ authorities: [ { name: k, key: { ref: prod } } ] }"))).toThrow(/key ref "prod"/);
    expect(() => compilePolicyFile(doc("bad", '{ authorities: [ { name: k, key: { pem: "-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----" } } ] }'))).toThrow(/cannot be parsed/);
  });

  it("applies by scope.images only (registry/repository or the reference as given)", () => {
    const [all, acme, tagged] = compilePolicyFile(
      keyPolicy("all", key.pem) + keyPolicy("acme", key.pem, ", scope: { images: ['ghcr.io/acme/**'], namespaces: [prod] }") + keyPolicy("tagged", key.pem, ", scope: { images: ['ghcr.io/acme/app:v*'] }"),
    );
    expect(appliesToImage(all!, "index.docker.io/library/nginx")).toBe(true);
    expect(appliesToImage(acme!, "ghcr.io/acme/app")).toBe(true); // namespaces are not known here and do not restrict
    expect(appliesToImage(acme!, "ghcr.io/other/app")).toBe(false);
    expect(appliesToImage(tagged!, "ghcr.io/acme/app", "ghcr.io/acme/app:v1")).toBe(true);
    expect(appliesToImage(tagged!, "ghcr.io/acme/app", "ghcr.io/acme/app:latest")).toBe(false);
  });
});

describe("trusted roots", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-verify-unit-"));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("names a root after its file, or NAME=FILE", () => {
    expect(trustedRootSpec("/etc/sigstore/staging.json")).toEqual({ name: "staging", file: "/etc/sigstore/staging.json" });
    expect(trustedRootSpec("acme=/etc/sigstore/trusted_root.json")).toEqual({ name: "acme", file: "/etc/sigstore/trusted_root.json" });
    expect(trustedRootSpec("./trusted_root.json")).toEqual({ name: "trusted_root", file: "./trusted_root.json" });
    expect(() => trustedRootSpec("/tmp/.json")).toThrow(TrustRootError);
  });

  it("adds custom roots to the public-good seed; public-good=FILE replaces it; duplicates and bad files are refused", async () => {
    const file = path.join(dir, "acme.json");
    await fs.writeFile(file, makePrivateSigstore().trustedRootJson);
    expect((await loadTrustRoots([])).map((r) => r.id)).toEqual([PUBLIC_GOOD_ID]);
    expect((await loadTrustRoots([file])).map((r) => [r.id, r.source])).toEqual([[PUBLIC_GOOD_ID, "seed"], ["acme", "file"]]);
    expect((await loadTrustRoots([`public-good=${file}`])).map((r) => [r.id, r.source])).toEqual([[PUBLIC_GOOD_ID, "file"]]);
    await expect(loadTrustRoots([file, `acme=${file}`])).rejects.toThrow(/two trusted roots are named "acme"/);
    const keyless = compilePolicyFile(doc("kl", '{ authorities: [ { name: ci, keyless: { identities: [ { issuer: i, subject: s } ], trustedRoot: acme } }, { name: pg, keyless: { identities: [ { issuer: i, subject: s } ] } } ] }'));
    expect(missingTrustedRoots(keyless, await loadTrustRoots([file]))).toEqual([]);
    expect(missingTrustedRoots(keyless, await loadTrustRoots([]))).toEqual([
      'policy kl, authority ci: trusted root "acme" is not loaded (add --trusted-root acme=FILE)',
    ]);
    await expect(loadTrustRoots([path.join(dir, "missing.json")])).rejects.toThrow(/cannot read/);
    const broken = path.join(dir, "broken.json");
    await fs.writeFile(broken, '{"mediaType":"nope"}');
    await expect(loadTrustRoots([broken])).rejects.toThrow(/invalid trusted root/);
  });
});

describe("evaluateDiscovered", () => {
  const image = (): ImageAt => ({ registry: "registry.local", repository: "team/app", digest: randomDigest() });
  const policies = compilePolicyFile(keyPolicy("release", key.pem) + doc("two", `{ requireTlog: false, authorities: [ { name: a, key: { pem: ${JSON.stringify(key.pem)} } }, { name: b, key: { pem: ${JSON.stringify(other.pem)} } } ], require: { signatures: { allOf: [a, b] } } }`));
  const signed = (img: ImageAt, ...keys: Array<typeof key>) => tagArtifact(img.digest, "sig", keys.map((k) => classicLayer(img.digest, k)));

  it("verifies each artifact once with every policy's keys and evaluates each policy", () => {
    const img = image();
    const discovery: DiscoveryResult = { outcome: "found", image: img, artifacts: [signed(img, key)], manifestDigests: [] };
    const r = evaluateDiscovered({ image: img, discovery, policies, trust: [], now: NOW });
    expect(r.evidence.map((e) => [e.status, e.matchedKeys.map((k) => k.keyIds).flat()])).toEqual([["valid", ["release/k", "two/a"]]]);
    expect(r.policies.map((p) => [p.policy, p.verdict.value])).toEqual([["release", "verified"], ["two", "failed"]]);
  });

  it("after a discovery error: partial evidence may verify, never fail or mark unsigned", () => {
    const img = image();
    const partial: DiscoveryResult = { outcome: "error", image: img, code: "timeout", reason: "slow", partial: [signed(img, key)] };
    const r = evaluateDiscovered({ image: img, discovery: partial, policies, trust: [], now: NOW });
    expect(r.policies.map((p) => p.verdict.value)).toEqual(["verified", "error"]);
    expect(r.policies[1]!.verdict.reasons[0]).toMatchObject({ code: "discovery-error", message: "timeout: slow" });
    const empty = evaluateDiscovered({ image: img, discovery: { ...partial, partial: [] }, policies, trust: [], now: NOW });
    expect(empty.policies.map((p) => p.verdict.value)).toEqual(["error", "error"]);
    const none = evaluateDiscovered({ image: img, discovery: { outcome: "none", image: img, checked: [] }, policies, trust: [], now: NOW });
    expect(none.evidence).toEqual([]);
    expect(none.policies.map((p) => p.verdict.value)).toEqual(["unsigned", "unsigned"]);
  });

  it("a signature for another digest or by an unknown key never verifies", () => {
    const img = image();
    const elsewhere = image();
    const copied: DiscoveryResult = { outcome: "found", image: img, artifacts: [signed(elsewhere, key)], manifestDigests: [] };
    const r = evaluateDiscovered({ image: img, discovery: copied, policies, trust: [], now: NOW });
    expect(r.policies[0]!.verdict.value).toBe("failed");
    expect(r.evidence[0]!.reasons.map((x) => x.code)).toEqual(["payload-digest"]);
    const stranger = evaluateDiscovered({ image: img, discovery: { outcome: "found", image: img, artifacts: [signed(img, makeKey("p256"))], manifestDigests: [] }, policies, trust: [], now: NOW });
    expect(stranger.policies.map((p) => p.verdict.value)).toEqual(["failed", "failed"]);
  });

  it("exit codes: 0 only for verified", () => {
    expect(["verified", "failed", "unsigned", "unmatched", "error"].map((v) => exitCodeOf(v as never))).toEqual([0, 1, 1, 1, 2]);
  });
});

describe.skipIf(!vectorsAvailable())("signing time of a transparency-log entry (real public-good bundle)", () => {
  // tobby-bundle-referrers: key-signed cosign v3 bundle, Rekor entry with SET and inclusion proof, logged 2026-08-12
  const c = () => loadCase("tobby-bundle-referrers");
  /**
   * The same bundle with its SET removed and integratedTime moved back to 2025-01-01 (or "0", as Rekor v2
   * entries carry it: no SET, no time); `tsa: false` drops the RFC 3161 timestamp too.
   */
  const backdated = (tsa: boolean, integratedTime = String(Date.parse("2025-01-01T00:00:00Z") / 1000)) => {
    const artifacts = cloneArtifacts(c().artifacts);
    const layer = artifacts.flatMap((a) => a.layers).find((l) => l.mediaType.startsWith("application/vnd.dev.sigstore.bundle"))!;
    editJsonContent(layer, (j) => {
      const entry = j.verificationMaterial.tlogEntries[0];
      delete entry.inclusionPromise;
      entry.integratedTime = integratedTime;
      if (!tsa) delete j.verificationMaterial.timestampVerificationData;
    });
    return artifacts;
  };
  // the key was rotated out on 2025-06-01: a signature made later must not count
  const rotatedOut = () =>
    compilePolicyFile(doc("rotated", `{ requireTlog: true, authorities: [ { name: old, validUntil: "2025-06-01T00:00:00Z", key: { pem: ${JSON.stringify(c().keyPem)} } } ] }`));
  const run = (artifacts: ReturnType<typeof backdated>) =>
    evaluateDiscovered({ image: c().image, discovery: { outcome: "found", image: c().image, artifacts, manifestDigests: [] }, policies: rotatedOut(), trust: [loadPublicGoodTrustRoot()], now: NOW });

  it("control: the genuine entry (SET-signed time 2026-08-12) is outside the rotated-out key's validity", () => {
    const r = run(cloneArtifacts(c().artifacts));
    expect(r.evidence.map((e) => e.status)).toEqual(["valid"]);
    expect(r.policies[0]!.verdict.value).toBe("failed");
    expect(r.policies[0]!.verdict.reasons.map((x) => x.code)).toContain("outside-validity");
  });

  it("an integratedTime no SET signs is not a signing time: a backdated entry with only its inclusion proof never makes a rotated-out key count", () => {
    for (const [tsa, time] of [[false, undefined], [true, undefined], [false, "0"], [true, "0"]] as const) {
      const r = run(backdated(tsa, time));
      // the inclusion proof still verifies (the body is in the log), so the evidence is valid with a log entry …
      expect(r.evidence[0]).toMatchObject({ status: "valid", tlog: { verifiedSet: false, verifiedInclusionProof: true } });
      // … but its integratedTime is the bundle writer's claim, not the log's
      expect(r.policies[0]!.verdict.value).toBe("failed");
      expect(toEvidenceFact(r.evidence[0]!).tlog).toEqual({ logIndex: c().expected.rekor!.logIndex, integratedTime: null });
      expect(r.policies[0]!.verdict.reasons.find((x) => x.code === "outside-validity")?.message).toMatch(tsa ? /signed at 2026-08-12T20:53:28/ : /signed at 2026-11-25T00:00:00/);
    }
  });
});

describe("verifyBundle input checks", () => {
  it("refuses a malformed artifact digest and an unparseable bundle", () => {
    const base = { policy: { key: key.pem }, trust: [] };
    expect(verifyBundle({ ...base, bundle: Buffer.from("{}"), artifact: { kind: "digest", digest: "sha256:xyz" } }).reasons).toEqual([
      { code: "malformed", message: "artifact digest is not sha256:<64 hex>" },
    ]);
    const r = verifyBundle({ ...base, bundle: Buffer.from("not json"), artifact: { kind: "digest", digest: randomDigest() } });
    expect(r.ok).toBe(false);
    expect(r.reasons.map((x) => x.code)).toEqual(["malformed"]);
  });
});
