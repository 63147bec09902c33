"use client";

import dynamic from "next/dynamic";
import Link from "next/link";
import { usePathname, useSearchParams } from "next/navigation";
import type { CoverageTrendDto, TrendRange } from "@/lib/dto/read";

// drawn after the page paints (components/chart-drawings.tsx); the box keeps its height meanwhile
const CoverageTrendLines = dynamic(() => import("@/components/chart-drawings").then((m) => m.CoverageTrendLines), { ssr: false });

/**
 * The coverage trend of the fleet, a cluster or a namespace (data: lib/data/trend.ts getCoverageTrend),
 * with its range selector. Reusable by any page: pass the DTO; the range lives in the URL (`range`).
 */
const RANGES: { value: TrendRange; label: string }[] = [
  { value: "24h", label: "24 h" },
  { value: "7d", label: "7 d" },
  { value: "30d", label: "30 d" },
  { value: "90d", label: "90 d" },
];

/** Links to the same page with another `range` (other query parameters kept). */
export function TrendRangeSelector({ current }: { current: TrendRange }) {
  const pathname = usePathname();
  const params = useSearchParams();
  const href = (range: TrendRange) => {
    const next = new URLSearchParams(params.toString());
    next.set("range", range);
    return `${pathname}?${next.toString()}`;
  };
  return (
    <nav aria-label="Trend range" className="flex gap-1 text-xs" data-testid="trend-range">
      {RANGES.map((r) => (
        <Link
          key={r.value}
          href={href(r.value)}
          scroll={false}
          aria-current={r.value === current ? "page" : undefined}
          data-testid={`trend-range-${r.value}`}
          className={`rounded px-2 py-1 ${r.value === current ? "bg-slate-900 text-white dark:bg-slate-100 dark:text-slate-900" : "text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"}`}
        >
          {r.label}
        </Link>
      ))}
    </nav>
  );
}

const tick = (iso: string, range: TrendRange) => (range === "24h" ? iso.slice(11, 16) : iso.slice(5, 16).replace("T", " "));

/**
 * Step lines (a coverage holds until the next snapshot; nothing is interpolated between scans) of the
 * coverage (lib/coverage/compute: stale containers by their last known verdict) and the verified share
 * of distinct images, the stale/unknown share, and the target. A snapshot where no policy applied to
 * anything leaves a gap, never a drop to 0 %.
 */
export function CoverageTrendChart({ trend, height = 240 }: { trend: CoverageTrendDto; height?: number }) {
  const { points, target, range } = trend;
  const data = points.map((p) => ({ t: tick(p.takenAt, range), at: p.takenAt, containers: p.containersPct, images: p.imagesPct, stale: p.stalePct }));
  const last = points.at(-1);
  const label = last
    ? `Coverage trend over ${range}: ${points.length} snapshots, last ${last.containersPct === null ? "unknown" : `${last.containersPct}%`} of containers verified, target ${target}%`
    : `Coverage trend over ${range}: no snapshot, target ${target}%`;
  return (
    <div>
      <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
        <TrendRangeSelector current={range} />
        <span className="text-xs text-slate-500 dark:text-slate-400" data-testid="trend-points">
          {points.length} {points.length === 1 ? "snapshot" : "snapshots"}
        </span>
      </div>
      {points.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-400" data-testid="coverage-trend-empty">
          No scan with running containers in this range. Target {target}%.
        </p>
      ) : (
        <div role="img" aria-label={label} data-testid="coverage-trend" data-points={points.length} style={{ minHeight: height }}>
          <CoverageTrendLines data={data} target={target} height={height} dots={points.length < 40} />
        </div>
      )}
    </div>
  );
}
