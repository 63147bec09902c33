import { describe, expect, it } from "vitest";
import { computeCoverage, overallVerdict, percent, type ContainerVerdicts } from "@/lib/coverage/compute";

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
      imagesTotal: 5, imagesVerified: 1,
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
});
