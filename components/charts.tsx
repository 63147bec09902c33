"use client";

import { Bar, BarChart, CartesianGrid, Cell, Legend, Pie, PieChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { VerdictValueDto } from "@/lib/dto/read";
import { VERDICT_COLOR } from "@/lib/ui/format";

const axis = { stroke: "#94a3b8", fontSize: 12 };
const tooltipStyle = { backgroundColor: "#0f172a", border: "none", color: "#f8fafc", fontSize: 12 };

type MixKey = VerdictValueDto | "stale";
const MIX_COLOR: Record<MixKey, string> = { ...VERDICT_COLOR, stale: "#a8a29e" };

/** The verdict mix of running containers as a donut; `stale` (last known only, ADR 0013) is its own slice. */
export function VerdictMixChart({ mix, height = 220 }: { mix: Partial<Record<MixKey, number>>; height?: number }) {
  const data = (Object.keys(mix) as MixKey[]).filter((k) => (mix[k] ?? 0) > 0).map((k) => ({ name: k, value: mix[k]! }));
  return (
    <div role="img" aria-label={`Verdict mix: ${data.map((d) => `${d.name} ${d.value}`).join(", ")}`} data-testid="verdict-mix-chart">
      <ResponsiveContainer width="100%" height={height} initialDimension={{ width: 320, height }}>
        <PieChart>
          <Pie data={data} dataKey="value" nameKey="name" innerRadius="55%" outerRadius="85%" isAnimationActive={false}>
            {data.map((d) => (
              <Cell key={d.name} fill={MIX_COLOR[d.name]} />
            ))}
          </Pie>
          <Tooltip contentStyle={tooltipStyle} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
        </PieChart>
      </ResponsiveContainer>
    </div>
  );
}

/** Counts per day as bars (admission rejections). */
export function DailyBarChart({ points, label, height = 200 }: { points: { day: string; count: number }[]; label: string; height?: number }) {
  return (
    <div role="img" aria-label={`${label} per day`} data-testid="daily-chart">
      <ResponsiveContainer width="100%" height={height} initialDimension={{ width: 640, height }}>
        <BarChart data={points} margin={{ top: 8, right: 16, bottom: 0, left: -16 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#94a3b833" />
          <XAxis dataKey="day" tick={axis} />
          <YAxis allowDecimals={false} tick={axis} />
          <Tooltip contentStyle={tooltipStyle} />
          <Bar dataKey="count" name={label} fill="#dc2626" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
