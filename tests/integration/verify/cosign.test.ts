/**
 * `signet verify` (and lib/verify) against images signed by real cosign in a real docker-registry:
 * classic and v3 bundle signatures, several signers with any-of / all-of / 2-of-3, SLSA provenance
 * attestations, and every way a signature must fail, each with its reason.
 */
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verify } from "@/cli/commands/verify";
import { publicKeyFingerprint } from "@/lib/policy/compile";
import { RegistryClient } from "@/lib/registry/client";
import { parseImageReference } from "@/lib/registry/reference";
import { compilePolicyFile, loadTrustRoots, verifyImage, type ImageVerification } from "@/lib/verify";
import { registryTools, startRegistry, uploadBlob, putManifest, type TestRegistry } from "@/tests/support/registry";
import { cosignAttest, cosignSign, createCosignWorkspace, generateExtraKey, pushRandomImage, type CosignWorkspace } from "@/tests/support/registry-cosign";
import { signatureConfig } from "@/tests/support/registry-fixtures";
import { randomDigest } from "@/tests/support/sigstore-fixtures";
import { keylessSignatureLayer, makeLeaf, makePrivateSigstore } from "@/tests/support/sigstore-pki";
import { craneCopy, getBlob, getManifest, keyAuthority, policyDoc, pushSigManifest, runInProcess, signetBinary } from "./helpers";

const execFileP = promisify(execFile);
const SLSA_V02 = "https://slsa.dev/provenance/v0.2";
const COSIGN_SIGN = "https://sigstore.dev/cosign/sign/v1";

describe("signet verify with real cosign signatures", () => {
  let reg: TestRegistry;
  let ws: CosignWorkspace;
  let client: RegistryClient;
  const pub: Record<"a" | "b" | "c", string> = { a: "", b: "", c: "" };
  const pubPath: Record<"a" | "b" | "c", string> = { a: "", b: "", c: "" };
  const d: Record<string, string> = {};
  const sigstore = makePrivateSigstore();
  let privateRoot: string;
  let policyDir: string;
  const at = (name: string) => `${reg.host}/v/${name}@${d[name]}`;

  /** cosign attest --type slsaprovenance with a predicate whose builder.id is `builder`. */
  async function attestWithBuilder(ref: string, builder: string): Promise<void> {
    const pred = path.join(ws.dir, `pred-${builder.replace(/\W/g, "_")}.json`);
    await fs.writeFile(pred, JSON.stringify({ builder: { id: builder }, buildType: "https://signet.test/build/v1", invocation: {}, materials: [] }));
    const args = ["attest", "--key", ws.key, "--type", "slsaprovenance", "--predicate", pred, "--new-bundle-format=false", "--use-signing-config=false", "--tlog-upload=false", "--allow-http-registry", "--yes", ref];
    await execFileP(registryTools().cosign, args, { cwd: ws.dir, env: { ...process.env, ...ws.env } });
  }

  beforeAll(async () => {
    [reg, ws] = await Promise.all([startRegistry(), createCosignWorkspace()]);
    policyDir = path.join(ws.dir, "policies");
    await fs.mkdir(policyDir);
    const [keyB, keyC] = await Promise.all([generateExtraKey(ws, "b"), generateExtraKey(ws, "c")]);
    pubPath.a = ws.pub;
    pubPath.b = path.join(path.dirname(keyB), "cosign.pub");
    pubPath.c = path.join(path.dirname(keyC), "cosign.pub");
    for (const k of ["a", "b", "c"] as const) pub[k] = await fs.readFile(pubPath[k], "utf8");
    const push = async (name: string, tag = "v1") => (d[name] = await pushRandomImage(ws, reg.host, `v/${name}`, tag));
    await Promise.all([
      (async () => {
        await push("classic");
        await cosignSign(ws, at("classic"), { bundle: false });
        // Another image of the same repository, and one of another repository, carrying a copy of classic's .sig.
        d.other = await pushRandomImage(ws, reg.host, "v/classic", "other");
        await push("foreign");
        const sig = `${reg.host}/v/classic:sha256-${d.classic!.slice(7)}.sig`;
        await craneCopy(sig, `${reg.host}/v/classic:sha256-${d.other.slice(7)}.sig`);
        await craneCopy(sig, `${reg.host}/v/foreign:sha256-${d.foreign!.slice(7)}.sig`);
      })(),
      (async () => {
        await push("bundle");
        await cosignSign(ws, at("bundle"), { bundle: true });
      })(),
      (async () => {
        await push("three");
        for (const key of [ws.key, keyB, keyC]) await cosignSign(ws, at("three"), { bundle: false, key });
      })(),
      (async () => {
        await push("two");
        for (const key of [ws.key, keyB]) await cosignSign(ws, at("two"), { bundle: false, key });
      })(),
      (async () => {
        await push("prov");
        await cosignSign(ws, at("prov"), { bundle: false });
        await cosignAttest(ws, at("prov"), { bundle: false });
      })(),
      (async () => {
        await push("prov3");
        await cosignSign(ws, at("prov3"), { bundle: true });
        await cosignAttest(ws, at("prov3"), { bundle: true });
      })(),
      (async () => {
        await push("provwrong");
        await cosignSign(ws, at("provwrong"), { bundle: false });
        await attestWithBuilder(at("provwrong"), "https://evil.test/builder");
      })(),
      (async () => {
        // Signed by cosign, then the payload is changed (one byte) and re-pushed under the same signature.
        await push("tampered");
        await cosignSign(ws, at("tampered"), { bundle: false });
        const tag = `sha256-${d.tampered!.slice(7)}.sig`;
        const manifest = await getManifest(reg.url, "v/tampered", tag);
        const layer = manifest.layers[0];
        const payload = await getBlob(reg.url, "v/tampered", layer.digest);
        const changed = Buffer.from(payload.toString("utf8").replace('"optional":null', '"optional":{"x":"y"}'));
        expect(changed.equals(payload)).toBe(false);
        const layerDigest = await uploadBlob(reg.url, "v/tampered", changed);
        const config = signatureConfig([layerDigest]);
        const configDigest = await uploadBlob(reg.url, "v/tampered", config);
        manifest.config = { ...manifest.config, size: config.length, digest: configDigest };
        manifest.layers = [{ ...layer, size: changed.length, digest: layerDigest }];
        await putManifest(reg.url, "v/tampered", tag, Buffer.from(JSON.stringify(manifest)), "application/vnd.oci.image.manifest.v1+json");
      })(),
      push("unsigned"),
    ]);

    // A private Sigstore deployment (keyless): valid, expired at integrated time, tampered Rekor entry.
    privateRoot = path.join(ws.dir, "acme-private.json");
    await fs.writeFile(privateRoot, sigstore.trustedRootJson);
    const T = new Date(Date.now() - 3600_000);
    const t = Math.floor(T.getTime() / 1000);
    const leaf = (notAfter: Date) =>
      makeLeaf({ ca: sigstore.ca, ctlog: sigstore.ctlog, notBefore: new Date(T.getTime() - 60_000), notAfter, identity: { email: "release@acme.test" }, issuerV2: "https://issuer.acme.test" });
    const good = leaf(new Date(T.getTime() + 540_000));
    const expired = leaf(new Date(T.getTime() - 30_000));
    for (const name of ["kl-good", "kl-expired", "kl-rekor"]) d[name] = randomDigest();
    const tamperedRekor = keylessSignatureLayer({ sigstore, leaf: good, imageDigest: d["kl-rekor"]!, integratedTime: t });
    const rb = JSON.parse(tamperedRekor.annotations["dev.sigstore.cosign/bundle"]!);
    rb.Payload.logIndex += 1; // the SET no longer covers what the annotation says
    tamperedRekor.annotations["dev.sigstore.cosign/bundle"] = JSON.stringify(rb);
    await Promise.all([
      pushSigManifest(reg.url, "v/kl-good", d["kl-good"]!, [keylessSignatureLayer({ sigstore, leaf: good, imageDigest: d["kl-good"]!, integratedTime: t })]),
      pushSigManifest(reg.url, "v/kl-expired", d["kl-expired"]!, [keylessSignatureLayer({ sigstore, leaf: expired, imageDigest: d["kl-expired"]!, integratedTime: t })]),
      pushSigManifest(reg.url, "v/kl-rekor", d["kl-rekor"]!, [tamperedRekor]),
    ]);
    client = new RegistryClient({ registries: [{ host: reg.host, insecure: true }] });
  });

  afterAll(async () => {
    await client?.close();
    await ws?.cleanup();
    await reg?.stop();
  });

  const writePolicy = async (name: string, text: string) => {
    const file = path.join(policyDir, `${name}.yaml`);
    await fs.writeFile(file, text);
    return file;
  };
  const keyPolicy = (name: string, authorities: string, require = "signatures: { anyOf: [a] }", extra = "") =>
    policyDoc(name, `requireTlog: false\nauthorities: [ ${authorities} ]\nrequire: { ${require} }${extra ? `\n${extra}` : ""}`);

  async function check(name: string, policyText: string, trustedRoots: string[] = []): Promise<ImageVerification> {
    return verifyImage({ client, reference: parseImageReference(at(name)), policies: compilePolicyFile(policyText), trust: await loadTrustRoots(trustedRoots) });
  }
  const codes = (r: ImageVerification, i = 0) => [...new Set(r.policies[i]!.verdict.reasons.map((x) => x.code))];
  const evidenceCodes = (r: ImageVerification) => [...new Set(r.evidence.flatMap((e) => e.reasons.map((x) => x.code)))];

  it("verifies a classic cosign signature through the signet binary (tag resolved), printing the signer", async () => {
    const file = await writePolicy("classic", keyPolicy("release", keyAuthority("a", pub.a)));
    const r = await signetBinary(["verify", `${reg.host}/v/classic:v1`, "--policy", file, "--insecure-registry", reg.host]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain(`image: ${reg.host}/v/classic:v1@${d.classic}`);
    expect(r.stdout).toContain("verdict: verified");
    expect(r.stdout).toContain("policy release (audit): verified");
    expect(r.stdout).toContain(`signed by key ${publicKeyFingerprint(pub.a)} (release/a)`);
    expect(r.stdout).toContain("rekor: no entry");
  });

  it("verifies a cosign v3 Sigstore bundle (OCI referrer) and reports it as a signature", async () => {
    const r = await check("bundle", keyPolicy("v3", keyAuthority("a", pub.a)));
    expect(r.verdict).toBe("verified");
    const used = r.evidence.filter((e) => r.policies[0]!.verdict.evidenceIds.includes(e.id));
    expect(used.map((e) => [e.kind, e.format, e.predicateType, e.status])).toEqual([["bundle", "sigstore-bundle", COSIGN_SIGN, "valid"]]);
    expect(used[0]!.signer).toMatchObject({ kind: "key", fingerprints: [publicKeyFingerprint(pub.a)] });
    // The same bundle does not verify with another key.
    const wrong = await check("bundle", keyPolicy("v3", keyAuthority("a", pub.b)));
    expect(wrong.verdict).toBe("failed");
    expect(codes(wrong)).toEqual(expect.arrayContaining(["signature", "requirement-not-met"]));
    expect(evidenceCodes(wrong)).toEqual(expect.arrayContaining(["signature", "no-matching-key"]));
  });

  it("counts distinct signers: any-of, all-of and 2-of-3 over two and three cosign signatures", async () => {
    const authorities = [keyAuthority("a", pub.a), keyAuthority("b", pub.b), keyAuthority("c", pub.c)].join(", ");
    const file = await writePolicy(
      "multi",
      [
        keyPolicy("any", authorities, "signatures: { anyOf: [a, b, c] }"),
        keyPolicy("all", authorities, "signatures: { allOf: [a, b, c] }"),
        keyPolicy("two-of-three", authorities, "signatures: { atLeast: 2, of: [a, b, c] }"),
      ].join(""),
    );
    const three = await runInProcess(verify, [at("three"), "--policy", file, "--insecure-registry", reg.host, "--json"]);
    expect(three.code).toBe(0);
    const json = JSON.parse(three.stdout) as ImageVerification;
    expect(json.policies.map((p) => [p.policy, p.verdict.value, p.verdict.satisfiedBy.sort()])).toEqual([
      ["any", "verified", ["a", "b", "c"]],
      ["all", "verified", ["a", "b", "c"]],
      ["two-of-three", "verified", ["a", "b", "c"]],
    ]);
    expect(json.evidence).toHaveLength(3);

    const two = await runInProcess(verify, [at("two"), "--policy", file, "--insecure-registry", reg.host, "--json"]);
    expect(two.code).toBe(1);
    const twoJson = JSON.parse(two.stdout) as ImageVerification;
    expect(twoJson.verdict).toBe("failed");
    expect(twoJson.policies.map((p) => [p.policy, p.verdict.value])).toEqual([["any", "verified"], ["all", "failed"], ["two-of-three", "verified"]]);
    expect(twoJson.policies[1]!.verdict.reasons.map((x) => x.code)).toContain("requirement-not-met");

    const one = await check("classic", await fs.readFile(file, "utf8"));
    expect(one.policies.map((p) => p.verdict.value)).toEqual(["verified", "failed", "failed"]);
    expect(codes(one, 2)).toContain("requirement-not-met");
  });

  it("votes are distinct signers: one key under two names, a rotation's old and new key, overlapping keyless identities", async () => {
    // one key under two names: one vote, whatever the number of cosign signatures
    const sameKey = keyPolicy("same-key", [keyAuthority("a", pub.a), keyAuthority("a-again", pub.a)].join(", "), "signatures: { atLeast: 2, of: [a, a-again] }");
    for (const image of ["classic", "two", "three"]) {
      const r = await check(image, sameKey);
      expect(r.policies[0]!.verdict.value, image).toBe("failed");
      expect(r.policies[0]!.verdict.reasons.find((x) => x.code === "requirement-not-met")?.message).toMatch(/1 distinct signer/);
    }
    // A + B: two votes
    const ab = await check("two", keyPolicy("a-and-b", [keyAuthority("a", pub.a), keyAuthority("b", pub.b)].join(", "), "signatures: { atLeast: 2, of: [a, b] }"));
    expect(ab.policies[0]!.verdict.value).toBe("verified");
    // a rotating authority holds the old (A) and new (B) key: either counts, once
    const rotating = keyPolicy(
      "rotating",
      `{ name: team, keys: [ { pem: ${JSON.stringify(pub.a)} }, { pem: ${JSON.stringify(pub.b)} } ] }, ${keyAuthority("qa", pub.c)}`,
      "signatures: { atLeast: 2, of: [team, qa] }",
    );
    expect((await check("two", rotating)).policies[0]!.verdict.value).toBe("failed"); // A and B: one team
    expect((await check("three", rotating)).policies[0]!.verdict.value).toBe("verified"); // team + qa

    // keyless under a custom root: "org" (any acme.test identity) overlaps "release" (one identity)
    const T = Math.floor(Date.now() / 1000) - 3600;
    const leaf = (email: string) =>
      makeLeaf({ ca: sigstore.ca, ctlog: sigstore.ctlog, notBefore: new Date((T - 60) * 1000), notAfter: new Date((T + 540) * 1000), identity: { email }, issuerV2: "https://issuer.acme.test" });
    for (const name of ["kl-one", "kl-same-identity", "kl-two-identities"]) d[name] = randomDigest();
    const layer = (name: string, email: string, logIndex: number) => keylessSignatureLayer({ sigstore, leaf: leaf(email), imageDigest: d[name]!, integratedTime: T, logIndex });
    await pushSigManifest(reg.url, "v/kl-one", d["kl-one"]!, [layer("kl-one", "release@acme.test", 11)]);
    await pushSigManifest(reg.url, "v/kl-same-identity", d["kl-same-identity"]!, [layer("kl-same-identity", "release@acme.test", 12), layer("kl-same-identity", "release@acme.test", 13)]);
    await pushSigManifest(reg.url, "v/kl-two-identities", d["kl-two-identities"]!, [layer("kl-two-identities", "release@acme.test", 14), layer("kl-two-identities", "ops@acme.test", 15)]);
    const overlapping = policyDoc(
      "overlap",
      `authorities:
  - { name: org, keyless: { identities: [ { issuer: "https://issuer.acme.test", subjectRegExp: "@acme\\\\.test$" } ], trustedRoot: acme-private } }
  - { name: release, keyless: { identities: [ { issuer: "https://issuer.acme.test", subject: "release@acme.test" } ], trustedRoot: acme-private } }
require: { signatures: { allOf: [org, release] } }`,
    );
    const one = await check("kl-one", overlapping, [privateRoot]);
    expect(one.evidence.map((e) => e.status)).toEqual(["valid"]);
    expect(one.policies[0]!.verdict.value).toBe("failed");
    const same = await check("kl-same-identity", overlapping, [privateRoot]);
    expect(same.evidence.map((e) => e.status)).toEqual(["valid", "valid"]);
    expect(same.policies[0]!.verdict.value).toBe("failed"); // two certificates, one identity: one vote
    const two = await check("kl-two-identities", overlapping, [privateRoot]);
    expect(two.policies[0]!.verdict.value).toBe("verified");
    expect(two.policies[0]!.verdict.satisfiedBy.sort()).toEqual(["org", "release"]);
  });

  it("requires a SLSA provenance attestation from the right builder (classic .att and v3 bundle)", async () => {
    const provenance = (builder: string) =>
      keyPolicy("provenance", keyAuthority("a", pub.a), `signatures: { anyOf: [a] }, attestations: [ { predicateType: "${SLSA_V02}", conditions: { builderId: "${builder}" } } ]`);
    const file = await writePolicy("prov", provenance("https://signet.test/builder"));
    const ok = await runInProcess(verify, [at("prov"), "--policy", file, "--insecure-registry", reg.host]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("verdict: verified");
    expect(ok.stdout).toContain(`attestation ${SLSA_V02} [valid]`);
    expect(ok.stdout).toContain("provenance: slsaVersion=v0.2, builderId=https://signet.test/builder");
    const v3 = await check("prov3", provenance("https://signet.test/builder"));
    expect(v3.verdict).toBe("verified");
    expect(v3.evidence.find((e) => e.predicateType === SLSA_V02)).toMatchObject({ kind: "bundle", status: "valid", provenance: { builderId: "https://signet.test/builder" } });

    const wrong = await runInProcess(verify, [at("provwrong"), "--policy", file, "--insecure-registry", reg.host]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain("verdict: failed");
    expect(wrong.stdout).toMatch(/attestation-condition: https:\/\/slsa\.dev\/provenance\/v0\.2: builderId is https:\/\/evil\.test\/builder, expected https:\/\/signet\.test\/builder/);

    // Missing required attestation: the image is signed, but carries no provenance.
    const missing = await check("classic", provenance("https://signet.test/builder"));
    expect(missing.verdict).toBe("failed");
    expect(codes(missing)).toContain("predicate-type");
  });

  it("names an unknown signer's candidates by distinct key: one key trusted by three policies is one candidate", async () => {
    const three = ["release", "tools-audit", "batch"].map((n) => keyPolicy(n, keyAuthority("a", pub.b))).join("");
    const r = await check("classic", three);
    expect(r.policies.map((p) => p.verdict.value)).toEqual(["failed", "failed", "failed"]);
    const messages = (v: ImageVerification) => v.evidence.flatMap((e) => e.reasons.map((x) => `${x.code}: ${x.message}`));
    expect(messages(r)).toEqual([
      `signature: signature does not verify with the one candidate key (${publicKeyFingerprint(pub.b)})`,
      "no-matching-key: signed by an untrusted key: no candidate key verifies this signature, and the signature does not name its key",
    ]);
    const two = await check("classic", `${three}${keyPolicy("qa", keyAuthority("a", pub.c))}`);
    expect(messages(two)[0]).toBe(`signature: signature does not verify with any of 2 candidate keys (${publicKeyFingerprint(pub.b)}, ${publicKeyFingerprint(pub.c)})`);
  });

  it("fails a wrong key, a revoked authority, and signatures copied onto other images", async () => {
    const wrongKey = await check("classic", keyPolicy("wrong-key", keyAuthority("a", pub.b)));
    expect(wrongKey.verdict).toBe("failed");
    expect(codes(wrongKey)).toEqual(expect.arrayContaining(["signature", "requirement-not-met"]));
    expect(evidenceCodes(wrongKey)).toEqual(["signature", "no-matching-key"]);

    const revoked = await check("classic", keyPolicy("revoked", keyAuthority("a", pub.a, "status: revoked")));
    expect(revoked.verdict).toBe("failed");
    expect(codes(revoked)).toContain("revoked");
    expect(revoked.evidence.map((e) => e.status)).toEqual(["valid"]);

    for (const name of ["other", "foreign"]) {
      const ref = name === "other" ? `${reg.host}/v/classic@${d.other}` : at("foreign");
      const r = await runInProcess(verify, [ref, "--policy", await writePolicy("copied", keyPolicy("copied", keyAuthority("a", pub.a))), "--insecure-registry", reg.host, "--json"]);
      expect(r.code).toBe(1);
      const json = JSON.parse(r.stdout) as ImageVerification;
      expect(json.verdict).toBe("failed");
      expect(codes(json)).toContain("payload-digest");
      expect(json.evidence[0]!.reasons.map((x) => x.code)).toEqual(["payload-digest"]);
    }
  });

  it("fails a tampered payload (signature), reports unsigned (exit 1) and unresolvable tags (exit 2)", async () => {
    const file = await writePolicy("plain", keyPolicy("plain", keyAuthority("a", pub.a)));
    const tampered = await check("tampered", await fs.readFile(file, "utf8"));
    expect(tampered.verdict).toBe("failed");
    expect(codes(tampered)).toContain("signature");
    expect(evidenceCodes(tampered)).toContain("signature");

    const unsigned = await runInProcess(verify, [at("unsigned"), "--policy", file, "--insecure-registry", reg.host]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stdout).toContain("verdict: unsigned");
    const missing = await runInProcess(verify, [`${reg.host}/v/classic:nope`, "--policy", file, "--insecure-registry", reg.host]);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toContain("verdict: error");
    expect(missing.stdout).toContain("discovery: error (not-found)");
  });

  it("keyless with a custom --trusted-root: verified, expired at integrated time, tampered Rekor entry, wrong root", async () => {
    const keyless = (trustedRoot: string) =>
      policyDoc("keyless", `authorities: [ { name: ci, keyless: { identities: [ { issuer: "https://issuer.acme.test", subject: "release@acme.test" } ], trustedRoot: ${trustedRoot} } } ]`);
    const file = await writePolicy("keyless", keyless("acme-private"));
    const good = await runInProcess(verify, [at("kl-good"), "--policy", file, "--insecure-registry", reg.host, "--trusted-root", privateRoot]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain("signed by identity release@acme.test, issuer https://issuer.acme.test, trusted root acme-private");
    expect(good.stdout).toMatch(/rekor: log index 7, integrated .* on https:\/\/rekor\.signet\.test \(SET\)/);

    const expired = await check("kl-expired", keyless("acme-private"), [privateRoot]);
    expect(expired.verdict).toBe("failed");
    expect(evidenceCodes(expired)).toEqual(["cert-expired-at-integrated-time"]);
    expect(codes(expired)).toContain("cert-expired-at-integrated-time");

    const rekor = await check("kl-rekor", keyless("acme-private"), [privateRoot]);
    expect(rekor.verdict).toBe("failed");
    expect(evidenceCodes(rekor)).toEqual(["tlog-set"]);
    expect(codes(rekor)).toContain("tlog-set");

    // The certificate chains to acme-private; a policy trusting public-good must not accept it.
    const wrongRoot = await check("kl-good", keyless("public-good"), [privateRoot]);
    expect(wrongRoot.verdict).toBe("failed");
    expect(codes(wrongRoot)).toContain("issuer");
    // Without the file, the chain does not verify at all.
    const noRoot = await check("kl-good", keyless("acme-private"));
    expect(noRoot.verdict).toBe("failed");
    expect(evidenceCodes(noRoot).some((c) => c === "cert-chain" || c === "tlog")).toBe(true);
  });

  it("refuses unusable policy files and trusted roots (exit 2) and bad arguments (exit 64)", async () => {
    const bad = await writePolicy("bad", "apiVersion: signet.dev/v1\nkind: Policy\nmetadata: { name: x }\nspec: { authorities: [] }\n");
    const r1 = await runInProcess(verify, [at("classic"), "--policy", bad, "--insecure-registry", reg.host]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain("a policy needs at least one authority");
    const ref = await writePolicy("ref", policyDoc("ref", "authorities: [ { name: a, key: { ref: stored } } ]"));
    const r2 = await runInProcess(verify, [at("classic"), "--policy", ref]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('key ref "stored"');
    const root = path.join(policyDir, "broken.json");
    await fs.writeFile(root, "{}");
    const r3 = await runInProcess(verify, [at("classic"), "--policy", await writePolicy("ok", keyPolicy("ok", keyAuthority("a", pub.a))), "--trusted-root", root]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain("invalid trusted root");
    const unloaded = await writePolicy(
      "unloaded",
      policyDoc("unloaded", 'authorities: [ { name: ci, keyless: { identities: [ { issuer: "https://i", subject: "s" } ], trustedRoot: acme-privat } } ]'),
    );
    const r4 = await runInProcess(verify, [at("kl-good"), "--policy", unloaded, "--insecure-registry", reg.host, "--trusted-root", privateRoot]);
    expect(r4.code).toBe(2);
    expect(r4.stderr).toContain('authority ci: trusted root "acme-privat" is not loaded');
    for (const args of [[], [at("classic")], ["a", "b", "--policy", bad], [at("classic"), "--policy", bad, "--bogus"]]) {
      const r = await runInProcess(verify, args);
      expect(r.code).toBe(64);
      expect(r.stderr).toMatch(/^signet verify: /);
    }
  });
});
