/**
 * `signet verify-bundle`: the tobby-bundle-referrers vector's bundle (cosign v3, key + Rekor + TSA, DSSE),
 * real `cosign sign-blob` / `attest-blob --bundle` output for a file, and a keyless v0.1 bundle from a
 * private Sigstore deployment; each positive, and negative with its reason.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync, sign as cryptoSign } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyBundleCommand } from "@/cli/commands/verify-bundle";
import type { BundleVerification } from "@/lib/verify";
import { registryTools } from "@/tests/support/registry";
import { createCosignWorkspace, generateExtraKey, type CosignWorkspace } from "@/tests/support/registry-cosign";
import { hashedRekordBody, rekorBundleAnnotation, sha256Hex, signBytes } from "@/tests/support/sigstore-fixtures";
import { makeLeaf, makePrivateSigstore } from "@/tests/support/sigstore-pki";
import { loadCase, vectorsAvailable } from "@/tests/support/sigstore-vectors";
import { runInProcess, signetBinary } from "./helpers";

const execFileP = promisify(execFile);
const run = (args: string[]) => runInProcess(verifyBundleCommand, args);
const json = (stdout: string) => JSON.parse(stdout) as BundleVerification;
const codes = (stdout: string) => json(stdout).reasons.map((r) => r.code);

describe("signet verify-bundle", () => {
  let ws: CosignWorkspace;
  let otherPub: string;
  let file: string;
  let otherFile: string;
  let fileDigest: string;
  let blobBundle: string;
  let attestBundle: string;
  const sigstore = makePrivateSigstore();
  let privateRoot: string;
  let keylessBundle: string;

  beforeAll(async () => {
    ws = await createCosignWorkspace();
    otherPub = path.join(path.dirname(await generateExtraKey(ws, "other")), "cosign.pub");
    file = path.join(ws.dir, "release.tar");
    otherFile = path.join(ws.dir, "other.tar");
    await fs.writeFile(file, "signet release artifact\n");
    await fs.writeFile(otherFile, "something else\n");
    fileDigest = `sha256:${sha256Hex(await fs.readFile(file))}`;
    blobBundle = path.join(ws.dir, "blob.sigstore.json");
    attestBundle = path.join(ws.dir, "attest.sigstore.json");
    const pred = path.join(ws.dir, "pred.json");
    await fs.writeFile(pred, JSON.stringify({ builder: { id: "https://signet.test/builder" } }));
    const offline = ["--tlog-upload=false", "--use-signing-config=false", "--new-bundle-format=true"];
    const env = { ...process.env, ...ws.env };
    await Promise.all([
      execFileP(registryTools().cosign, ["sign-blob", "--key", ws.key, "--bundle", blobBundle, ...offline, file], { cwd: ws.dir, env }),
      execFileP(registryTools().cosign, ["attest-blob", "--key", ws.key, "--type", "slsaprovenance", "--predicate", pred, "--bundle", attestBundle, ...offline, file], { cwd: ws.dir, env }),
    ]);

    // Keyless v0.1 bundle (certificate + Rekor SET) for `file`, signed in a private deployment.
    privateRoot = path.join(ws.dir, "acme.json");
    await fs.writeFile(privateRoot, sigstore.trustedRootJson);
    const T = new Date(Date.now() - 3600_000);
    const leaf = makeLeaf({ ca: sigstore.ca, ctlog: sigstore.ctlog, notBefore: new Date(T.getTime() - 60_000), notAfter: new Date(T.getTime() + 540_000), identity: { email: "release@acme.test" }, issuerV2: "https://issuer.acme.test" });
    const bytes = await fs.readFile(file);
    const signature = signBytes(leaf.key, bytes);
    const rekor = JSON.parse(rekorBundleAnnotation({ body: hashedRekordBody(bytes, signature, leaf.pem), integratedTime: Math.floor(T.getTime() / 1000), logIndex: 42, log: sigstore.rekor }));
    keylessBundle = path.join(ws.dir, "keyless.sigstore.json");
    await fs.writeFile(
      keylessBundle,
      JSON.stringify({
        mediaType: "application/vnd.dev.sigstore.bundle+json;version=0.1",
        verificationMaterial: {
          x509CertificateChain: { certificates: [{ rawBytes: leaf.der.toString("base64") }] },
          tlogEntries: [
            {
              logIndex: "42",
              logId: { keyId: Buffer.from(sigstore.rekor.logIdHex, "hex").toString("base64") },
              kindVersion: { kind: "hashedrekord", version: "0.0.1" },
              integratedTime: String(rekor.Payload.integratedTime),
              inclusionPromise: { signedEntryTimestamp: rekor.SignedEntryTimestamp },
              canonicalizedBody: rekor.Payload.body,
            },
          ],
        },
        messageSignature: { messageDigest: { algorithm: "SHA2_256", digest: Buffer.from(sha256Hex(bytes), "hex").toString("base64") }, signature: signature.toString("base64") },
      }),
    );
  });
  afterAll(async () => {
    await ws?.cleanup();
  });

  it.runIf(vectorsAvailable())("tobby-bundle-referrers (DSSE, key + Rekor + TSA): verifies for its image digest only", async () => {
    const c = loadCase("tobby-bundle-referrers");
    const bundleLayer = c.artifacts[0]!.layers.find((l) => l.mediaType.startsWith("application/vnd.dev.sigstore.bundle"))!;
    const bundle = path.join(c.dir, "blobs/sha256", bundleLayer.digest.slice("sha256:".length));
    const key = path.join(c.dir, "key.pub");
    const ok = await signetBinary(["verify-bundle", "--bundle", bundle, "--key", key, "--require-tlog", c.index.digest]);
    expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: "" });
    expect(ok.stdout).toContain("result: verified");
    expect(ok.stdout).toContain(`rekor: log index ${c.expected.rekor!.logIndex}`);
    expect(ok.stdout).toContain("statement: https://sigstore.dev/cosign/sign/v1");

    const otherDigest = await run(["--bundle", bundle, "--key", key, "--json", `sha256:${"0".repeat(64)}`]);
    expect(otherDigest.code).toBe(1);
    expect(codes(otherDigest.stdout)).toEqual(["dsse-subject"]);
    const wrongKey = await run(["--bundle", bundle, "--key", otherPub, "--json", c.index.digest]);
    expect(wrongKey.code).toBe(1);
    expect(codes(wrongKey.stdout)).toContain("signature");
    const keyless = await run(["--bundle", bundle, "--certificate-identity", "x@y", "--certificate-oidc-issuer", "https://x", "--json", c.index.digest]);
    expect(keyless.code).toBe(1);
    expect(codes(keyless.stdout)).toContain("no-matching-key");

    // One flipped bit in the DSSE signature.
    const tampered = JSON.parse(await fs.readFile(bundle, "utf8"));
    const sig = Buffer.from(tampered.dsseEnvelope.signatures[0].sig, "base64");
    sig[sig.length - 1]! ^= 1;
    tampered.dsseEnvelope.signatures[0].sig = sig.toString("base64");
    const tamperedFile = path.join(ws.dir, "tampered-tobby.json");
    await fs.writeFile(tamperedFile, JSON.stringify(tampered));
    const bad = await run(["--bundle", tamperedFile, "--key", key, "--json", c.index.digest]);
    expect(bad.code).toBe(1);
    expect(json(bad.stdout).ok).toBe(false);
    expect(codes(bad.stdout)).toContain("signature");
  });

  it("cosign sign-blob --bundle (message signature, no tlog): the file verifies, anything else does not", async () => {
    const ok = await run(["--bundle", blobBundle, "--key", ws.pub, file]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`artifact: ${file} (${fileDigest})`);
    expect(ok.stdout).toContain("message-signature");
    expect(ok.stdout).toContain("result: verified");

    const other = await run(["--bundle", blobBundle, "--key", ws.pub, "--json", otherFile]);
    expect(other.code).toBe(1);
    expect(codes(other.stdout)).toEqual(expect.arrayContaining(["artifact-digest", "signature"]));
    const wrongKey = await run(["--bundle", blobBundle, "--key", otherPub, "--json", file]);
    expect(wrongKey.code).toBe(1);
    expect(codes(wrongKey.stdout)).toEqual(["signature", "no-matching-key"]);
    const tlog = await run(["--bundle", blobBundle, "--key", ws.pub, "--require-tlog", "--json", file]);
    expect(tlog.code).toBe(1);
    expect(codes(tlog.stdout)).toEqual(["tlog-missing"]);
    // The bundle's digest edited to the other file's: the signature still covers the original bytes.
    const edited = JSON.parse(await fs.readFile(blobBundle, "utf8"));
    edited.messageSignature.messageDigest.digest = Buffer.from(sha256Hex(await fs.readFile(otherFile)), "hex").toString("base64");
    const editedFile = path.join(ws.dir, "edited.json");
    await fs.writeFile(editedFile, JSON.stringify(edited));
    const editedRun = await run(["--bundle", editedFile, "--key", ws.pub, "--json", otherFile]);
    expect(editedRun.code).toBe(1);
    expect(codes(editedRun.stdout)).toContain("signature");
  });

  it("a message signature verifies from the artifact's sha256 digest (ECDSA signs the SHA-256 digest itself)", async () => {
    const digestOnly = await signetBinary(["verify-bundle", "--bundle", blobBundle, "--key", ws.pub, fileDigest]);
    expect({ code: digestOnly.code, stderr: digestOnly.stderr }).toEqual({ code: 0, stderr: "" });
    expect(digestOnly.stdout).toContain(`artifact: ${fileDigest} (${fileDigest})`);
    expect(digestOnly.stdout).toContain("result: verified");
    // another digest: the bundle names another artifact
    const otherDigest = `sha256:${sha256Hex(await fs.readFile(otherFile))}`;
    const other = await run(["--bundle", blobBundle, "--key", ws.pub, "--json", otherDigest]);
    expect(other.code).toBe(1);
    expect(codes(other.stdout)).toEqual(["artifact-digest"]);
    const wrongKey = await run(["--bundle", blobBundle, "--key", otherPub, "--json", fileDigest]);
    expect(wrongKey.code).toBe(1);
    expect(codes(wrongKey.stdout)).toEqual(["signature", "no-matching-key"]);
    // the bundle's digest edited to the other file's, asked for that digest: the signature is over the original
    const edited = JSON.parse(await fs.readFile(blobBundle, "utf8"));
    edited.messageSignature.messageDigest.digest = Buffer.from(otherDigest.slice("sha256:".length), "hex").toString("base64");
    const editedFile = path.join(ws.dir, "edited-digest.json");
    await fs.writeFile(editedFile, JSON.stringify(edited));
    const editedRun = await run(["--bundle", editedFile, "--key", ws.pub, "--json", otherDigest]);
    expect(editedRun.code).toBe(1);
    expect(codes(editedRun.stdout)).toContain("signature");
    // keyless: certificate (P-256) + Rekor entry, from the digest
    const keyless = await run(["--bundle", keylessBundle, "--trusted-root", privateRoot, "--certificate-identity", "release@acme.test", "--certificate-oidc-issuer", "https://issuer.acme.test", "--json", fileDigest]);
    expect(keyless.code).toBe(0);
    expect(json(keyless.stdout)).toMatchObject({ ok: true, content: "message-signature", tlog: { logIndex: 42, verifiedSet: true } });
  });

  it("from a digest: other ECDSA curves verify, a key that does not sign the SHA-256 digest is refused with the reason", async () => {
    const bytes = await fs.readFile(file);
    for (const [name, pair, hash] of [
      ["ECDSA secp384r1", generateKeyPairSync("ec", { namedCurve: "P-384" }), "sha256"],
      ["Ed25519", generateKeyPairSync("ed25519"), null],
      ["RSA 2048", generateKeyPairSync("rsa", { modulusLength: 2048 }), "sha256"],
    ] as const) {
      const pem = path.join(ws.dir, `${name.replace(/\W/g, "")}.pub`);
      await fs.writeFile(pem, pair.publicKey.export({ type: "spki", format: "pem" }));
      const bundle = path.join(ws.dir, `${name.replace(/\W/g, "")}.sigstore.json`);
      await fs.writeFile(
        bundle,
        JSON.stringify({
          mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
          verificationMaterial: { publicKey: { hint: "" }, tlogEntries: [] },
          messageSignature: { messageDigest: { algorithm: "SHA2_256", digest: Buffer.from(sha256Hex(bytes), "hex").toString("base64") }, signature: cryptoSign(hash, bytes, pair.privateKey).toString("base64") },
        }),
      );
      // the file itself verifies
      expect((await run(["--bundle", bundle, "--key", pem, file])).code).toBe(0);
      const r = await run(["--bundle", bundle, "--key", pem, "--json", fileDigest]);
      if (name.startsWith("ECDSA")) {
        expect(r.code).toBe(0);
        continue;
      }
      expect(r.code).toBe(1);
      expect(json(r.stdout).reasons).toEqual([{ code: "unsupported", message: `${name} signatures cannot be verified from a SHA-256 digest (only ECDSA signs the digest itself): give the file` }]);
    }
  });

  it("cosign attest-blob --bundle (DSSE in-toto): verifies for the file and for its digest, not for another", async () => {
    const byFile = await run(["--bundle", attestBundle, "--key", ws.pub, "--json", file]);
    expect(byFile.code).toBe(0);
    expect(json(byFile.stdout)).toMatchObject({ ok: true, content: "dsse-envelope", statement: { predicateType: "https://slsa.dev/provenance/v0.2" } });
    const byDigest = await run(["--bundle", attestBundle, "--key", ws.pub, fileDigest]);
    expect(byDigest.code).toBe(0);
    const other = await run(["--bundle", attestBundle, "--key", ws.pub, "--json", otherFile]);
    expect(other.code).toBe(1);
    expect(codes(other.stdout)).toEqual(["dsse-subject"]);
  });

  it("keyless bundle from a custom trusted root: identity and issuer must match exactly", async () => {
    const base = ["--bundle", keylessBundle, "--trusted-root", privateRoot, "--json"];
    const ok = await run([...base, "--certificate-identity", "release@acme.test", "--certificate-oidc-issuer", "https://issuer.acme.test", file]);
    expect(ok.code).toBe(0);
    expect(json(ok.stdout)).toMatchObject({ ok: true, trustRootId: "acme", signer: { kind: "keyless", identity: "release@acme.test" }, tlog: { logIndex: 42, verifiedSet: true } });
    const identity = await run([...base, "--certificate-identity", "attacker@acme.test", "--certificate-oidc-issuer", "https://issuer.acme.test", file]);
    expect(identity.code).toBe(1);
    expect(codes(identity.stdout)).toEqual(["identity"]);
    const issuer = await run([...base, "--certificate-identity", "release@acme.test", "--certificate-oidc-issuer", "https://accounts.google.com", file]);
    expect(issuer.code).toBe(1);
    expect(codes(issuer.stdout)).toEqual(["issuer"]);
    // Against the public-good root (no --trusted-root) the private certificate does not chain.
    const publicGood = await run(["--bundle", keylessBundle, "--json", "--certificate-identity", "release@acme.test", "--certificate-oidc-issuer", "https://issuer.acme.test", file]);
    expect(publicGood.code).toBe(1);
    expect(json(publicGood.stdout).ok).toBe(false);
    const withKey = await run(["--bundle", keylessBundle, "--trusted-root", privateRoot, "--key", ws.pub, "--json", file]);
    expect(withKey.code).toBe(1);
    expect(codes(withKey.stdout)).toContain("no-matching-key");
  });

  it("usage errors exit 64, unreadable input exits 2", async () => {
    for (const args of [[], [file], ["--bundle", blobBundle, file], ["--bundle", blobBundle, "--key", ws.pub, "--certificate-identity", "x", file], ["--bundle", blobBundle, "--certificate-identity", "x", file]]) {
      const r = await run(args);
      expect(r.code).toBe(64);
      expect(r.stderr).toMatch(/^signet verify-bundle: /);
    }
    const missing = await run(["--bundle", path.join(ws.dir, "nope.json"), "--key", ws.pub, file]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read");
    const notKey = await run(["--bundle", blobBundle, "--key", file, file]);
    expect(notKey.code).toBe(2);
    const notFile = await run(["--bundle", blobBundle, "--key", ws.pub, path.join(ws.dir, "absent.bin")]);
    expect(notFile.code).toBe(2);
    expect(notFile.stderr).toContain("neither a file nor a sha256");
    const garbage = path.join(ws.dir, "garbage.json");
    await fs.writeFile(garbage, "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.9+json\"}");
    const malformed = await run(["--bundle", garbage, "--key", ws.pub, "--json", file]);
    expect(malformed.code).toBe(1);
    expect(codes(malformed.stdout)).toEqual(["malformed"]);
  });
});
