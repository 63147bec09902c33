import { createHash, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { DiscoveredArtifact } from "@/lib/evidence/types";
import { verifyArtifacts } from "@/lib/sigstore";
import { memoizeVerification, resultSize, type VerifyInput } from "@/lib/scan/verify-memo";
import { generateSigningKey, simpleSigningPayload, type SigningKey } from "@/tests/support/registry-fixtures";

const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const image = { registry: "registry.example", repository: "apps/web", digest: `sha256:${"a".repeat(64)}` };

/** A classic cosign signature of `image` by `key`, as discovery hands it over (with `-a` annotations). */
function signatureArtifact(key: SigningKey, optional?: Record<string, string>): DiscoveredArtifact {
  const plain = simpleSigningPayload(`${image.registry}/${image.repository}`, image.digest);
  const payload = optional ? Buffer.from(plain.toString().replace('"optional":null', `"optional":${JSON.stringify(optional)}`)) : plain;
  const signature = sign("sha256", payload, key.privateKey).toString("base64");
  return {
    kind: "signature",
    source: "tag",
    tag: `sha256-${"a".repeat(64)}.sig`,
    manifestDigest: sha256(Buffer.from(signature)),
    manifestMediaType: "application/vnd.oci.image.manifest.v1+json",
    annotations: {},
    layers: [
      {
        digest: sha256(payload),
        mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
        size: payload.length,
        annotations: { "dev.cosignproject.cosign/signature": signature },
        content: payload,
      },
    ],
  };
}

describe("verification memo", () => {
  const signer = generateSigningKey();
  const other = generateSigningKey();
  let calls = 0;
  const verify = memoizeVerification((input: VerifyInput) => {
    calls++;
    return verifyArtifacts({ ...input, trust: [...input.trust] });
  });
  const input = (keys: SigningKey[], artifact: DiscoveredArtifact, now = new Date("2026-12-01T00:00:00Z")): VerifyInput => ({
    image,
    artifacts: [artifact],
    keys: keys.map((k, i) => ({ keyId: `k${i}`, pem: k.publicKeyPem })),
    now,
    trust: [],
  });

  it("verifies the same signature with the same keys once; a new key or a new signature is verified again", () => {
    const artifact = signatureArtifact(signer);
    const first = verify(input([signer], artifact));
    expect(first.map((v) => v.status)).toEqual(["valid"]);
    expect(calls).toBe(1);

    const later = new Date("2026-12-02T00:00:00Z");
    const again = verify(input([signer], structuredClone(artifact), later));
    expect(calls).toBe(1);
    // the same result, stamped with the clock value passed in
    expect(again).toEqual(first.map((v) => ({ ...v, verifiedAt: later.toISOString() })));

    // another key set: verified again, and the signature no longer matches any key
    const otherKeys = verify(input([other], artifact));
    expect(calls).toBe(2);
    expect(otherKeys.map((v) => v.status)).not.toEqual(["valid"]);

    // a new signature of the same image (another signer): verified again
    const resigned = verify(input([signer], signatureArtifact(other)));
    expect(calls).toBe(3);
    expect(resigned.map((v) => v.status)).not.toEqual(["valid"]);
  });

  it("is bounded in bytes as well as entries: a result carrying a registry's large annotations is not kept", () => {
    let n = 0;
    const small = signatureArtifact(signer);
    const probe = memoizeVerification((i: VerifyInput) => verifyArtifacts({ ...i, trust: [...i.trust] }));
    const smallSize = resultSize(probe(input([signer], small)));
    const bounded = memoizeVerification(
      (i: VerifyInput) => {
        n++;
        return verifyArtifacts({ ...i, trust: [...i.trust] });
      },
      { maxBytes: smallSize * 16 },
    );
    // a valid signature whose annotations are large (the signer, or whoever pushed it, chose them)
    const large = signatureArtifact(signer, { note: "x".repeat(smallSize * 2) });
    const first = bounded(input([signer], large));
    expect(first.map((v) => v.status)).toEqual(["valid"]);
    expect(resultSize(first)).toBeGreaterThan((smallSize * 16) / 8);
    bounded(input([signer], large));
    expect(n).toBe(2); // verified again: not kept
    bounded(input([signer], small));
    bounded(input([signer], small));
    expect(n).toBe(3); // a small result is kept
  });

  it("over a cycle of more images than it holds, keeps the ones that fit instead of evicting each before its next use", async () => {
    let n = 0;
    const counted = (i: VerifyInput) => {
      n++;
      return verifyArtifacts({ ...i, trust: [...i.trust] });
    };
    const images = Array.from({ length: 4 }, () => signatureArtifact(signer));
    const cyclic = memoizeVerification(counted, { max: 3 });
    // two scans over four images with room for three: the second verifies only the one that did not fit
    for (let scan = 0; scan < 2; scan++) for (const a of images) cyclic(input([signer], a));
    expect(n).toBe(4 + 1); // a least-recently-used memo verified all four again (8)

    // entries no scan used for `unusedMs` make room for new ones
    n = 0;
    const aging = memoizeVerification(counted, { max: 3, unusedMs: 5 });
    for (const a of images.slice(0, 3)) aging(input([signer], a));
    await new Promise((r) => setTimeout(r, 20));
    aging(input([signer], images[3]!));
    aging(input([signer], images[3]!));
    expect(n).toBe(4); // the fourth was kept once the others had gone unused
  });
});
