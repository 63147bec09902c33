import { describe, expect, it } from "vitest";
import { computeCoverage, containerState, coverage, lastKnownAfter, overallVerdict, percent, toTarget, type ContainerVerdicts } from "@/lib/coverage/compute";

describe("coverage", () => {
  it("overall verdict: failed > unsigned > error > verified; none → unmatched", () => {
    expect(overallVerdict([])).toBe("unmatched");
    expect(overallVerdict(["unmatched"])).toBe("unmatched");
    expect(overallVerdict(["verified", "verified"])).toBe("verified");
    expect(overallVerdict(["verified", "error"])).toBe("error");
    expect(overallVerdict(["error", "unsigned"])).toBe("unsigned");
    expect(overallVerdict(["unsigned", "failed", "verified"])).toBe("failed");
  });

  it("fleet, cluster and namespace figures; an image is verified only if all its containers are; an unknown digest is an error", () => {
    const rows: ContainerVerdicts[] = [
      { containerId: "1", cluster: "a", namespace: "x", digest: "sha256:1", verdicts: ["verified"] },
      { containerId: "2", cluster: "a", namespace: "x", digest: "sha256:1", verdicts: ["verified", "failed"] },
      { containerId: "3", cluster: "a", namespace: "y", digest: "sha256:2", verdicts: ["verified"] },
      { containerId: "4", cluster: "b", namespace: "x", digest: "sha256:3", verdicts: ["error"] },
      { containerId: "5", cluster: "b", namespace: "x", digest: null, verdicts: [] },
      { containerId: "6", cluster: "b", namespace: "x", digest: "sha256:4", verdicts: ["unsigned"] },
    ];
    const [fleet, ...rest] = computeCoverage(rows);
    expect(fleet).toEqual({
      scope: "fleet", cluster: null, namespace: null,
      containersTotal: 6, containersVerified: 2, containersFailed: 1, containersUnsigned: 1, containersError: 2, containersUnmatched: 0,
      containersStale: 0, containersStaleVerified: 0, imagesTotal: 5, imagesVerified: 1,
    });
    expect(rest.map((r) => [r.scope, r.cluster, r.namespace, r.containersTotal, r.containersVerified])).toEqual([
      ["cluster", "a", null, 3, 2],
      ["cluster", "b", null, 3, 0],
      ["namespace", "a", "x", 2, 1],
      ["namespace", "a", "y", 1, 1],
      ["namespace", "b", "x", 3, 0],
    ]);
    expect(percent(2, 6)).toBe(33.3);
    expect(percent(0, 0)).toBe(0);
  });

  it("an error with a last known verdict is stale (never verified); without one it is an error (unknown)", () => {
    const base = { cluster: "a", namespace: "x" };
    // the registry went away: the verified one and the unsigned one keep their last known verdicts
    expect(containerState({ ...base, containerId: "1", digest: "sha256:1", verdicts: ["error"], lastKnown: ["verified"] })).toEqual({ bucket: "stale", lastKnown: "verified" });
    expect(containerState({ ...base, containerId: "2", digest: "sha256:2", verdicts: ["error", "verified"], lastKnown: ["unsigned", "verified"] })).toEqual({ bucket: "stale", lastKnown: "unsigned" });
    // one policy never known: nothing to fall back to
    expect(containerState({ ...base, containerId: "3", digest: "sha256:3", verdicts: ["error", "error"], lastKnown: ["verified", null] })).toEqual({ bucket: "error" });
    expect(containerState({ ...base, containerId: "4", digest: "sha256:4", verdicts: ["error"] })).toEqual({ bucket: "error" });
    // a definite failure beats an error: not stale, failed now
    expect(containerState({ ...base, containerId: "5", digest: "sha256:5", verdicts: ["error", "failed"], lastKnown: ["verified", "failed"] })).toEqual({ bucket: "failed" });
    // its cluster could not be listed: last known, whatever the verdict
    expect(containerState({ ...base, containerId: "6", digest: "sha256:6", verdicts: ["verified"], clusterStale: true })).toEqual({ bucket: "stale", lastKnown: "verified" });
    expect(containerState({ ...base, containerId: "7", digest: "sha256:7", verdicts: [], clusterStale: true })).toEqual({ bucket: "unmatched" });
  });

  it("a registry outage moves verdicts to stale: each keeps its last known verdict, so coverage neither drops nor rises", () => {
    const before: ContainerVerdicts[] = [
      { containerId: "1", cluster: "a", namespace: "x", digest: "sha256:1", verdicts: ["verified"], lastKnown: ["verified"] },
      { containerId: "2", cluster: "a", namespace: "x", digest: "sha256:2", verdicts: ["verified"], lastKnown: ["verified"] },
      { containerId: "3", cluster: "a", namespace: "x", digest: "sha256:3", verdicts: ["unsigned"], lastKnown: ["unsigned"] },
      { containerId: "4", cluster: "a", namespace: "x", digest: "sha256:4", verdicts: ["verified"], lastKnown: ["verified"] },
    ];
    const [b] = computeCoverage(before);
    expect(coverage(b!)).toBe(75);
    // two images could not be re-checked (ECONNREFUSED)
    const during = before.map((r, i) => (i < 2 ? { ...r, verdicts: ["error" as const] } : r));
    const [d] = computeCoverage(during);
    expect(d).toMatchObject({ containersTotal: 4, containersVerified: 1, containersUnsigned: 1, containersError: 0, containersStale: 2, containersStaleVerified: 2 });
    expect(d!.containersVerified + d!.containersFailed + d!.containersUnsigned + d!.containersError + d!.containersStale + d!.containersUnmatched).toBe(d!.containersTotal);
    expect(coverage(d!)).toBe(75);
    // everything stale: the same figure, never 0 % (and nothing in containersVerified)
    const [all] = computeCoverage(before.map((r) => ({ ...r, verdicts: ["error" as const] })));
    expect(all).toMatchObject({ containersVerified: 0, containersStale: 4, containersStaleVerified: 3, imagesVerified: 0 });
    expect(coverage(all!)).toBe(75);
  });

  it("Signet's inability to look never raises coverage: an unsigned image that starts failing to answer stays not verified", () => {
    const rows: ContainerVerdicts[] = [
      { containerId: "1", cluster: "a", namespace: "x", digest: "sha256:1", verdicts: ["verified"] },
      { containerId: "2", cluster: "a", namespace: "x", digest: "sha256:2", verdicts: ["unsigned"] },
    ];
    const [b] = computeCoverage(rows);
    expect(coverage(b!)).toBe(50);
    // its registry (attacker-controlled, say) now answers 500: the verdict is an error with a last known "unsigned"
    const [d] = computeCoverage([rows[0]!, { ...rows[1]!, verdicts: ["error"], lastKnown: ["unsigned"] }]);
    expect(coverage(d!)).toBe(50);
    // a new image that could never be checked counts as not verified: 1 of 3, not 1 of 1
    const [n] = computeCoverage([...rows.slice(0, 1), { containerId: "3", cluster: "a", namespace: "x", digest: "sha256:3", verdicts: ["error"] }, { containerId: "4", cluster: "a", namespace: "x", digest: "sha256:4", verdicts: ["error"] }]);
    expect(n).toMatchObject({ containersVerified: 1, containersError: 2 });
    expect(coverage(n!)).toBe(33.3);
    // no policy applies to anything: no figure (not 0 %)
    const [u] = computeCoverage([{ containerId: "5", cluster: "a", namespace: "x", digest: "sha256:5", verdicts: ["unmatched"] }]);
    expect(coverage(u!)).toBeNull();
  });

  it("progress toward a target: how many more containers must be verified (stale ones by their last known verdict)", () => {
    const f = { containersTotal: 7, containersUnmatched: 1, containersVerified: 4, containersStaleVerified: 0 };
    expect(toTarget(f, 90)).toEqual({ reached: false, missing: 2 }); // ceil(5.4) = 6
    expect(toTarget(f, 60)).toEqual({ reached: true, missing: 0 });
    expect(toTarget({ ...f, containersVerified: 3, containersStaleVerified: 1 }, 60)).toEqual({ reached: true, missing: 0 });
    expect(toTarget({ containersTotal: 0, containersUnmatched: 0, containersVerified: 0, containersStaleVerified: 0 }, 50)).toEqual({ reached: false, missing: 0 });
  });

  it("a last known \"verified\" survives an error only under the same policy version", () => {
    expect(lastKnownAfter("verified", undefined, 1)).toBe("verified");
    expect(lastKnownAfter("error", undefined, 1)).toBeNull();
    expect(lastKnownAfter("error", { value: "verified", lastKnownValue: "verified", policyVersion: 3 }, 3)).toBe("verified");
    // through several errors
    expect(lastKnownAfter("error", { value: "error", lastKnownValue: "unsigned", policyVersion: 3 }, 3)).toBe("unsigned");
    // the policy was changed (say, a key removed): "verified" under version 3 says nothing about version 4
    expect(lastKnownAfter("error", { value: "verified", lastKnownValue: "verified", policyVersion: 3 }, 4)).toBeNull();
    expect(lastKnownAfter("error", { value: "error", lastKnownValue: "verified", policyVersion: 3 }, 4)).toBeNull();
    // not verified under version 3 stays not verified (carrying it can only under-state coverage)
    expect(lastKnownAfter("error", { value: "unsigned", lastKnownValue: "unsigned", policyVersion: 3 }, 4)).toBe("unsigned");
    expect(lastKnownAfter("error", { value: "error", lastKnownValue: "failed", policyVersion: 3 }, 4)).toBe("failed");
  });
});
