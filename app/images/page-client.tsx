"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ColumnDef, SortingState } from "@tanstack/react-table";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useMemo, useState } from "react";
import { DataTable, Pager } from "@/components/data-table";
import { EmptyState, ErrorState, inputClass, buttonClass, VerdictBadge } from "@/components/ui";
import type { ImageFacetsDto } from "@/lib/dto/dashboard";
import { imageListDto, type ImageListDto, type ImageListQuery } from "@/lib/dto/read";
import { getJson, toSearch } from "@/lib/ui/fetch-json";
import { formatTime, shortDigest, signerLabel, VERDICTS } from "@/lib/ui/format";
import { queryKeys } from "@/lib/ui/query-keys";
import { useHydrated } from "@/lib/ui/use-hydrated";

type Row = ImageListDto["rows"][number];
type Filters = Pick<ImageListQuery, "cluster" | "namespace" | "verdict" | "registry" | "signer" | "q" | "sort" | "order" | "page">;

const SORTABLE = new Set(["repository", "lastSeen", "containers", "verdict"]);

const columns: ColumnDef<Row, unknown>[] = [
  {
    id: "repository",
    header: "Image",
    cell: ({ row }) => (
      <div>
        <Link href={`/images/${row.original.id}`} className="font-medium text-teal-700 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-teal-600 dark:text-teal-400">
          {row.original.registry}/{row.original.repository}
        </Link>
        <div className="font-mono text-xs text-slate-500" title={row.original.digest}>
          {shortDigest(row.original.digest)}
        </div>
      </div>
    ),
  },
  { id: "verdict", header: "Verdict", cell: ({ row }) => <VerdictBadge verdict={row.original.verdict} /> },
  {
    id: "signers",
    header: "Signers",
    enableSorting: false,
    cell: ({ row }) =>
      row.original.signers.length ? (
        <ul className="text-xs">
          {row.original.signers.map((s) => (
            <li key={s} title={s} className="break-all">
              {signerLabel(s)}
            </li>
          ))}
        </ul>
      ) : (
        <span className="text-xs text-slate-500">none</span>
      ),
  },
  { id: "containers", header: "Containers", cell: ({ row }) => <span className="tabular-nums">{row.original.runningContainers}</span> },
  { id: "discovery", header: "Discovery", enableSorting: false, cell: ({ row }) => <span className="text-xs">{row.original.discovery}</span> },
  { id: "lastSeen", header: "Last seen", cell: ({ row }) => <span className="whitespace-nowrap text-xs">{formatTime(row.original.lastSeen)}</span> },
];

function Select({ label, name, value, options, onChange, render }: { label: string; name: string; value: string | undefined; options: readonly string[]; onChange: (v: string | undefined) => void; render?: (v: string) => string }) {
  return (
    <label className="flex flex-col text-xs text-slate-600 dark:text-slate-400">
      {label}
      <select name={name} className={`${inputClass} mt-1 max-w-56`} value={value ?? ""} onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">All</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {render ? render(o) : o}
          </option>
        ))}
      </select>
    </label>
  );
}

export function ImagesClient({ initialQuery, initial, facets }: { initialQuery: ImageListQuery; initial: ImageListDto; facets: ImageFacetsDto }) {
  const pathname = usePathname();
  const [filters, setFilters] = useState<Filters>({
    cluster: initialQuery.cluster,
    namespace: initialQuery.namespace,
    verdict: initialQuery.verdict,
    registry: initialQuery.registry,
    signer: initialQuery.signer,
    q: initialQuery.q,
    sort: initialQuery.sort,
    order: initialQuery.order,
    page: initialQuery.page,
  });
  const [search, setSearch] = useState(initialQuery.q ?? "");
  const hydrated = useHydrated();
  const params = useMemo(() => ({ ...filters, pageSize: initialQuery.pageSize }), [filters, initialQuery.pageSize]);
  const initialKey = JSON.stringify({ ...initialQuery });
  const query = useQuery({
    queryKey: queryKeys.images(params),
    queryFn: ({ signal }) => getJson(`/api/images${toSearch(params)}`, imageListDto, signal),
    initialData: JSON.stringify({ ...initialQuery, ...params }) === initialKey ? initial : undefined,
    placeholderData: keepPreviousData,
  });

  const update = (patch: Partial<Filters>) => {
    const next = { ...filters, page: 1, ...patch };
    setFilters(next);
    // the address follows the filters (shareable, survives a reload) without a server round trip
    window.history.replaceState(null, "", `${pathname}${toSearch({ ...next, sort: next.sort === "repository" ? undefined : next.sort, order: next.order === "asc" ? undefined : next.order, page: next.page === 1 ? undefined : next.page })}`);
  };
  const sorting: SortingState = [{ id: filters.sort, desc: filters.order === "desc" }];
  const onSortingChange = (updater: SortingState | ((old: SortingState) => SortingState)) => {
    const next = typeof updater === "function" ? updater(sorting) : updater;
    const s = next[0];
    if (s && SORTABLE.has(s.id)) update({ sort: s.id as Filters["sort"], order: s.desc ? "desc" : "asc" });
  };
  const exportHref = `/api/images/export${toSearch({ cluster: filters.cluster, namespace: filters.namespace, verdict: filters.verdict, registry: filters.registry, signer: filters.signer, q: filters.q, sort: filters.sort, order: filters.order })}`;
  const data = query.data;

  return (
    <div data-hydrated={hydrated}>
      <form
        role="search"
        aria-label="Filter images"
        className="flex flex-wrap items-end gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          update({ q: search.trim() || undefined });
        }}
      >
        <label className="flex flex-col text-xs text-slate-600 dark:text-slate-400">
          Search
          <input name="q" type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="repository or digest" className={`${inputClass} mt-1 w-56`} />
        </label>
        <Select label="Cluster" name="cluster" value={filters.cluster} options={facets.clusters} onChange={(v) => update({ cluster: v })} />
        <Select label="Namespace" name="namespace" value={filters.namespace} options={facets.namespaces} onChange={(v) => update({ namespace: v })} />
        <Select label="Verdict" name="verdict" value={filters.verdict} options={VERDICTS} onChange={(v) => update({ verdict: v as Filters["verdict"] })} />
        <Select label="Registry" name="registry" value={filters.registry} options={facets.registries} onChange={(v) => update({ registry: v })} />
        <Select label="Signer" name="signer" value={filters.signer} options={facets.signers} onChange={(v) => update({ signer: v })} render={signerLabel} />
        <button type="submit" className={buttonClass}>
          Search
        </button>
        <a href={exportHref} download className={buttonClass} data-testid="export-csv">
          Export CSV
        </a>
      </form>

      <div className="mt-4" aria-busy={query.isFetching}>
        {query.isError ? (
          <ErrorState message={`Could not load images: ${query.error.message}`} onRetry={() => void query.refetch()} />
        ) : !data ? (
          <div role="status" className="text-sm text-slate-500" data-testid="loading-state">
            Loading images…
          </div>
        ) : data.total === 0 ? (
          <EmptyState title="No images match">
            {Object.values({ ...filters, sort: undefined, order: undefined, page: undefined }).some(Boolean)
              ? "Clear a filter to see more images."
              : "No running images have been inventoried yet: run a scan."}
          </EmptyState>
        ) : (
          <>
            <DataTable columns={columns} data={data.rows} sorting={sorting} onSortingChange={onSortingChange} testId="images-table" caption="Running images" rowTestId={(r) => `image-${r.repository}`} />
            <Pager page={data.page} pageSize={data.pageSize} total={data.total} onPage={(p) => update({ page: p })} />
          </>
        )}
      </div>
    </div>
  );
}
