/**
 * Coverage aggregation, pure: from the latest verdicts of running containers to the figures of the
 * overview and the time series (fleet, per cluster, per namespace). The semantics of stale and
 * unknown verdicts are docs/decisions/0013-stale-verdicts.md.
 */
export type Verdict = "verified" | "failed" | "unsigned" | "error" | "unmatched";

/** A verdict that says something about the image: what a stale verdict falls back to. */
export type DefiniteVerdict = "verified" | "failed" | "unsigned";

export interface ContainerVerdicts {
  containerId: string;
  cluster: string;
  namespace: string;
  digest: string | null;
  /** Latest verdict of each applicable policy (empty = no policy applies). */
  verdicts: Verdict[];
  /**
   * The last definite value of each verdict, in the order of `verdicts` (null: never known). Only read
   * for `error` verdicts; absent = none known.
   */
  lastKnown?: (DefiniteVerdict | null)[];
  /** The container's cluster could not be listed by the last scan: what runs there is last known only. */
  clusterStale?: boolean;
  /** For stale groups: the first reason of each `error` verdict, in the order of `verdicts` (null for others). */
  errorReasons?: (string | null)[];
  /** For stale groups: since when each `error` verdict is one (epoch ms; null for others). */
  errorSince?: (number | null)[];
  /** For stale groups: why the container's cluster could not be listed, and since when (epoch ms). */
  clusterError?: { reason: string; since: number | null } | null;
}

/** Stale containers that share a reason: since when (the earliest), how many, and their last known verdicts. */
export interface StaleGroup {
  reason: string;
  since: string;
  containers: number;
  lastKnown: Record<string, number>;
}

/**
 * The stale containers grouped by why they are stale (ADR 0013), largest first, at most `max` groups:
 * the reason their cluster could not be listed, else the first reason of their first `error` verdict;
 * since the earliest time one of them became stale (`now` when unknown); the mix of their last known
 * overall verdicts. Each stale container is in exactly one group, so the groups add up to
 * `containersStale` of the same rows (when there are no more than `max` reasons).
 */
export function staleGroups(rows: Iterable<ContainerVerdicts>, now: Date, max = 10): StaleGroup[] {
  const acc = new CoverageAccumulator();
  for (const r of rows) acc.add(r);
  return acc.staleGroups(now, max);
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

/**
 * The last definite value a verdict carries (ADR 0013): the new value when it is definite; through an
 * `error`, the one the previous verdict had (its value when definite, else what it carried). A
 * "verified" survives only under the same policy version: reached under an older version of a policy
 * it says nothing about the version in force (a tightened policy must not inherit it). "failed" and
 * "unsigned" carry over a version change, since carrying them can only under-state coverage.
 */
export function lastKnownAfter(
  value: Exclude<Verdict, "unmatched">,
  prev: { value: string; lastKnownValue: string | null; policyVersion: number } | undefined,
  policyVersion: number,
): DefiniteVerdict | null {
  if (value !== "error") return value;
  if (!prev) return null;
  const carried = (prev.value === "verified" || prev.value === "failed" || prev.value === "unsigned" ? prev.value : prev.lastKnownValue) as DefiniteVerdict | null;
  return carried === "verified" && prev.policyVersion !== policyVersion ? null : carried;
}

/**
 * Where one container counts — exactly one bucket:
 * - verified / failed / unsigned: a current, definite verdict;
 * - stale: Signet cannot look now (an `error` whose every policy has a last known value, or its cluster
 *   unreachable); `lastKnown` is the overall verdict it had — never in `containersVerified` (the
 *   coverage ratio counts it by that verdict: see coverageVerified);
 * - error: Signet cannot tell and knows nothing earlier (unknown);
 * - unmatched: no policy applies.
 */
export type CoverageState =
  | { bucket: "verified" | "failed" | "unsigned" | "error" | "unmatched" }
  | { bucket: "stale"; lastKnown: Verdict };

export function containerState(r: ContainerVerdicts): CoverageState {
  // No digest and no verdict (the tag could not be resolved yet): we cannot tell what runs — an
  // error, never "no policy applies".
  const current = r.digest === null && r.verdicts.length === 0 ? "error" : overallVerdict(r.verdicts);
  if (current === "unmatched") return { bucket: "unmatched" };
  if (current !== "error") return r.clusterStale ? { bucket: "stale", lastKnown: current } : { bucket: current };
  // an error: the last known value of each verdict that is an error now
  const substituted: Verdict[] = [];
  let allKnown = r.verdicts.length > 0;
  r.verdicts.forEach((v, i) => {
    if (v !== "error") return substituted.push(v);
    const known = r.lastKnown?.[i] ?? null;
    if (known === null) allKnown = false;
    else substituted.push(known);
  });
  return allKnown ? { bucket: "stale", lastKnown: overallVerdict(substituted) } : { bucket: "error" };
}

export interface CoverageFigures {
  /** Every running container: verified + failed + unsigned + error + stale + unmatched. */
  containersTotal: number;
  containersVerified: number;
  containersFailed: number;
  containersUnsigned: number;
  /** Signet cannot tell and knows no earlier verdict (unknown). */
  containersError: number;
  containersUnmatched: number;
  /** Last known only (see CoverageState); not in verified / failed / unsigned / error. */
  containersStale: number;
  /** Stale containers whose last known verdict was verified. */
  containersStaleVerified: number;
  imagesTotal: number;
  /** Distinct digests whose every running container is verified (currently, not stale). */
  imagesVerified: number;
}

/** Every figure's name (the columns of CoverageSnapshot that hold figures). */
export const FIGURE_KEYS = [
  "containersTotal",
  "containersVerified",
  "containersFailed",
  "containersUnsigned",
  "containersError",
  "containersUnmatched",
  "containersStale",
  "containersStaleVerified",
  "imagesTotal",
  "imagesVerified",
] as const satisfies readonly (keyof CoverageFigures)[];

/** The figures of a row that has them (a snapshot row), and nothing else. */
export function pickFigures(r: CoverageFigures): CoverageFigures {
  return Object.fromEntries(FIGURE_KEYS.map((k) => [k, r[k]])) as unknown as CoverageFigures;
}

/** Prisma `select` of every figure. */
export const FIGURES_SELECT = Object.fromEntries(FIGURE_KEYS.map((k) => [k, true])) as Record<(typeof FIGURE_KEYS)[number], true>;

/** The buckets of CoverageState, in the order pages, reports and metrics list them. */
export const BUCKETS = ["verified", "failed", "unsigned", "error", "stale", "unmatched"] as const satisfies readonly CoverageState["bucket"][];
export type Bucket = (typeof BUCKETS)[number];

/** Containers per bucket of a row of figures (a snapshot row). */
export function bucketCounts(f: Pick<CoverageFigures, "containersVerified" | "containersFailed" | "containersUnsigned" | "containersError" | "containersStale" | "containersUnmatched">): Record<Bucket, number> {
  return {
    verified: f.containersVerified,
    failed: f.containersFailed,
    unsigned: f.containersUnsigned,
    error: f.containersError,
    stale: f.containersStale,
    unmatched: f.containersUnmatched,
  };
}

/** The figures the coverage ratio is computed from. */
export type CoverageBasis = Pick<CoverageFigures, "containersTotal" | "containersUnmatched" | "containersVerified" | "containersStaleVerified">;

/**
 * The containers the coverage ratio is about: every running container a policy applies to. A
 * container Signet cannot tell anything about (never known) counts in it as not verified.
 */
export function coverageBase(f: CoverageBasis): number {
  return f.containersTotal - f.containersUnmatched;
}

/**
 * The containers the coverage ratio counts as verified: verified now, and stale ones whose last known
 * verdict (under the policy version in force, ADR 0013) was verified. A stale container that was not
 * verified stays not verified, so Signet's inability to look can neither raise the figure nor drop
 * it: an `error` only ever keeps a container where it was.
 */
export function coverageVerified(f: CoverageBasis): number {
  return f.containersVerified + f.containersStaleVerified;
}

/**
 * Coverage of the containers a policy applies to (percent, one decimal), stale ones by their last
 * known verdict; null when no policy applies to any running container (shown as "—", never 0 %).
 */
export function coverage(f: CoverageBasis): number | null {
  const base = coverageBase(f);
  return base === 0 ? null : percent(coverageVerified(f), base);
}

export interface CoverageSnapshotRow extends CoverageFigures {
  scope: "fleet" | "cluster" | "namespace";
  cluster: string | null;
  namespace: string | null;
}

/** Fleet, per-cluster and per-namespace figures in one pass over the rows. */
export function computeCoverage(rows: Iterable<ContainerVerdicts>): CoverageSnapshotRow[] {
  const acc = new CoverageAccumulator();
  for (const r of rows) acc.add(r);
  return acc.rows();
}

/** The figures of one scope being counted, and whether each image seen in it is verified so far. */
interface Tally {
  f: CoverageFigures;
  images: Map<number, boolean>;
}

const newTally = (): Tally => ({
  f: {
    containersTotal: 0,
    containersVerified: 0,
    containersFailed: 0,
    containersUnsigned: 0,
    containersError: 0,
    containersUnmatched: 0,
    containersStale: 0,
    containersStaleVerified: 0,
    imagesTotal: 0,
    imagesVerified: 0,
  },
  images: new Map(),
});

/**
 * Coverage counted row by row (computeCoverage, staleGroups): the rows themselves are not kept, so
 * a coverage snapshot of 100,000 containers reads them in pages (lib/scan/snapshot.ts) and holds only
 * the counts — per scope, and each image's state per scope as a number — not the rows.
 */
export class CoverageAccumulator {
  private readonly fleet = newTally();
  private readonly clusters = new Map<string, Tally>();
  private readonly namespaces = new Map<string, Tally>();
  /** Image key (digest, or the container for one without a digest) → a small number. */
  private readonly imageNumbers = new Map<string, number>();
  private readonly stale = new Map<string, { reason: string; since: number | null; sinceUnknown: boolean; containers: number; lastKnown: Record<string, number> }>();

  /** Counts one container; returns where it counts (its CoverageState) and, when stale, its stale group's reason. */
  add(r: ContainerVerdicts): CoverageState & { staleReason: string | null } {
    const s = containerState(r);
    // a container without a known digest counts as its own image (it cannot be verified)
    const key = r.digest ?? `unknown:${r.containerId}`;
    let image = this.imageNumbers.get(key);
    if (image === undefined) this.imageNumbers.set(key, (image = this.imageNumbers.size));
    let c = this.clusters.get(r.cluster);
    if (!c) this.clusters.set(r.cluster, (c = newTally()));
    const nsKey = `${r.cluster}\u0000${r.namespace}`;
    let n = this.namespaces.get(nsKey);
    if (!n) this.namespaces.set(nsKey, (n = newTally()));
    for (const t of [this.fleet, c, n]) {
      const f = t.f;
      f.containersTotal++;
      if (s.bucket === "verified") f.containersVerified++;
      else if (s.bucket === "failed") f.containersFailed++;
      else if (s.bucket === "unsigned") f.containersUnsigned++;
      else if (s.bucket === "error") f.containersError++;
      else if (s.bucket === "stale") {
        f.containersStale++;
        if (s.lastKnown === "verified") f.containersStaleVerified++;
      } else f.containersUnmatched++;
      t.images.set(image, (t.images.get(image) ?? true) && s.bucket === "verified");
    }
    return { ...s, staleReason: s.bucket === "stale" ? this.addStale(r, s.lastKnown) : null };
  }

  /** Counts a stale container in its group; returns the group's reason. */
  private addStale(r: ContainerVerdicts, lastKnown: Verdict): string {
    let reason: string;
    let since: number | null = null;
    if (r.clusterStale) {
      reason = r.clusterError?.reason ?? "the cluster could not be listed";
      since = r.clusterError?.since ?? null;
    } else {
      const first = r.verdicts.indexOf("error");
      reason = r.errorReasons?.[first] ?? "unknown reason";
      r.verdicts.forEach((v, i) => {
        const at = v === "error" ? (r.errorSince?.[i] ?? null) : null;
        if (at !== null && (since === null || at < since)) since = at;
      });
    }
    let g = this.stale.get(reason);
    if (!g) this.stale.set(reason, (g = { reason, since: null, sinceUnknown: false, containers: 0, lastKnown: {} }));
    g.containers++;
    g.lastKnown[lastKnown] = (g.lastKnown[lastKnown] ?? 0) + 1;
    if (since === null) g.sinceUnknown = true;
    else if (g.since === null || since < g.since) g.since = since;
    return reason;
  }

  /** Fleet, per-cluster and per-namespace figures of the rows added. */
  rows(): CoverageSnapshotRow[] {
    const figures = (t: Tally): CoverageFigures => {
      let verified = 0;
      for (const v of t.images.values()) if (v) verified++;
      return { ...t.f, imagesTotal: t.images.size, imagesVerified: verified };
    };
    return [
      { scope: "fleet", cluster: null, namespace: null, ...figures(this.fleet) },
      ...[...this.clusters].sort(([a], [b]) => a.localeCompare(b)).map(([c, t]) => ({ scope: "cluster" as const, cluster: c, namespace: null, ...figures(t) })),
      ...[...this.namespaces]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, t]) => {
          const [c, n] = k.split("\u0000") as [string, string];
          return { scope: "namespace" as const, cluster: c, namespace: n, ...figures(t) };
        }),
    ];
  }

  /** The stale containers of the rows added, grouped by reason (see staleGroups). */
  staleGroups(now: Date, max = 10): StaleGroup[] {
    return [...this.stale.values()]
      .map(({ reason, since, sinceUnknown, containers, lastKnown }) => {
        // since the earliest known time, `now` standing for an unknown one
        const at = since === null ? now.getTime() : sinceUnknown ? Math.min(since, now.getTime()) : since;
        return { reason, since: at, containers, lastKnown };
      })
      .sort((a, b) => b.containers - a.containers || a.reason.localeCompare(b.reason))
      .slice(0, max)
      .map((g) => ({ ...g, since: new Date(g.since).toISOString() }));
  }
}

/**
 * Percentage with one decimal, rounded down (never shown better than it is: 999 of 1000 is 99.9 %,
 * not 100 %), 0 when there is nothing to cover. Every coverage figure Signet shows goes through it.
 */
export function percent(part: number, total: number): number {
  return total <= 0 ? 0 : Math.floor((part * 1000) / total) / 10;
}

/**
 * Rollout progress toward a coverage target: how many more containers must be verified to reach it
 * (0 when reached), on the coverage ratio's figures.
 */
export function toTarget(f: CoverageBasis, targetPct: number): { reached: boolean; missing: number } {
  const base = coverageBase(f);
  const needed = Math.ceil((targetPct / 100) * base - 1e-9);
  const missing = Math.max(0, needed - coverageVerified(f));
  return { reached: base > 0 && missing === 0, missing };
}
