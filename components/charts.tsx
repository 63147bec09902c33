"use client";

import dynamic from "next/dynamic";
import type { MixKey } from "@/components/chart-drawings";

// The drawings load after the page paints (components/chart-drawings.tsx says why); until then the
// chart's box keeps its height, so nothing below it moves when the drawing arrives.
const VerdictMixDonut = dynamic(() => import("@/components/chart-drawings").then((m) => m.VerdictMixDonut), { ssr: false });
const DailyBars = dynamic(() => import("@/components/chart-drawings").then((m) => m.DailyBars), { ssr: false });

/** The verdict mix of running containers as a donut; `stale` (last known only, ADR 0013) is its own slice. */
export function VerdictMixChart({ mix, height = 220 }: { mix: Partial<Record<MixKey, number>>; height?: number }) {
  const data = (Object.keys(mix) as MixKey[]).filter((k) => (mix[k] ?? 0) > 0).map((k) => ({ name: k, value: mix[k]! }));
  return (
    <div role="img" aria-label={`Verdict mix: ${data.map((d) => `${d.name} ${d.value}`).join(", ")}`} data-testid="verdict-mix-chart" style={{ minHeight: height }}>
      <VerdictMixDonut data={data} height={height} />
    </div>
  );
}

/** Counts per day as bars (admission rejections). */
export function DailyBarChart({ points, label, height = 200 }: { points: { day: string; count: number }[]; label: string; height?: number }) {
  return (
    <div role="img" aria-label={`${label} per day`} data-testid="daily-chart" style={{ minHeight: height }}>
      <DailyBars points={points} label={label} height={height} />
    </div>
  );
}
