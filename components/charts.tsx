"use client";

import { Bar, BarChart, CartesianGrid, Cell, Legend, Line, LineChart, Pie, PieChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { VerdictValueDto } from "@/lib/dto/read";
import { pctValue, VERDICT_COLOR } from "@/lib/ui/format";

const axis = { stroke: "#94a3b8", fontSize: 12 };
const tooltipStyle = { backgroundColor: "#0f172a", border: "none", color: "#f8fafc", fontSize: 12 };

export interface TrendPoint {
  takenAt: string;
  containersTotal: number;
  containersVerified: number;
  imagesTotal: number;
  imagesVerified: number;
}

/** Coverage over time (containers and distinct images) with the target as a dashed line. */
export function CoverageTrendChart({ points, target, height = 240 }: { points: TrendPoint[]; target: number; height?: number }) {
  const data = points.map((p) => ({
    t: p.takenAt.slice(0, 16).replace("T", " "),
    containers: pctValue(p.containersVerified, p.containersTotal),
    images: pctValue(p.imagesVerified, p.imagesTotal),
  }));
  return (
    <div role="img" aria-label={`Coverage trend over ${points.length} snapshots, target ${target}%`} data-testid="coverage-trend">
      <ResponsiveContainer width="100%" height={height} initialDimension={{ width: 640, height }}>
        <LineChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: -8 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#94a3b833" />
          <XAxis dataKey="t" tick={axis} minTickGap={40} />
          <YAxis domain={[0, 100]} tick={axis} unit="%" />
          <Tooltip contentStyle={tooltipStyle} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          <ReferenceLine y={target} stroke="#0d9488" strokeDasharray="6 4" label={{ value: `target ${target}%`, fill: "#0d9488", fontSize: 12, position: "insideTopRight" }} />
          <Line type="monotone" dataKey="containers" name="containers verified %" stroke="#2563eb" dot={points.length < 40} isAnimationActive={false} />
          <Line type="monotone" dataKey="images" name="images verified %" stroke="#7c3aed" dot={points.length < 40} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

/** The verdict mix of running containers as a donut. */
export function VerdictMixChart({ mix, height = 220 }: { mix: Record<VerdictValueDto, number>; height?: number }) {
  const data = (Object.keys(mix) as VerdictValueDto[]).filter((k) => mix[k] > 0).map((k) => ({ name: k, value: mix[k] }));
  return (
    <div role="img" aria-label={`Verdict mix: ${data.map((d) => `${d.name} ${d.value}`).join(", ")}`} data-testid="verdict-mix-chart">
      <ResponsiveContainer width="100%" height={height} initialDimension={{ width: 320, height }}>
        <PieChart>
          <Pie data={data} dataKey="value" nameKey="name" innerRadius="55%" outerRadius="85%" isAnimationActive={false}>
            {data.map((d) => (
              <Cell key={d.name} fill={VERDICT_COLOR[d.name]} />
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
