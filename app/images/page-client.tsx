"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ColumnDef, SortingState } from "@tanstack/react-table";
import Link from "next/link";
import { useMemo, useState } from "react";
import { DataTable, Pager } from "@/components/data-table";
import { FilterBar, FilterSearch, FilterSelect, useUrlFilters, withCurrent } from "@/components/filters";
import { SignedDownload } from "@/components/signed-download";
import { SignerList } from "@/components/signer";
import { EmptyState, ErrorState, buttonClass, TextLink, VerdictBadge } from "@/components/ui";
import type { ImageFacetsDto } from "@/lib/dto/dashboard";
import { imageListDto, type ImageListDto, type ImageListQuery } from "@/lib/dto/read";
import { getJson, toSearch } from "@/lib/ui/fetch-json";
import { shortDigest, signerName, VERDICTS } from "@/lib/ui/format";
import { links } from "@/lib/ui/links";
import { queryKeys } from "@/lib/ui/query-keys";
import { useHydrated } from "@/lib/ui/use-hydrated";
import { Time } from "@/components/time";

type Row = ImageListDto["rows"][number];
type Filters = Pick<ImageListQuery, "cluster" | "namespace" | "policy" | "verdict" | "registry" | "signer" | "q" | "sort" | "order" | "page">;

/** Each verdict, the overview's "Failed · unsigned · error" as one choice, and its "Stale / unknown". */
const VERDICT_OPTIONS = [...VERDICTS, { value: "failing", label: "failed · unsigned · error" }, { value: "stale", label: "stale / unknown" }];
const SORTABLE = new Set(["repository", "lastSeen", "containers", "verdict"]);

function columnsFor(names: Readonly<Record<string, string>>): ColumnDef<Row, unknown>[] {
  return [
    {
      id: "repository",
      header: "Image",
      cell: ({ row }) => (
        <div className="min-w-48">
          <Link href={links.image(row.original.id)} className="break-all font-medium text-teal-700 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-teal-600 dark:text-teal-400">
            {row.original.registry}/{row.original.repository}
          </Link>
          <div className="flex flex-wrap gap-x-2 text-xs text-slate-600 dark:text-slate-400">
            {row.original.tags.map((t) => (
              <span key={t} data-testid="image-tag">
                tag {t}
              </span>
            ))}
            <span className="font-mono" title={row.original.digest}>
              {shortDigest(row.original.digest)}
            </span>
          </div>
        </div>
      ),
    },
    { id: "verdict", header: "Verdict", cell: ({ row }) => <VerdictBadge verdict={row.original.verdict} /> },
    { id: "signers", header: "Signers", enableSorting: false, cell: ({ row }) => <SignerList signers={row.original.signers} names={names} discovery={row.original.discovery} /> },
    {
      id: "containers",
      header: "Containers",
      // where it runs: the image page's containers with their verdicts
      cell: ({ row }) => (
        <span className="tabular-nums">
          <TextLink href={`${links.image(row.original.id)}#placements`} testId="image-containers">
            {row.original.runningContainers}
          </TextLink>
        </span>
      ),
    },
    { id: "discovery", header: "Discovery", enableSorting: false, cell: ({ row }) => <span className="text-xs">{row.original.discovery}</span> },
    { id: "lastSeen", header: "Last seen", cell: ({ row }) => <Time iso={row.original.lastSeen} className="text-xs" /> },
  ];
}

export function ImagesClient({ initialQuery, initial, facets, signerNames }: { initialQuery: ImageListQuery; initial: ImageListDto; facets: ImageFacetsDto; signerNames: Record<string, string> }) {
  const [filters, update] = useUrlFilters<Filters>(
    {
      cluster: initialQuery.cluster,
      namespace: initialQuery.namespace,
      policy: initialQuery.policy,
      verdict: initialQuery.verdict,
      registry: initialQuery.registry,
      signer: initialQuery.signer,
      q: initialQuery.q,
      sort: initialQuery.sort,
      order: initialQuery.order,
      page: initialQuery.page,
    },
    { sort: "repository", order: "asc", page: 1 },
  );
  const [search, setSearch] = useState(initialQuery.q ?? "");
  const hydrated = useHydrated();
  const columns = useMemo(() => columnsFor(signerNames), [signerNames]);
  const params = useMemo(() => ({ ...filters, pageSize: initialQuery.pageSize }), [filters, initialQuery.pageSize]);
  const initialKey = JSON.stringify({ ...initialQuery });
  const query = useQuery({
    queryKey: queryKeys.images(params),
    queryFn: ({ signal }) => getJson(`/api/images${toSearch(params)}`, imageListDto, signal),
    initialData: JSON.stringify({ ...initialQuery, ...params }) === initialKey ? initial : undefined,
    placeholderData: keepPreviousData,
  });

  const sorting: SortingState = [{ id: filters.sort, desc: filters.order === "desc" }];
  const onSortingChange = (updater: SortingState | ((old: SortingState) => SortingState)) => {
    const next = typeof updater === "function" ? updater(sorting) : updater;
    const s = next[0];
    if (s && SORTABLE.has(s.id)) update({ sort: s.id as Filters["sort"], order: s.desc ? "desc" : "asc" });
  };
  const exportHref = `/api/images/export${toSearch({ cluster: filters.cluster, namespace: filters.namespace, policy: filters.policy, verdict: filters.verdict, registry: filters.registry, signer: filters.signer, q: filters.q, sort: filters.sort, order: filters.order })}`;
  const data = query.data;
  const signerOptions = facets.signers.map((s) => ({ value: s, label: signerName(s, signerNames) }));

  return (
    <div data-hydrated={hydrated}>
      <FilterBar label="Filter images" onSubmit={() => update({ q: search.trim() || undefined })}>
        <FilterSearch value={search} onChange={setSearch} placeholder="repository, tag or digest" />
        <FilterSelect label="Cluster" name="cluster" value={filters.cluster} options={facets.clusters} onChange={(v) => update({ cluster: v })} />
        <FilterSelect label="Namespace" name="namespace" value={filters.namespace} options={facets.namespaces} onChange={(v) => update({ namespace: v })} />
        <FilterSelect label="Policy" name="policy" value={filters.policy} options={withCurrent(facets.policies, filters.policy)} onChange={(v) => update({ policy: v })} />
        <FilterSelect
          label={filters.policy ? "Verdict under the policy" : "Verdict"}
          name="verdict"
          value={filters.verdict}
          options={VERDICT_OPTIONS}
          onChange={(v) => update({ verdict: v as Filters["verdict"] })}
        />
        <FilterSelect label="Registry" name="registry" value={filters.registry} options={facets.registries} onChange={(v) => update({ registry: v })} />
        <FilterSelect label="Signer" name="signer" value={filters.signer} options={signerOptions} onChange={(v) => update({ signer: v })} />
        <button type="submit" className={buttonClass}>
          Search
        </button>
        <SignedDownload href={exportHref} label="Export CSV" testId="export-csv" />
      </FilterBar>

      <div className="mt-4" aria-busy={query.isFetching}>
        {query.isError ? (
          <ErrorState message={`Could not load images: ${query.error.message}`} onRetry={() => void query.refetch()} />
        ) : !data ? (
          <div role="status" className="text-sm text-slate-600 dark:text-slate-400" data-testid="loading-state">
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
