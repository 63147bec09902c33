import "server-only";
import type { Db } from "@/lib/db/client";
import { coverage, percent } from "@/lib/coverage/compute";
import { coverageTrendDto, type CoverageTrendDto, type TrendPointDto, type TrendRange } from "@/lib/dto/read";
import { getEnv } from "@/lib/env";

export const TREND_RANGE_MS: Record<TrendRange, number> = { "24h": 86_400_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000, "90d": 90 * 86_400_000 };

/** The most points a trend returns (the newest); a 90-day range of per-minute scans is thinned to this. */
const MAX_POINTS = 1500;

interface SnapshotFigures {
  takenAt: Date;
  containersTotal: number;
  containersVerified: number;
  containersFailed: number;
  containersUnsigned: number;
  containersError: number;
  containersStale: number;
  containersStaleVerified: number;
  containersUnmatched: number;
  imagesTotal: number;
  imagesVerified: number;
}

/**
 * One trend point from one snapshot; null for a snapshot of nothing (a scan of zero containers draws
 * no point). Coverage is the ratio of lib/coverage/compute (stale containers by their last known
 * verdict, never-known ones as not verified; ADR 0013).
 */
export function trendPointOf(s: SnapshotFigures): TrendPointDto | null {
  if (s.containersTotal === 0) return null;
  const containersPct = coverage(s);
  return {
    takenAt: s.takenAt.toISOString(),
    containersTotal: s.containersTotal,
    containersPct,
    // images: the verified share of the distinct digests (verified now: stale ones are not)
    imagesPct: containersPct === null || s.imagesTotal === 0 ? null : percent(s.imagesVerified, s.imagesTotal),
    stalePct: percent(s.containersStale + s.containersError, s.containersTotal),
  };
}

/** Keeps at most `max` points, evenly spaced, always the last. */
function thin<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const step = points.length / max;
  const out: T[] = [];
  for (let i = 0; i < max - 1; i++) out.push(points[Math.floor(i * step)]!);
  out.push(points[points.length - 1]!);
  return out;
}

/**
 * The coverage trend of the fleet, one cluster or one namespace over a range, from the coverage
 * snapshots (one per finished scan or re-evaluation), with the target in force there
 * (SIGNET_CLUSTER_COVERAGE_TARGETS, else SIGNET_COVERAGE_TARGET). Reusable by any page.
 */
export async function getCoverageTrend(
  db: Db,
  opts: { range: TrendRange; cluster?: string; namespace?: string; now?: Date },
): Promise<CoverageTrendDto> {
  const env = getEnv();
  const now = opts.now ?? new Date();
  const since = new Date(now.getTime() - TREND_RANGE_MS[opts.range]);
  const scope = opts.namespace !== undefined && opts.cluster !== undefined ? "namespace" : opts.cluster !== undefined ? "cluster" : "fleet";
  const target = (opts.cluster !== undefined ? env.SIGNET_CLUSTER_COVERAGE_TARGETS[opts.cluster] : undefined) ?? env.SIGNET_COVERAGE_TARGET;
  const cluster = opts.cluster !== undefined ? await db.cluster.findUnique({ where: { name: opts.cluster }, select: { id: true } }) : null;
  const base = { scope, cluster: opts.cluster ?? null, namespace: scope === "namespace" ? opts.namespace! : null, range: opts.range, target } as const;
  if (opts.cluster !== undefined && !cluster) return coverageTrendDto.parse({ ...base, points: [] });
  const rows = await db.coverageSnapshot.findMany({
    where: { scope, clusterId: cluster?.id ?? null, namespace: scope === "namespace" ? opts.namespace! : null, takenAt: { gte: since } },
    orderBy: { takenAt: "desc" },
    take: MAX_POINTS * 4,
    select: {
      takenAt: true,
      containersTotal: true,
      containersVerified: true,
      containersFailed: true,
      containersUnsigned: true,
      containersError: true,
      containersStale: true,
      containersStaleVerified: true,
      containersUnmatched: true,
      imagesTotal: true,
      imagesVerified: true,
    },
  });
  const points = rows.reverse().flatMap((r) => trendPointOf(r) ?? []);
  return coverageTrendDto.parse({ ...base, points: thin(points, MAX_POINTS) });
}
