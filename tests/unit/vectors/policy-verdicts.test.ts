import { describe, expect, it } from "vitest";
import { candidateKeys, compilePolicy } from "@/lib/policy/compile";
import { evaluate, reasonCodes } from "@/lib/policy/evaluate";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { toEvidenceFact } from "@/lib/scan/facts";
import { loadPublicGoodTrustRoot, verifyArtifacts } from "@/lib/sigstore";
import { listCases, loadCase, vectorsAvailable, signetPolicyFor } from "@/tests/support/sigstore-vectors";

/**
 * Every shared vector through the production chain — lib/sigstore (crypto) → lib/scan/facts →
 * lib/policy (Signet policy built from the case's expected.json) — yields exactly the expected verdict,
 * and a failure names the check the case was built to trip.
 */


describe.runIf(vectorsAvailable())("shared vectors: expected verdicts through Signet's policy engine", () => {
  const trust = loadPublicGoodTrustRoot();
  const cases = vectorsAvailable() ? listCases() : [];

  it("covers all 17 cases", () => {
    expect(cases).toHaveLength(17);
  });

  for (const entry of cases) {
    it(`${entry.name} → ${entry.verdict}${entry.failsAt ? ` (${entry.failsAt})` : ""}`, () => {
      const c = loadCase(entry.name);
      const [doc] = parsePolicyDocuments(signetPolicyFor(c));
      const policy = compilePolicy("vector", 1, doc!.spec);
      const keys = candidateKeys([policy]);
      const verified = verifyArtifacts({ image: c.image, artifacts: c.artifacts, trust, keys, now: new Date("2026-11-25T00:00:00Z") });
      const facts = verified.map(toEvidenceFact);
      const verdict = evaluate(policy.spec, facts, { discovery: { outcome: "found" }, now: new Date("2026-11-25T00:00:00Z") }, policy.keys);
      expect(verdict.value).toBe(entry.verdict);
      if (entry.verdict === "verified") {
        expect(verdict.evidenceIds.length).toBeGreaterThan(0);
      } else {
        expect(reasonCodes(verdict)).toContain(entry.failsAt!);
      }
    });
  }
});
