"use client";

// The recharts drawings of the dashboard's charts. recharts is the largest part of the pages' client
// code (~440 KB of the ~1 MB), and a chart is drawn only in the browser (it measures its container),
// so the charts' wrappers (components/charts.tsx, components/trend-chart.tsx) load this module after
// the page has painted and hydrated (next/dynamic), instead of every page parsing and running it
// before its first paint. Only those wrappers import it.
import { Bar, BarChart, CartesianGrid, Cell, Legend, Line, LineChart, Pie, PieChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { VerdictValueDto } from "@/lib/dto/read";
import { VERDICT_COLOR } from "@/lib/ui/format";

const axis = { stroke: "#94a3b8", fontSize: 12 };
const tooltipStyle = { backgroundColor: "#0f172a", border: "none", color: "#f8fafc", fontSize: 12 };

export type MixKey = VerdictValueDto | "stale";
const MIX_COLOR: Record<MixKey, string> = { ...VERDICT_COLOR, stale: "#a8a29e" };

/** The verdict mix as a donut (components/charts.tsx VerdictMixChart). */
export function VerdictMixDonut({ data, height }: { data: { name: MixKey; value: number }[]; height: number }) {
  return (
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
  );
}

/** Counts per day as bars (components/charts.tsx DailyBarChart). */
export function DailyBars({ points, label, height, onDay }: { points: { day: string; count: number }[]; label: string; height: number; onDay?: (day: string) => void }) {
  return (
    <ResponsiveContainer width="100%" height={height} initialDimension={{ width: 640, height }}>
      <BarChart data={points} margin={{ top: 8, right: 16, bottom: 0, left: -16 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="#94a3b833" />
        <XAxis dataKey="day" tick={axis} />
        <YAxis allowDecimals={false} tick={axis} />
        <Tooltip contentStyle={tooltipStyle} />
        <Bar
          dataKey="count"
          name={label}
          fill="#dc2626"
          isAnimationActive={false}
          cursor={onDay ? "pointer" : undefined}
          onClick={onDay ? (d: { payload?: { day?: string } }) => d.payload?.day && onDay(d.payload.day) : undefined}
        />
      </BarChart>
    </ResponsiveContainer>
  );
}

export interface TrendRow {
  t: string;
  at: string;
  containers: number | null;
  images: number | null;
  stale: number | null;
}

/** The coverage trend's step lines and target (components/trend-chart.tsx CoverageTrendChart). */
export function CoverageTrendLines({ data, target, height, dots }: { data: TrendRow[]; target: number; height: number; dots: boolean }) {
  return (
    <ResponsiveContainer width="100%" height={height} initialDimension={{ width: 640, height }}>
      <LineChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: -8 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="#94a3b833" />
        <XAxis dataKey="t" tick={axis} minTickGap={40} />
        <YAxis domain={[0, 100]} tick={axis} unit="%" />
        <Tooltip contentStyle={tooltipStyle} labelFormatter={(_, p) => (p[0]?.payload as { at?: string } | undefined)?.at?.replace("T", " ").replace(/\.\d+Z$/, " UTC") ?? ""} />
        <Legend wrapperStyle={{ fontSize: 12 }} />
        <ReferenceLine y={target} stroke="#0d9488" strokeDasharray="6 4" label={{ value: `target ${target}%`, fill: "#0d9488", fontSize: 12, position: "insideTopRight" }} />
        <Line type="stepAfter" dataKey="containers" name="containers verified %" stroke="#2563eb" dot={dots} connectNulls={false} isAnimationActive={false} />
        <Line type="stepAfter" dataKey="images" name="images verified %" stroke="#7c3aed" dot={dots} connectNulls={false} isAnimationActive={false} />
        <Line type="stepAfter" dataKey="stale" name="stale / unknown %" stroke="#d97706" strokeDasharray="4 3" dot={false} isAnimationActive={false} />
      </LineChart>
    </ResponsiveContainer>
  );
}
