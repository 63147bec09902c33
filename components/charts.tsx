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

/**
 * Counts per day as bars (admission rejections). With `day`, each day opens the list behind its bar
 * (`href`, followed in the page by `open`): a bar is clickable, and under the chart each day is a link
 * with its count (the bars' figures, reachable by keyboard and screen readers).
 */
export function DailyBarChart({
  points,
  label,
  height = 200,
  day,
}: {
  points: { day: string; count: number }[];
  label: string;
  height?: number;
  day?: { href: (day: string) => string; open: (day: string) => void };
}) {
  return (
    <>
      <div role="img" aria-label={`${label} per day`} data-testid="daily-chart" style={{ minHeight: height }}>
        <DailyBars points={points} label={label} height={height} onDay={day?.open} />
      </div>
      {day && points.length > 0 && (
        <ul className="mt-2 flex flex-wrap gap-x-3 gap-y-1 text-xs" aria-label={`${label} per day`} data-testid="daily-links">
          {points.map((p) => (
            <li key={p.day}>
              <a
                href={day.href(p.day)}
                data-testid={`day-${p.day}`}
                onClick={(e) => {
                  if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
                  e.preventDefault();
                  day.open(p.day);
                }}
                className="tabular-nums text-teal-700 underline decoration-teal-700/40 underline-offset-2 hover:decoration-current focus:outline-none focus-visible:ring-2 focus-visible:ring-teal-600 dark:text-teal-400 dark:decoration-teal-400/50"
              >
                {p.day}: {p.count}
              </a>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
