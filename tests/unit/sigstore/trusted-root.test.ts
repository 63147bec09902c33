/** Trust material: the offline public-good seed, custom trusted_root.json validation (TUF refresh: tests/integration/trust/tuf-refresh). */
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { loadPublicGoodTrustRoot, parseTrustedRoot, readPublicGoodSeedBytes, TrustRootError } from "@/lib/sigstore/trusted-root";
import { trustedRootPath, vectorsAvailable } from "../../support/sigstore-vectors";
import { makePrivateSigstore } from "../../support/sigstore-pki";
import { trustRootItems } from "@/lib/trust/trust-roots";

const available = vectorsAvailable();

describe("public-good trusted root (offline seed from @sigstore/tuf)", () => {
  it.skipIf(!available)("is byte-identical to the vectors' public-good-trusted_root.json", () => {
    expect(readPublicGoodSeedBytes().equals(fs.readFileSync(trustedRootPath()))).toBe(true);
  });

  it("loads with the expected logs and authorities", () => {
    const root = loadPublicGoodTrustRoot();
    expect(root).toMatchObject({ id: "public-good", source: "seed", sha256: "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66" });
    expect([...root.tlogUrls]).toEqual([
      ["c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d", "https://rekor.sigstore.dev"],
      ["cf1199155bddd051268d1f16ac5c0c75c009f6fb5a63f4177f8e18d7051e3fa0", "https://log2025-1.rekor.sigstore.dev"],
    ]);
    expect(root.material.certificateAuthorities).toHaveLength(2);
    expect(root.material.ctlogs).toHaveLength(2);
    expect(root.material.timestampAuthorities).toHaveLength(1);
    expect(loadPublicGoodTrustRoot()).toBe(root);
  });
});

describe("custom trusted_root.json", () => {
  const base = JSON.parse(makePrivateSigstore().trustedRootJson);
  const attempt = (edit: (json: any) => void) => {
    const json = structuredClone(base);
    edit(json);
    return () => parseTrustedRoot(JSON.stringify(json), { id: "custom" });
  };

  it("accepts a well-formed root (both media type spellings)", () => {
    expect(attempt(() => undefined)().source).toBe("file");
    expect(attempt((j) => (j.mediaType = "application/vnd.dev.sigstore.trustedroot.v0.2+json"))().mediaType).toContain("v0.2");
  });

  it.each<[string, (json: any) => void, RegExp]>([
    ["unknown media type", (j) => (j.mediaType = "application/json"), /mediaType/],
    ["a log without validFor.start", (j) => delete j.tlogs[0].publicKey.validFor.start, /validFor/],
    ["a log key that is not base64", (j) => (j.tlogs[0].publicKey.rawBytes = "not base64!"), /not base64/],
    ["a log key that is not a key", (j) => (j.tlogs[0].publicKey.rawBytes = Buffer.from("hello").toString("base64")), /unusable/],
    ["a CA certificate that is not a certificate", (j) => (j.certificateAuthorities[0].certChain.certificates[0].rawBytes = "AAAA"), /unusable/],
    ["an empty certificate chain", (j) => (j.certificateAuthorities[0].certChain.certificates = []), /certChain/],
    ["a bad timestamp", (j) => (j.ctlogs[0].publicKey.validFor.start = "yesterday"), /timestamp/],
  ])("refuses %s with a readable TrustRootError", (_name, edit, message) => {
    const parse = attempt(edit);
    expect(parse).toThrow(TrustRootError);
    expect(parse).toThrow(message);
  });

  it("reads JSON null as an unset field (protobuf JSON), as sigstore's conformance roots write them", () => {
    const withNulls = JSON.parse(readPublicGoodSeedBytes().toString("utf8"));
    const open = withNulls.tlogs.find((l: any) => !l.publicKey.validFor.end);
    open.publicKey.validFor.end = null;
    open.checkpointKeyId = null;
    withNulls.certificateAuthorities[0].uri = null;
    withNulls.certificateAuthorities[0].subject.organization = null;
    withNulls.timestampAuthorities = null;
    const root = parseTrustedRoot(JSON.stringify(withNulls), { id: "nulls" });
    const seed = loadPublicGoodTrustRoot();
    expect(root.material.tlogs).toHaveLength(seed.material.tlogs.length);
    expect(root.material.certificateAuthorities).toHaveLength(seed.material.certificateAuthorities.length);
    expect(root.material.timestampAuthorities).toEqual([]);
    const tlog = root.material.tlogs.find((t) => t.logID.equals(Buffer.from(open.logId.keyId, "base64")))!;
    expect(tlog.validFor.end.getTime()).toBe(seed.material.tlogs.find((t) => t.logID.equals(tlog.logID))!.validFor.end.getTime());
    // the expiry reminders read the same document the same way
    expect(trustRootItems("nulls", withNulls).filter((i) => i.kind === "tsa")).toEqual([]);
    expect(trustRootItems("nulls", withNulls).filter((i) => i.kind === "rekor")).toHaveLength(seed.material.tlogs.length);
    // a null list element is not an unset field
    expect(attempt((j) => j.tlogs.push(null))).toThrow(/tlogs/);
  });

  it("refuses non-JSON and oversized input", () => {
    expect(() => parseTrustedRoot("{", { id: "x" })).toThrow(/not JSON/);
    expect(() => parseTrustedRoot(Buffer.alloc(2 * 1024 * 1024, 0x20), { id: "x" })).toThrow(/too large/);
  });
});
