/**
 * Coverage aggregation, pure: from the latest verdicts of running containers to the figures of the
 * overview and the time series (fleet, per cluster, per namespace).
 */
export type Verdict = "verified" | "failed" | "unsigned" | "error" | "unmatched";

export interface ContainerVerdicts {
  containerId: string;
  cluster: string;
  namespace: string;
  digest: string | null;
  /** Latest verdict of each applicable policy (empty = no policy applies). */
  verdicts: Verdict[];
}

/**
 * One container's overall verdict across its policies: failed beats unsigned beats error beats
 * verified (a definite failure is reported even when another policy could not tell); no policy →
 * unmatched. Verified only when every applicable policy verified.
 */
export function overallVerdict(verdicts: readonly Verdict[]): Verdict {
  const applicable = verdicts.filter((v) => v !== "unmatched");
  if (applicable.length === 0) return "unmatched";
  for (const v of ["failed", "unsigned", "error"] as const) if (applicable.includes(v)) return v;
  return "verified";
}

export interface CoverageFigures {
  containersTotal: number;
  containersVerified: number;
  containersFailed: number;
  containersUnsigned: number;
  containersError: number;
  containersUnmatched: number;
  imagesTotal: number;
  /** Distinct digests whose every running container is verified. */
  imagesVerified: number;
}

function figures(rows: readonly ContainerVerdicts[]): CoverageFigures {
  const f: CoverageFigures = {
    containersTotal: rows.length,
    containersVerified: 0,
    containersFailed: 0,
    containersUnsigned: 0,
    containersError: 0,
    containersUnmatched: 0,
    imagesTotal: 0,
    imagesVerified: 0,
  };
  const images = new Map<string, boolean>();
  for (const r of rows) {
    // No digest (the tag could not be resolved yet): we cannot tell what runs — an error, never
    // "no policy applies".
    const v = r.digest === null && r.verdicts.length === 0 ? "error" : overallVerdict(r.verdicts);
    if (v === "verified") f.containersVerified++;
    else if (v === "failed") f.containersFailed++;
    else if (v === "unsigned") f.containersUnsigned++;
    else if (v === "error") f.containersError++;
    else f.containersUnmatched++;
    // a container without a known digest counts as its own image (it cannot be verified)
    const key = r.digest ?? `unknown:${r.containerId}`;
    images.set(key, (images.get(key) ?? true) && v === "verified");
  }
  f.imagesTotal = images.size;
  f.imagesVerified = [...images.values()].filter(Boolean).length;
  return f;
}

export interface CoverageSnapshotRow extends CoverageFigures {
  scope: "fleet" | "cluster" | "namespace";
  cluster: string | null;
  namespace: string | null;
}

/** Fleet, per-cluster and per-namespace figures in one pass over the rows. */
export function computeCoverage(rows: readonly ContainerVerdicts[]): CoverageSnapshotRow[] {
  const byCluster = new Map<string, ContainerVerdicts[]>();
  const byNamespace = new Map<string, ContainerVerdicts[]>();
  for (const r of rows) {
    const c = byCluster.get(r.cluster);
    if (c) c.push(r);
    else byCluster.set(r.cluster, [r]);
    const k = `${r.cluster}\u0000${r.namespace}`;
    const n = byNamespace.get(k);
    if (n) n.push(r);
    else byNamespace.set(k, [r]);
  }
  return [
    { scope: "fleet", cluster: null, namespace: null, ...figures(rows) },
    ...[...byCluster].sort(([a], [b]) => a.localeCompare(b)).map(([c, rs]) => ({ scope: "cluster" as const, cluster: c, namespace: null, ...figures(rs) })),
    ...[...byNamespace]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, rs]) => {
        const [c, n] = k.split("\u0000") as [string, string];
        return { scope: "namespace" as const, cluster: c, namespace: n, ...figures(rs) };
      }),
  ];
}

/** Percentage with one decimal, 0 when there is nothing to cover. */
export function percent(part: number, total: number): number {
  return total === 0 ? 0 : Math.round((part / total) * 1000) / 10;
}
