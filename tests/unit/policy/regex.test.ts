import { describe, expect, it } from "vitest";
import { compilePolicy, PolicyCompileError } from "@/lib/policy/compile";
import { evaluate, reasonCodes } from "@/lib/policy/evaluate";
import type { EvidenceFact } from "@/lib/policy/facts";
import { policyRegex, policyRegexMatches, regexProblem } from "@/lib/policy/regex";
import { parsePolicyDocuments, policySpecSchema } from "@/lib/policy/schema";

/**
 * Policy regexps are RE2 (Go's dialect, as cosign and policy-controller use), matched in linear time:
 * hostile patterns either fail at save with the position of the unsupported part, or run linearly.
 */

const ISSUER = "https://token.actions.githubusercontent.com";

function doc(identity: string, extra = ""): string {
  return `apiVersion: signet.dev/v1
kind: Policy
metadata: { name: p }
spec:
  authorities:
    - name: ci
      keyless:
        identities:
          - issuer: ${ISSUER}
            ${identity}
${extra}`;
}

const keyless = (identity: string): EvidenceFact => ({
  id: "e1",
  kind: "signature",
  status: "valid",
  reasons: [],
  signer: { kind: "keyless", identity, issuer: ISSUER, extensions: {}, trustedRoot: "public-good" },
  tlog: { logIndex: 2, integratedTime: new Date("2026-10-01T00:00:00Z") },
});

describe("RE2 policy regexps", () => {
  it.each([
    ["a lookahead", "^https://github\\.com/(?=acme)", 21, /\(\?=/],
    ["a negative lookbehind", "x(?<!y)z", 1, /\(\?<!/],
    ["a backreference", "^(a)\\1$", 4, /\\1/],
    ["a possessive quantifier", "a++b", 1, /\+\+/],
    ["a repeat count over 1000", "a{1001}", 1, /\{1001\}/],
    ["a reversed range", "[z-a]", 1, /z-a/],
  ])("refuses %s with its position", (_what, pattern, position, fragment) => {
    const problem = regexProblem(pattern);
    expect(problem).toContain(`at position ${position}`);
    expect(problem).toMatch(fragment);
  });

  it("places a missing closing parenthesis at the end of the pattern", () => {
    expect(regexProblem("^(abc")).toMatch(/at position 5 \(missing closing \)\)/);
  });

  it("refuses an unsupported construct when a policy is saved, naming the field and the position", () => {
    expect(() => parsePolicyDocuments(doc("subjectRegExp: ^https://github\\.com/(?=acme)"))).toThrow(/subjectRegExp.*position 21/s);
    const spec = {
      authorities: [{ name: "ci", keyless: { identities: [{ issuer: ISSUER, subject: "x" }], extensions: { sourceRepositoryURI: { regexp: "(?<=a)b" } } } }],
    };
    const r = policySpecSchema.safeParse(spec);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(/not a valid regular expression in RE2 syntax at position 0/);
  });

  it("accepts RE2 syntax that JavaScript lacks or spells differently", () => {
    for (const p of ["(?i)^https://GITHUB\\.com/", "(?P<org>[a-z]+)", "\\pL+", "[[:alpha:]]+", "\\Aabc\\z", "x*?"]) expect(regexProblem(p)).toBeUndefined();
    expect(policyRegexMatches("(?i)^https://GITHUB\\.com/", "https://github.com/acme")).toBe(true);
    expect(policyRegexMatches("[[:digit:]]{3}", "v123")).toBe(true);
  });

  it("matches anywhere in the value unless anchored (Go's MatchString), like the JavaScript behaviour it replaces", () => {
    expect(policyRegexMatches("github\\.com/acme", "https://github.com/acme/app")).toBe(true);
    expect(policyRegexMatches("^github\\.com/acme", "https://github.com/acme/app")).toBe(false);
    expect(policyRegexMatches("^a.c$", "a\nc")).toBe(false);
  });

  it("compiles a pattern once and reuses it", () => {
    expect(policyRegex("^ci-[0-9]+$")).toBe(policyRegex("^ci-[0-9]+$"));
  });

  it("(a+)+$ is accepted and matched linearly against a long hostile subject", () => {
    expect(regexProblem("(a+)+$")).toBeUndefined();
    // A backtracking engine needs ~2^n steps here; a 29-character subject blocked Node for 35 s.
    for (const n of [29, 200_000]) expect(policyRegexMatches("(a+)+$", `${"a".repeat(n)}!`)).toBe(false);
    expect(policyRegexMatches("^(a|aa)+$", "a".repeat(100_000))).toBe(true);
    const [d] = parsePolicyDocuments(doc("subjectRegExp: (a+)+$"));
    const p = compilePolicy("p", 1, d!.spec);
    const v = evaluate(p.spec, [keyless(`${"a".repeat(200_000)}!`)], { discovery: { outcome: "found" }, now: new Date("2026-11-25T12:00:00Z") }, p.keys);
    expect(v.value).toBe("failed");
    expect(reasonCodes(v)).toContain("identity");
  });

  it("a stored policy whose regexp RE2 cannot run fails compilation instead of matching nothing", () => {
    const [d] = parsePolicyDocuments(doc("subjectRegExp: ^x$"));
    const spec = structuredClone(d!.spec);
    (spec.authorities[0]!.keyless!.identities[0] as { subjectRegExp?: string }).subjectRegExp = "^(?!evil)";
    expect(() => compilePolicy("p", 2, spec)).toThrow(PolicyCompileError);
    expect(() => compilePolicy("p", 2, spec)).toThrow(/subjectRegExp is not a valid regular expression in RE2 syntax at position 1/);
  });
});
