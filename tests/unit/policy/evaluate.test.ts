import { keyInTwoEncodings } from "@/tests/support/sigstore-fixtures";
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { compilePolicy, publicKeyFingerprint } from "@/lib/policy/compile";
import { evaluate, reasonCodes, type EvaluationContext } from "@/lib/policy/evaluate";
import type { EvidenceFact } from "@/lib/policy/facts";
import { parsePolicyDocuments } from "@/lib/policy/schema";

const pem = () => generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const [KA, KB, KC] = [pem(), pem(), pem()];
const fp = (k: string) => publicKeyFingerprint(k);
const now = new Date("2026-11-25T12:00:00Z");
const t = (iso: string) => new Date(iso);

function policy(spec: string, name = "p") {
  const yaml = `apiVersion: signet.dev/v1\nkind: Policy\nmetadata: { name: ${name} }\nspec:\n${spec.replace(/^/gm, "  ")}`;
  const [doc] = parsePolicyDocuments(yaml);
  return compilePolicy(doc!.metadata.name, 1, doc!.spec);
}
const keyAuth = (name: string, key: string, extra = "") => `  - name: ${name}\n    key: { pem: ${JSON.stringify(key)} }\n${extra}`;

const sig = (id: string, keys: string[], over: Partial<EvidenceFact> = {}): EvidenceFact => ({
  id,
  kind: "signature",
  status: "valid",
  reasons: [],
  signer: { kind: "key", fingerprints: keys.map(fp) },
  tlog: { logIndex: 1, integratedTime: t("2026-10-01T00:00:00Z") },
  ...over,
});
const keyless = (id: string, identity: string, issuer: string, over: Partial<EvidenceFact> = {}): EvidenceFact => ({
  id,
  kind: "signature",
  status: "valid",
  reasons: [],
  signer: { kind: "keyless", identity, issuer, extensions: { sourceRepositoryURI: "https://github.com/acme/app" }, trustedRoot: "public-good" },
  tlog: { logIndex: 2, integratedTime: t("2026-10-01T00:00:00Z") },
  ...over,
});
const found = { discovery: { outcome: "found" as const }, now };
const run = (p: ReturnType<typeof policy>, ev: EvidenceFact[], ctx: EvaluationContext = found) => evaluate(p.spec, ev, ctx, p.keys);

describe("evaluate: key authorities and requirements", () => {
  const threeSigners = `authorities:\n${keyAuth("build", KA!)}${keyAuth("scanner", KB!)}${keyAuth("qa", KC!)}`;

  it("any-of: one trusted signature verifies", () => {
    const p = policy(`${threeSigners}require:\n  signatures: { anyOf: [build, scanner] }`);
    const v = run(p, [sig("e1", [KB!])]);
    expect(v.value).toBe("verified");
    expect(v.satisfiedBy).toEqual(["scanner"]);
    expect(v.evidenceIds).toEqual(["e1"]);
  });

  it("all-of: both signers needed", () => {
    const p = policy(`${threeSigners}require:\n  signatures: { allOf: [build, scanner] }`);
    expect(run(p, [sig("e1", [KA!])]).value).toBe("failed");
    expect(reasonCodes(run(p, [sig("e1", [KA!])]))).toContain("requirement-not-met");
    expect(run(p, [sig("e1", [KA!]), sig("e2", [KB!])]).value).toBe("verified");
  });

  it("2-of-3: counts distinct authorities, not signatures", () => {
    const p = policy(`${threeSigners}require:\n  signatures: { atLeast: 2, of: [build, scanner, qa] }`);
    expect(run(p, [sig("e1", [KA!]), sig("e2", [KA!])]).value).toBe("failed");
    expect(run(p, [sig("e1", [KA!]), sig("e2", [KC!])]).value).toBe("verified");
  });

  it("a signature by an untrusted key fails with no-matching-key", () => {
    const p = policy(`authorities:\n${keyAuth("build", KA!)}`);
    const v = run(p, [sig("e1", [KB!])]);
    expect(v.value).toBe("failed");
    expect(reasonCodes(v)).toContain("no-matching-key");
  });

  it("invalid evidence never verifies and carries its reason", () => {
    const p = policy(`authorities:\n${keyAuth("build", KA!)}`);
    const v = run(p, [sig("e1", [KA!], { status: "invalid", reasons: ["payload-digest"] })]);
    expect(v.value).toBe("failed");
    expect(reasonCodes(v)[0]).toBe("payload-digest");
  });

  it("requireTlog: a signature without a log entry fails with tlog-missing; allowed when not required", () => {
    const strict = policy(`authorities:\n${keyAuth("build", KA!)}requireTlog: true`);
    const lax = policy(`authorities:\n${keyAuth("build", KA!)}requireTlog: false`);
    const e = sig("e1", [KA!], { tlog: null });
    expect(reasonCodes(run(strict, [e]))).toContain("tlog-missing");
    expect(run(strict, [e]).value).toBe("failed");
    expect(run(lax, [e]).value).toBe("verified");
  });

  it("a revoked authority satisfies nothing; a retiring one still counts and is flagged", () => {
    const revoked = policy(`authorities:\n${keyAuth("build", KA!, "    status: revoked\n")}`);
    const v = run(revoked, [sig("e1", [KA!])]);
    expect(v.value).toBe("failed");
    expect(reasonCodes(v)).toContain("revoked");
    const retiring = policy(`authorities:\n${keyAuth("build", KA!, "    status: retiring\n")}`);
    const r = run(retiring, [sig("e1", [KA!])]);
    expect(r.value).toBe("verified");
    expect(reasonCodes(r)).toContain("retiring-authority");
  });

  it("validity windows apply at signing time (log time), not now", () => {
    const p = policy(`authorities:\n${keyAuth("build", KA!, "    validUntil: 2026-09-01T00:00:00Z\n")}`);
    expect(reasonCodes(run(p, [sig("e1", [KA!])]))).toContain("outside-validity");
    const early = sig("e2", [KA!], { tlog: { logIndex: 3, integratedTime: t("2026-08-01T00:00:00Z") } });
    expect(run(p, [early]).value).toBe("verified");
  });
});

describe("evaluate: keyless authorities", () => {
  const p = policy(`authorities:
  - name: ci
    keyless:
      identities:
        - issuer: https://token.actions.githubusercontent.com
          subjectRegExp: ^https://github\\.com/acme/.+/\\.github/workflows/release\\.yml@refs/tags/v.*$
      extensions:
        sourceRepositoryURI: https://github.com/acme/app`);
  const issuer = "https://token.actions.githubusercontent.com";
  const okId = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3";

  it("matches issuer, subject regexp and extensions", () => {
    expect(run(p, [keyless("e1", okId, issuer)]).value).toBe("verified");
  });
  it("wrong identity → identity; wrong issuer → issuer", () => {
    expect(reasonCodes(run(p, [keyless("e1", "https://github.com/evil/app/.github/workflows/release.yml@refs/tags/v1", issuer)]))).toContain("identity");
    expect(reasonCodes(run(p, [keyless("e1", okId, "https://accounts.google.com")]))).toContain("issuer");
  });
  it("extension mismatch fails", () => {
    const e = keyless("e1", okId, issuer);
    (e.signer as { extensions: Record<string, string> }).extensions.sourceRepositoryURI = "https://github.com/acme/other";
    expect(reasonCodes(run(p, [e]))).toContain("extension");
  });
  it("keyless without any trusted time fails even if the policy does not require the log", () => {
    const lax = policy(`requireTlog: false
authorities:
  - name: ci
    keyless: { identities: [ { issuer: "${issuer}", subject: "${okId}" } ] }`);
    expect(reasonCodes(run(lax, [keyless("e1", okId, issuer, { tlog: null })]))).toContain("tlog-missing");
    expect(run(lax, [keyless("e1", okId, issuer, { tlog: null, timestamp: t("2026-10-01T00:00:00Z") })]).value).toBe("verified");
  });
});

describe("evaluate: attestations", () => {
  const p = policy(`authorities:
${keyAuth("build", KA!)}require:
  attestations:
    - predicateType: https://slsa.dev/provenance/v1
      signedBy: [build]
      conditions:
        builderId: https://github.com/actions/runner
        sourceRepository: { regexp: "^git\\\\+https://github\\\\.com/acme/" }`);
  const att = (over: Partial<EvidenceFact> = {}): EvidenceFact => ({
    ...sig("a1", [KA!]),
    kind: "attestation",
    predicateType: "https://slsa.dev/provenance/v1",
    provenance: { builderId: "https://github.com/actions/runner", sourceRepository: "git+https://github.com/acme/app@refs/heads/main" },
    ...over,
  });

  it("requires signature and the attestation", () => {
    expect(run(p, [sig("s1", [KA!]), att()]).value).toBe("verified");
    const missing = run(p, [sig("s1", [KA!])]);
    expect(missing.value).toBe("failed");
    expect(reasonCodes(missing)).toContain("predicate-type");
  });
  it("wrong predicate type, wrong builder, wrong signer all fail", () => {
    expect(reasonCodes(run(p, [sig("s1", [KA!]), att({ predicateType: "https://slsa.dev/provenance/v0.2" })]))).toContain("predicate-type");
    expect(reasonCodes(run(p, [sig("s1", [KA!]), att({ provenance: { builderId: "https://evil.example/builder", sourceRepository: "git+https://github.com/acme/app" } })]))).toContain("attestation-condition");
    expect(run(p, [sig("s1", [KA!]), att({ signer: { kind: "key", fingerprints: [fp(KB!)] } })]).value).toBe("failed");
  });
});

describe("evaluate: unsigned, error and the never-wrong-verified rules", () => {
  const p = policy(`authorities:\n${keyAuth("build", KA!)}`);
  it("unsigned only when discovery said none", () => {
    expect(run(p, [], { discovery: { outcome: "none" }, now }).value).toBe("unsigned");
  });
  it("a discovery error is error, never unsigned or failed", () => {
    const v = run(p, [], { discovery: { outcome: "error", reason: "registry timeout" }, now });
    expect(v.value).toBe("error");
    expect(reasonCodes(v)[0]).toBe("discovery-error");
  });
  it("evidence that could not be checked makes an unsatisfied policy error, not failed", () => {
    expect(run(p, [sig("e1", [KA!], { status: "error", reasons: ["timeout"] })]).value).toBe("error");
  });
  it("partial evidence found before a discovery error can still prove verified", () => {
    expect(run(p, [sig("e1", [KA!])], { discovery: { outcome: "error", reason: "att tag timed out" }, now }).value).toBe("verified");
  });
  it("error and invalid evidence are never counted as satisfying", () => {
    for (const status of ["invalid", "error"] as const) {
      expect(run(p, [sig("e1", [KA!], { status })]).value).not.toBe("verified");
    }
  });
});

describe("evaluate: votes are distinct signers matched one-to-one to authorities", () => {
  const issuer = "https://token.actions.githubusercontent.com";
  const release = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1";
  const other = "https://github.com/acme/app/.github/workflows/other.yml@refs/heads/main";
  // "org" and "release" overlap: a release-workflow certificate matches both
  const overlapping = `authorities:
  - name: org
    keyless: { identities: [ { issuer: "${issuer}", subjectRegExp: "^https://github\\\\.com/acme/" } ] }
  - name: release
    keyless: { identities: [ { issuer: "${issuer}", subject: "${release}" } ] }
`;

  it("one key under two names is one vote: atLeast 2 fails, with a reason that says so", () => {
    const p = policy(`authorities:\n${keyAuth("a", KA!)}${keyAuth("a-again", KA!)}require:\n  signatures: { atLeast: 2, of: [a, a-again] }`);
    const v = run(p, [sig("e1", [KA!]), sig("e2", [KA!])]);
    expect(v.value).toBe("failed");
    expect(v.reasons.find((r) => r.code === "requirement-not-met")?.message).toMatch(/only 1 distinct signer/);
    const all = policy(`authorities:\n${keyAuth("a", KA!)}${keyAuth("a-again", KA!)}require:\n  signatures: { allOf: [a, a-again] }`);
    expect(run(all, [sig("e1", [KA!])]).value).toBe("failed");
  });

  it("two keys are two votes", () => {
    const p = policy(`authorities:\n${keyAuth("a", KA!)}${keyAuth("b", KB!)}require:\n  signatures: { atLeast: 2, of: [a, b] }`);
    const v = run(p, [sig("e1", [KA!]), sig("e2", [KB!])]);
    expect(v.value).toBe("verified");
    expect([...v.satisfiedBy].sort()).toEqual(["a", "b"]);
    expect([...v.evidenceIds].sort()).toEqual(["e1", "e2"]);
  });

  it("the same key in another encoding (compressed EC point) is the same signer", () => {
    const { uncompressed, compressed } = keyInTwoEncodings();
    expect(fp(compressed)).not.toBe(fp(uncompressed));
    const p = policy(`authorities:\n${keyAuth("a", uncompressed)}${keyAuth("b", compressed)}require:\n  signatures: { atLeast: 2, of: [a, b] }`);
    // verification reports both fingerprints for one signature
    expect(run(p, [sig("e1", [uncompressed, compressed])]).value).toBe("failed");
    expect(run(p, [sig("e1", [uncompressed]), sig("e2", [compressed])]).value).toBe("failed");
  });

  it("overlapping keyless identities: one certificate identity is one vote, two identities are two", () => {
    const p = policy(`${overlapping}require:\n  signatures: { allOf: [org, release] }`);
    expect(run(p, [keyless("e1", release, issuer)]).value).toBe("failed");
    // two certificates of the same identity are still one signer
    expect(run(p, [keyless("e1", release, issuer), keyless("e2", release, issuer)]).value).toBe("failed");
    const v = run(p, [keyless("e1", release, issuer), keyless("e2", other, issuer)]);
    expect(v.value).toBe("verified");
    expect([...v.satisfiedBy].sort()).toEqual(["org", "release"]);
  });

  it("the matching finds the assignment a greedy count would miss", () => {
    // e1 (release workflow) fits both; e2 (other workflow) only org: release←e1, org←e2
    const p = policy(`${overlapping}require:\n  signatures: { atLeast: 2, of: [release, org] }`);
    expect(run(p, [keyless("e2", other, issuer), keyless("e1", release, issuer)]).value).toBe("verified");
  });

  it("the same identity under another trusted root is another signer", () => {
    const p = policy(`authorities:
  - name: pg
    keyless: { identities: [ { issuer: "${issuer}", subject: "${release}" } ] }
  - name: corp
    keyless: { identities: [ { issuer: "${issuer}", subject: "${release}" } ], trustedRoot: corp }
require:
  signatures: { allOf: [pg, corp] }`);
    const corp = keyless("e2", release, issuer);
    (corp.signer as { trustedRoot: string }).trustedRoot = "corp";
    expect(run(p, [keyless("e1", release, issuer), corp]).value).toBe("verified");
  });

  it("a rotating authority (keys: old, new) is one vote even when both keys signed", () => {
    const p = policy(`authorities:
  - name: team
    keys: [ { pem: ${JSON.stringify(KA)} }, { pem: ${JSON.stringify(KB)} } ]
${keyAuth("qa", KC!)}require:
  signatures: { atLeast: 2, of: [team, qa] }`);
    expect(run(p, [sig("e1", [KA!]), sig("e2", [KB!])]).value).toBe("failed");
    expect(run(p, [sig("e1", [KB!]), sig("e3", [KC!])]).value).toBe("verified");
    expect(run(p, [sig("e1", [KA!]), sig("e3", [KC!])]).value).toBe("verified");
  });

  it("attestation requirements of one type naming different signers need distinct signers", () => {
    const slsa = "https://slsa.dev/provenance/v1";
    const p = policy(`${overlapping}require:
  signatures: []
  attestations:
    - { predicateType: ${slsa}, signedBy: [org] }
    - { predicateType: ${slsa}, signedBy: [release] }`);
    const att = (id: string, identity: string): EvidenceFact => ({ ...keyless(id, identity, issuer), kind: "attestation", predicateType: slsa });
    expect(run(p, [att("a1", release)]).value).toBe("failed");
    expect(run(p, [att("a1", release), att("a2", other)]).value).toBe("verified");
    // requirements naming the same signer are one party's conditions: one attestation may meet both
    const same = policy(`${overlapping}require:
  signatures: []
  attestations:
    - { predicateType: ${slsa}, signedBy: [release] }
    - { predicateType: ${slsa}, signedBy: [release] }`);
    expect(run(same, [att("a1", release)]).value).toBe("verified");
  });

  it("requireTlog: an attestation without a log entry says the log entry is missing, not a wrong signer", () => {
    const slsa = "https://slsa.dev/provenance/v1";
    const p = policy(`authorities:\n${keyAuth("a", KA!)}requireTlog: true\nrequire:\n  signatures: []\n  attestations:\n    - { predicateType: ${slsa}, signedBy: [a] }`);
    const v = run(p, [{ ...sig("a1", [KA!], { tlog: null }), kind: "attestation", predicateType: slsa }]);
    expect(v.value).toBe("failed");
    expect(reasonCodes(v)).toContain("tlog-missing");
    expect(v.reasons.map((r) => r.message).join("\n")).not.toMatch(/not signed by/);
    const wrong = run(p, [{ ...sig("a1", [KB!]), kind: "attestation", predicateType: slsa }]);
    expect(wrong.reasons.map((r) => r.message).join("\n")).toMatch(/not signed by a/);
  });

  it("a name listed twice in a clause is refused (atLeast counts authorities)", () => {
    expect(() => policy(`authorities:\n${keyAuth("a", KA!)}${keyAuth("b", KB!)}require:\n  signatures: { atLeast: 2, of: [a, a, b] }`)).toThrow(/listed twice/);
  });
});
