import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { compilePolicy, publicKeyFingerprint } from "@/lib/policy/compile";
import { evaluate, reasonCodes, type EvaluationContext } from "@/lib/policy/evaluate";
import type { EvidenceFact } from "@/lib/policy/facts";
import { parsePolicyDocuments, PolicyValidationError } from "@/lib/policy/schema";

// Authority-level constructs imported from policy-controller: per-authority requireTlog, static
// pass / fail, attestation authorities (alternatives, as ClusterImagePolicy authorities are).

const pem = () => generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const [KA, KB] = [pem(), pem()];
const now = new Date("2026-11-25T12:00:00Z");
const SLSA = "https://slsa.dev/provenance/v1";

function policy(spec: string) {
  const [doc] = parsePolicyDocuments(`apiVersion: signet.dev/v1\nkind: Policy\nmetadata: { name: p }\nspec:\n${spec.replace(/^/gm, "  ")}`);
  return compilePolicy("p", 1, doc!.spec);
}
const found = { discovery: { outcome: "found" as const }, now };
const none = { discovery: { outcome: "none" as const }, now };
const run = (p: ReturnType<typeof policy>, ev: EvidenceFact[], ctx: EvaluationContext = found) => evaluate(p.spec, ev, ctx, p.keys);
const ev = (id: string, key: string, over: Partial<EvidenceFact> = {}): EvidenceFact => ({
  id,
  kind: "signature",
  status: "valid",
  reasons: [],
  signer: { kind: "key", fingerprints: [publicKeyFingerprint(key)] },
  tlog: null,
  ...over,
});
const keyless = (id: string, over: Partial<EvidenceFact> = {}): EvidenceFact => ({
  id,
  kind: "signature",
  status: "valid",
  reasons: [],
  signer: { kind: "keyless", identity: "ci@acme.test", issuer: "https://issuer.acme.test", extensions: {}, trustedRoot: "acme" },
  tlog: null,
  ...over,
});
const key = (name: string, k: string, extra = "") => `  - { name: ${name}, key: { pem: ${JSON.stringify(k)} }${extra} }\n`;

describe("per-authority requireTlog", () => {
  it("overrides the policy's either way", () => {
    const strict = policy(`requireTlog: false\nauthorities:\n${key("a", KA!, ", requireTlog: true")}`);
    expect(run(strict, [ev("e", KA!)]).value).toBe("failed");
    expect(reasonCodes(run(strict, [ev("e", KA!)]))).toContain("tlog-missing");
    const loose = policy(`requireTlog: true\nauthorities:\n${key("a", KA!, ", requireTlog: false")}`);
    expect(run(loose, [ev("e", KA!)]).value).toBe("verified");
    expect(run(loose, [ev("e", KA!, { tlog: { logIndex: 1, integratedTime: now } })]).value).toBe("verified");
  });

  it("keyless needs a trusted time unless its authority says requireTlog: false", () => {
    const ids = `identities: [ { issuer: https://issuer.acme.test, subject: ci@acme.test } ], trustedRoot: acme`;
    const def = policy(`requireTlog: false\nauthorities:\n  - { name: k, keyless: { ${ids} } }`);
    expect(reasonCodes(run(def, [keyless("e")]))).toContain("tlog-missing");
    const off = policy(`authorities:\n  - { name: k, requireTlog: false, keyless: { ${ids} } }`);
    expect(run(off, [keyless("e")]).value).toBe("verified");
  });
});

describe("signatureFormat", () => {
  it("an authority reading only classic layers ignores Sigstore bundles, and the other way round; unknown format counts", () => {
    const classic = policy(`requireTlog: false\nauthorities:\n${key("a", KA!, ", signatureFormat: classic")}`);
    expect(run(classic, [ev("b", KA!, { format: "bundle" })]).value).toBe("failed");
    expect(run(classic, [ev("b", KA!, { format: "bundle" })]).reasons.some((r) => /reads only classic/.test(r.message))).toBe(true);
    expect(run(classic, [ev("c", KA!, { format: "classic" })]).value).toBe("verified");
    expect(run(classic, [ev("u", KA!)]).value).toBe("verified");
    const bundle = policy(`requireTlog: false\nauthorities:\n${key("a", KA!, ", signatureFormat: bundle")}`);
    expect(run(bundle, [ev("c", KA!, { format: "classic" })]).value).toBe("failed");
    expect(run(bundle, [ev("b", KA!, { format: "bundle" })]).value).toBe("verified");
  });
});

describe("static authorities", () => {
  it("pass verifies without any evidence, even when the registry could not be read", () => {
    const p = policy(`authorities:\n  - { name: allow, static: { action: pass } }`);
    expect(run(p, []).value).toBe("verified");
    expect(run(p, [], { discovery: { outcome: "error", reason: "down" }, now }).value).toBe("verified");
  });

  it("fail never verifies, whatever is signed; it is an alternative among others", () => {
    const p = policy(`authorities:\n  - { name: deny, static: { action: fail, message: no images from here } }`);
    const v = run(p, [ev("e", KA!)]);
    expect(v.value).toBe("failed");
    expect(reasonCodes(v)).toContain("static-fail");
    expect(v.reasons.find((r) => r.code === "static-fail")!.message).toContain("no images from here");
    expect(run(p, [], none).value).not.toBe("verified");
    const alt = policy(`authorities:\n  - { name: deny, static: { action: fail } }\n${key("a", KA!)}require: { signatures: { anyOf: [deny, a] } }\nrequireTlog: false`);
    expect(run(alt, [ev("e", KA!)]).value).toBe("verified");
  });

  it("has exactly one of key / keyless / static", () => {
    expect(() => policy(`authorities:\n  - { name: x, static: { action: pass }, key: { pem: ${JSON.stringify(KA)} } }`)).toThrow(PolicyValidationError);
    expect(() => policy(`authorities:\n  - { name: x, static: { action: maybe } }`)).toThrow(PolicyValidationError);
    expect(() => policy(`authorities:\n  - { name: x, static: { action: pass }, requireTlog: true }`)).toThrow(PolicyValidationError);
  });
});

describe("attestation authorities (policy-controller's authority with attestations)", () => {
  const spec = `requireTlog: false\nauthorities:\n${key("sig", KA!)}${key("att", KB!, `, attestations: [ { predicateType: ${SLSA} }, { predicateType: https://cyclonedx.org/bom } ]`)}require: { signatures: { anyOf: [sig, att] } }`;
  const att = (id: string, k: string, type: string): EvidenceFact => ({ ...ev(id, k), kind: "attestation", predicateType: type });

  it("is satisfied by its own attestations of every listed type, never by an image signature", () => {
    const p = policy(spec);
    expect(run(p, [ev("s", KB!)]).value).toBe("failed");
    expect(run(p, [att("a1", KB!, SLSA)]).value).toBe("failed");
    const v = run(p, [att("a1", KB!, SLSA), att("a2", KB!, "https://cyclonedx.org/bom")]);
    expect(v.value).toBe("verified");
    expect(v.satisfiedBy).toEqual(["att"]);
    expect(v.evidenceIds.sort()).toEqual(["a1", "a2"]);
    // attestations signed by another key do not count
    expect(run(p, [att("a1", KA!, SLSA), att("a2", KA!, "https://cyclonedx.org/bom")]).value).toBe("failed");
    // the signature authority is the alternative
    expect(run(p, [ev("s", KA!)]).value).toBe("verified");
  });

  it("reports the missing predicate type", () => {
    const v = run(policy(spec), [att("a1", KB!, SLSA)]);
    expect(v.reasons.some((r) => r.code === "predicate-type" && r.authority === "att" && r.message.includes("cyclonedx"))).toBe(true);
  });
});
