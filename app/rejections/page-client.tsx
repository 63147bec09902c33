"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useState } from "react";
import { DailyBarChart } from "@/components/charts";
import { DataTable, Pager } from "@/components/data-table";
import { Card, EmptyState, ErrorState, inputClass, Stat } from "@/components/ui";
import { rejectionsDto, type RejectionsDto } from "@/lib/dto/dashboard";
import { getJson, toSearch } from "@/lib/ui/fetch-json";
import { formatTime } from "@/lib/ui/format";
import { queryKeys } from "@/lib/ui/query-keys";
import { useHydrated } from "@/lib/ui/use-hydrated";

type Row = RejectionsDto["rows"][number];
const columns: ColumnDef<Row, unknown>[] = [
  { id: "lastSeen", header: "Last seen", cell: ({ row }) => <span className="whitespace-nowrap text-xs">{formatTime(row.original.lastSeen)}</span> },
  { id: "where", header: "Where", cell: ({ row }) => `${row.original.cluster}/${row.original.namespace}${row.original.workload ? `/${row.original.workload}` : ""}` },
  { id: "image", header: "Image", cell: ({ row }) => <span className="break-all text-xs">{row.original.image ?? "—"}</span> },
  { id: "controller", header: "Controller", cell: ({ row }) => `${row.original.controller}${row.original.policyName ? ` · ${row.original.policyName}` : ""}` },
  { id: "message", header: "Message", cell: ({ row }) => <span className="text-xs text-slate-600 dark:text-slate-400">{row.original.message}</span> },
  { id: "count", header: "Count", cell: ({ row }) => <span className="tabular-nums">{row.original.count}</span> },
];

export function RejectionsClient({ initial, clusters }: { initial: RejectionsDto; clusters: string[] }) {
  const [f, setF] = useState<{ cluster?: string; controller?: string; q?: string; days: number; page: number }>({ days: 30, page: 1 });
  const [search, setSearch] = useState("");
  const hydrated = useHydrated();
  const isInitial = !f.cluster && !f.controller && !f.q && f.days === 30 && f.page === 1;
  const query = useQuery({
    queryKey: queryKeys.rejections(f),
    queryFn: ({ signal }) => getJson(`/api/rejections${toSearch(f)}`, rejectionsDto, signal),
    initialData: isInitial ? initial : undefined,
    placeholderData: keepPreviousData,
  });
  const set = (patch: Partial<typeof f>) => setF({ ...f, page: 1, ...patch });
  const data = query.data;
  return (
    <div data-hydrated={hydrated}>
      <form
        role="search"
        aria-label="Filter rejections"
        className="flex flex-wrap items-end gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          set({ q: search.trim() || undefined });
        }}
      >
        <label className="flex flex-col text-xs text-slate-600 dark:text-slate-400">
          Search
          <input type="search" name="q" value={search} onChange={(e) => setSearch(e.target.value)} className={`${inputClass} mt-1 w-56`} placeholder="image, workload, message" />
        </label>
        <label className="flex flex-col text-xs text-slate-600 dark:text-slate-400">
          Cluster
          <select name="cluster" className={`${inputClass} mt-1`} value={f.cluster ?? ""} onChange={(e) => set({ cluster: e.target.value || undefined })}>
            <option value="">All</option>
            {clusters.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
        <label className="flex flex-col text-xs text-slate-600 dark:text-slate-400">
          Controller
          <select name="controller" className={`${inputClass} mt-1`} value={f.controller ?? ""} onChange={(e) => set({ controller: e.target.value || undefined })}>
            <option value="">All</option>
            {["policy_controller", "kyverno", "gatekeeper", "other"].map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
        <label className="flex flex-col text-xs text-slate-600 dark:text-slate-400">
          Period
          <select name="days" className={`${inputClass} mt-1`} value={f.days} onChange={(e) => set({ days: Number(e.target.value) })}>
            {[1, 7, 30, 90, 365].map((d) => (
              <option key={d} value={d}>
                last {d} day{d > 1 ? "s" : ""}
              </option>
            ))}
          </select>
        </label>
      </form>
      {query.isError ? (
        <div className="mt-4">
          <ErrorState message={`Could not load rejections: ${query.error.message}`} onRetry={() => void query.refetch()} />
        </div>
      ) : !data ? (
        <p role="status" className="mt-4 text-sm text-slate-500" data-testid="loading-state">
          Loading…
        </p>
      ) : data.total === 0 ? (
        <div className="mt-4">
          <EmptyState title="No admission rejections">No admission controller refused a pod in this period{isInitial ? "" : " under these filters"}.</EmptyState>
        </div>
      ) : (
        <>
          <div className="mt-4 grid gap-4 lg:grid-cols-4">
            <Stat label="Rejections" value={data.total} testId="rejections-total" />
            <Stat label="Attempts" value={data.attempts} hint="event count, repeats included" testId="rejections-attempts" />
            <Card title="Per day" className="lg:col-span-2">
              <DailyBarChart points={data.perDay} label="Rejections" height={140} />
            </Card>
          </div>
          <div className="mt-4">
            <DataTable columns={columns} data={data.rows} testId="rejections-table" caption="Admission rejections" />
            <Pager page={data.page} pageSize={data.pageSize} total={data.total} onPage={(p) => setF({ ...f, page: p })} />
          </div>
        </>
      )}
    </div>
  );
}
