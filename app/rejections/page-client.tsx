"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useState } from "react";
import { DailyBarChart } from "@/components/charts";
import { DataTable, Pager } from "@/components/data-table";
import { FilterBar, FilterDate, FilterSearch, FilterSelect, useUrlFilters, withCurrent } from "@/components/filters";
import { Card, EmptyState, ErrorState, Stat, TextLink } from "@/components/ui";
import { rejectionsDto, type RejectionsDto } from "@/lib/dto/dashboard";
import { getJson, toSearch } from "@/lib/ui/fetch-json";
import { shortDigest } from "@/lib/ui/format";
import { links } from "@/lib/ui/links";
import { queryKeys } from "@/lib/ui/query-keys";
import { useHydrated } from "@/lib/ui/use-hydrated";
import { Time } from "@/components/time";

type Row = RejectionsDto["rows"][number];
export type RejectionFilters = { cluster?: string; namespace?: string; workload?: string; controller?: string; policy?: string; key?: string; q?: string; days: number; day?: string; page: number };

/**
 * "host/repo:tag@sha256:…" as the name (wrapping at slashes), a short digest with the full one on hover,
 * and a link to the running images written with this reference (the image page links back to its rejections).
 */
function RejectedImage({ image }: { image: string | null }) {
  if (!image) return <span className="text-slate-600 dark:text-slate-400">—</span>;
  const [name = image, digest] = image.split("@");
  return (
    <div className="min-w-56 max-w-sm">
      <span className="break-words [overflow-wrap:anywhere]">{name}</span>
      {digest && (
        <div className="font-mono text-xs text-slate-600 dark:text-slate-400" title={digest}>
          {shortDigest(digest)}
        </div>
      )}
      <div className="text-xs">
        {/* the image list's search matches references as containers wrote them */}
        <TextLink href={links.images({ q: name })} testId="rejection-running">
          running images of this reference
        </TextLink>
      </div>
    </div>
  );
}

const columns: ColumnDef<Row, unknown>[] = [
  { id: "lastSeen", header: "Last seen", cell: ({ row }) => <Time iso={row.original.lastSeen} className="text-xs" /> },
  {
    id: "where",
    header: "Where",
    cell: ({ row }) => (
      <div className="min-w-40">
        <TextLink href={links.namespace(row.original.cluster, row.original.namespace)}>
          {row.original.cluster}/{row.original.namespace}
        </TextLink>
        {row.original.workload && (
          <div className="break-words text-xs text-slate-600 dark:text-slate-400">
            {/* a workload that runs has its page (its row on the namespace page); one that never ran has none */}
            {row.original.workloadRunning ? (
              <TextLink href={links.workload(row.original.cluster, row.original.namespace, row.original.workload)} testId="rejection-workload">
                {row.original.workload}
              </TextLink>
            ) : (
              row.original.workload
            )}
          </div>
        )}
      </div>
    ),
  },
  { id: "image", header: "Image", cell: ({ row }) => <RejectedImage image={row.original.image} /> },
  {
    id: "controller",
    header: "Controller",
    cell: ({ row }) => (
      <div className="min-w-32 text-xs">
        {row.original.controller}
        {row.original.decision && <span className="text-slate-600 dark:text-slate-400"> ({row.original.decision})</span>}
        {row.original.callerAuthenticated === false && (
          <div className="text-amber-800 dark:text-amber-300" data-testid="unauthenticated-caller" title="The webhook's caller did not authenticate: this review may not have come from the API server (docs/decisions/0018).">
            unauthenticated caller
          </div>
        )}
        {row.original.policyName && (
          <div className="break-words text-slate-600 dark:text-slate-400">
            {row.original.policyId ? (
              <TextLink href={links.policy(row.original.policyId)} testId="rejection-policy">
                {row.original.policyName}
              </TextLink>
            ) : (
              row.original.policyName
            )}
          </div>
        )}
      </div>
    ),
  },
  { id: "message", header: "Message", cell: ({ row }) => <p className="min-w-72 max-w-xl whitespace-pre-wrap break-words text-xs text-slate-700 dark:text-slate-300">{row.original.message}</p> },
  { id: "count", header: "Count", cell: ({ row }) => <span className="tabular-nums">{row.original.count}</span> },
];

const CONTROLLERS = ["policy_controller", "kyverno", "gatekeeper", "signet", "other"];
const PERIODS = [1, 7, 30, 90, 365].map((d) => ({ value: String(d), label: `last ${d} day${d > 1 ? "s" : ""}` }));

export function RejectionsClient({
  initial,
  initialFilters,
  clusters,
  policies,
  keys,
}: {
  initial: RejectionsDto;
  initialFilters: RejectionFilters;
  clusters: string[];
  policies: string[];
  keys: string[];
}) {
  const [f, set] = useUrlFilters<RejectionFilters>(initialFilters, { days: 30, page: 1 });
  const [search, setSearch] = useState(initialFilters.q ?? "");
  const hydrated = useHydrated();
  const initialKey = JSON.stringify(initialFilters);
  const isInitial = JSON.stringify(f) === initialKey;
  const query = useQuery({
    queryKey: queryKeys.rejections(f),
    queryFn: ({ signal }) => getJson(`/api/rejections${toSearch(f)}`, rejectionsDto, signal),
    initialData: isInitial ? initial : undefined,
    placeholderData: keepPreviousData,
  });
  const data = query.data;
  const filtered = !!(f.cluster || f.namespace || f.workload || f.controller || f.policy || f.key || f.q || f.day);
  return (
    <div data-hydrated={hydrated}>
      <FilterBar label="Filter rejections" onSubmit={() => set({ q: search.trim() || undefined })}>
        <FilterSearch value={search} onChange={setSearch} placeholder="image, workload, message" />
        <FilterSelect label="Cluster" name="cluster" value={f.cluster} options={clusters} onChange={(v) => set({ cluster: v })} />
        {f.namespace && <FilterSelect label="Namespace" name="namespace" value={f.namespace} options={[f.namespace]} onChange={(v) => set({ namespace: v })} />}
        {f.workload && <FilterSelect label="Workload" name="workload" value={f.workload} options={[f.workload]} onChange={(v) => set({ workload: v })} />}
        <FilterSelect label="Controller" name="controller" value={f.controller} options={CONTROLLERS} onChange={(v) => set({ controller: v })} />
        <FilterSelect label="Policy" name="policy" value={f.policy} options={withCurrent(policies, f.policy)} onChange={(v) => set({ policy: v })} />
        {/* the rejections under the policies that trust a key (the Keys page links here) */}
        <FilterSelect label="Key" name="key" value={f.key} options={withCurrent(keys, f.key)} onChange={(v) => set({ key: v })} />
        <FilterSelect label="Period" name="days" value={String(f.days)} options={PERIODS} allLabel={null} onChange={(v) => set({ days: Number(v ?? 30), day: undefined })} />
        {/* one UTC day (a bar of the chart), instead of the period */}
        <FilterDate key={f.day ?? ""} label="Day (UTC)" name="day" value={f.day} onChange={(v) => set({ day: v })} />
      </FilterBar>
      {query.isError ? (
        <div className="mt-4">
          <ErrorState message={`Could not load rejections: ${query.error.message}`} onRetry={() => void query.refetch()} />
        </div>
      ) : !data ? (
        <p role="status" className="mt-4 text-sm text-slate-600 dark:text-slate-400" data-testid="loading-state">
          Loading…
        </p>
      ) : data.total === 0 ? (
        <div className="mt-4">
          <EmptyState title="No admission rejections">No admission controller refused a pod {f.day ? `on ${f.day}` : "in this period"}{filtered ? " under these filters" : ""}.</EmptyState>
        </div>
      ) : (
        <>
          <div className="mt-4 grid gap-4 lg:grid-cols-4">
            <Stat label="Rejections" value={data.total} testId="rejections-total" />
            <Stat label="Attempts" value={data.attempts} hint="event count, repeats included" testId="rejections-attempts" />
            <Card title="Per day" className="lg:col-span-2">
              <DailyBarChart points={data.perDay} label="Rejections" height={140} day={{ href: (day) => links.rejections({ ...f, day }), open: (day) => set({ day }) }} />
            </Card>
          </div>
          <div className="mt-4">
            <DataTable columns={columns} data={data.rows} testId="rejections-table" caption="Admission rejections" />
            <Pager page={data.page} pageSize={data.pageSize} total={data.total} onPage={(p) => set({ page: p })} />
          </div>
        </>
      )}
    </div>
  );
}
