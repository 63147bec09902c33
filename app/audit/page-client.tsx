"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useState } from "react";
import { DataTable } from "@/components/data-table";
import { SignedDownload } from "@/components/signed-download";
import { FilterBar, FilterDate, FilterSearch, FilterSelect, useUrlFilters, withCurrent } from "@/components/filters";
import { Time } from "@/components/time";
import { buttonClass, EmptyState, ErrorState, TextLink, VerdictBadge } from "@/components/ui";
import { chainStatusDto } from "@/lib/dto/dashboard";
import { auditPageDto, type AuditPageDto } from "@/lib/dto/read";
import { getJson, toSearch } from "@/lib/ui/fetch-json";
import { VERDICTS } from "@/lib/ui/format";
import { auditApiFilters, type AuditFilters } from "@/lib/ui/audit-filters";
import { auditEventLinks } from "@/lib/ui/audit-links";
import { queryKeys } from "@/lib/ui/query-keys";
import { useHydrated } from "@/lib/ui/use-hydrated";

type Event = AuditPageDto["events"][number];
const columns: ColumnDef<Event, unknown>[] = [
  { id: "seq", header: "#", cell: ({ row }) => <span className="tabular-nums text-xs">{row.original.seq}</span> },
  { id: "occurredAt", header: "When", cell: ({ row }) => <Time iso={row.original.occurredAt} className="text-xs" /> },
  { id: "kind", header: "Kind", cell: ({ row }) => row.original.kind },
  { id: "actor", header: "Actor", cell: ({ row }) => <span className="break-all text-xs">{row.original.actor ?? ""}</span> },
  {
    id: "what",
    header: "What",
    // the changed object and, where recorded, old -> new (lib/audit/describe.ts)
    cell: ({ row }) => {
      const e = row.original;
      const objects = auditEventLinks(e);
      return (
        <div className="min-w-64 max-w-xl text-xs">
          <span className="block break-words" data-testid="event-summary">
            {e.summary}
          </span>
          {objects.length > 0 && (
            <span className="mt-0.5 flex flex-wrap gap-x-2" data-testid="event-links">
              {objects.map((l) => (
                <TextLink key={l.href} href={l.href}>
                  {l.label}
                </TextLink>
              ))}
            </span>
          )}
        </div>
      );
    },
  },
  {
    id: "verdict",
    header: "Verdict",
    cell: ({ row }) =>
      row.original.verdict ? (
        <span className="whitespace-nowrap">
          {row.original.previousVerdict && (
            <>
              <VerdictBadge verdict={row.original.previousVerdict} /> →{" "}
            </>
          )}
          <VerdictBadge verdict={row.original.verdict} />
        </span>
      ) : null,
  },
  { id: "hash", header: "Hash", cell: ({ row }) => <span className="font-mono text-xs" title={row.original.hash}>{row.original.hash.slice(0, 12)}</span> },
];

const KINDS = ["verdict", "admin", "scan", "system", "admission"];

/** A policy's version numbers, newest first. */
const versionsOf = (newest: number): string[] => Array.from({ length: newest }, (_, i) => String(newest - i));

export function AuditClient({
  initial,
  initialFilters,
  clusters,
  actors,
  keys,
  policies,
}: {
  initial: AuditPageDto;
  initialFilters: AuditFilters;
  clusters: string[];
  actors: string[];
  keys: string[];
  /** Every policy (archived ones too) with its newest version number. */
  policies: { name: string; versions: number }[];
}) {
  const [f, setFilters] = useUrlFilters<AuditFilters>(initialFilters);
  const [searchText, setSearchText] = useState(initialFilters.q ?? "");
  const [digestText, setDigestText] = useState(initialFilters.imageDigest ?? "");
  const hydrated = useHydrated();
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const before = cursors[cursors.length - 1];
  const apiFilters = auditApiFilters(f);
  const params = { ...apiFilters, before, limit: "50" };
  const isInitial = JSON.stringify(f) === JSON.stringify(initialFilters) && before === undefined;
  const events = useQuery({
    queryKey: queryKeys.audit(params),
    queryFn: ({ signal }) => getJson(`/api/audit${toSearch(params)}`, auditPageDto, signal),
    initialData: isInitial ? initial : undefined,
    placeholderData: keepPreviousData,
  });
  const chain = useQuery({ queryKey: queryKeys.auditChain(), queryFn: ({ signal }) => getJson("/api/audit/chain", chainStatusDto, signal), staleTime: 0 });
  const set = (patch: Partial<AuditFilters>) => {
    // the digest box applies with the other filters (Enter submits them all)
    setFilters({ imageDigest: digestText.trim() || undefined, ...patch });
    setCursors([undefined]);
  };
  const exportQuery = toSearch(apiFilters);
  const data = events.data;
  return (
    <div data-hydrated={hydrated}>
      <div className="mb-4 rounded-lg border border-slate-200 bg-white p-3 text-sm dark:border-slate-800 dark:bg-slate-900" data-testid="chain-status" aria-live="polite">
        {chain.isPending ? (
          <span role="status">Verifying the hash chain…</span>
        ) : chain.isError ? (
          <span className="text-red-700 dark:text-red-400">Chain status unavailable: {chain.error.message}</span>
        ) : chain.data.ok ? (
          <span className="text-emerald-700 dark:text-emerald-400">
            ✓ Chain intact: {chain.data.checked} events verified
            {chain.data.anchoredThrough ? (
              <>
                , signed checkpoint through event {chain.data.anchoredThrough.seq} (<Time iso={chain.data.anchoredThrough.at} />)
              </>
            ) : (
              ""
            )}
            {chain.data.witness === "matched" ? ", local witness matches" : ""} — checked <Time iso={chain.data.checkedAt} />
          </span>
        ) : (
          <span className="text-red-700 dark:text-red-400" data-testid="chain-problem" data-kind={chain.data.problem?.kind}>
            ✗ Chain {chain.data.problem?.kind === "unanchored" ? "not anchored" : "broken"}
            {chain.data.problem?.throughSeq ? ` at event ${chain.data.problem.throughSeq}` : ""}: {chain.data.problem?.message} ({chain.data.checked} events verified before it;
            checked <Time iso={chain.data.checkedAt} />)
          </span>
        )}
        {chain.data && (
          <button type="button" className={`${buttonClass} ml-3`} onClick={() => void chain.refetch()} disabled={chain.isFetching}>
            {chain.isFetching ? "Verifying…" : "Verify again"}
          </button>
        )}
        {chain.data && (
          <p className="mt-1 text-xs text-slate-600 dark:text-slate-400">
            Checkpoints are signed with key <span className="font-mono">{chain.data.keyFingerprint.slice(0, 16)}…</span> (<code>signet audit public-key</code>); exports in JSON carry
            the newest one, for <code>signet audit verify --file</code>.
          </p>
        )}
      </div>
      <FilterBar label="Filter audit events" onSubmit={() => set({ q: searchText.trim().length >= 3 ? searchText.trim() : undefined })}>
        <FilterSelect label="Kind" name="kind" value={f.kind} options={KINDS} onChange={(v) => set({ kind: v })} />
        <FilterSelect label="Verdict" name="verdict" value={f.verdict} options={VERDICTS} onChange={(v) => set({ verdict: v })} />
        <FilterSelect label="Cluster" name="cluster" value={f.cluster} options={clusters} onChange={(v) => set({ cluster: v })} />
        <FilterSelect label="Actor" name="actor" value={f.actor} options={actors} onChange={(v) => set({ actor: v })} />
        {/* the events about a key (the Keys page links here) */}
        <FilterSelect label="Key" name="key" value={f.key} options={withCurrent(keys, f.key)} onChange={(v) => set({ key: v })} />
        {/* the events under a policy, and under one of its versions (the policy page's counts link here) */}
        <FilterSelect label="Policy" name="policy" value={f.policy} options={withCurrent(policies.map((p) => p.name), f.policy)} onChange={(v) => set({ policy: v, policyVersion: undefined })} />
        {f.policy && (
          <FilterSelect
            label="Version"
            name="policyVersion"
            value={f.policyVersion}
            options={withCurrent(versionsOf(policies.find((p) => p.name === f.policy)?.versions ?? 0), f.policyVersion).map((v) => ({ value: v, label: `v${v}` }))}
            onChange={(v) => set({ policyVersion: v })}
          />
        )}
        <div className="flex flex-col">
          <FilterSearch value={searchText} onChange={setSearchText} placeholder="user, policy, key, address…" />
          <span className="mt-0.5 text-[11px] text-slate-600 dark:text-slate-400">3 characters or more; Enter to search</span>
        </div>
        <FilterSearch label="Digest" name="imageDigest" value={digestText} onChange={setDigestText} placeholder="sha256:…" />
        <FilterDate label="From" name="from" value={f.from} onChange={(v) => set({ from: v })} />
        <FilterDate label="To" name="to" value={f.to} onChange={(v) => set({ to: v })} />
        <SignedDownload href={`/api/audit/export${exportQuery}${exportQuery ? "&" : "?"}format=csv`} label="Export CSV" testId="audit-export-csv" />
        <SignedDownload href={`/api/audit/export${exportQuery}${exportQuery ? "&" : "?"}format=json`} label="Export JSON" testId="audit-export-json" />
      </FilterBar>
      <div className="mt-4">
        {events.isError ? (
          <ErrorState message={`Could not load events: ${events.error.message}`} onRetry={() => void events.refetch()} />
        ) : !data ? (
          <p role="status" className="text-sm text-slate-600 dark:text-slate-400" data-testid="loading-state">
            Loading…
          </p>
        ) : data.events.length === 0 ? (
          <EmptyState title="No events">Nothing recorded{Object.values(f).some(Boolean) ? " under these filters" : " yet"}.</EmptyState>
        ) : (
          <>
            <DataTable columns={columns} data={data.events} testId="audit-table" caption="Audit events, newest first" rowTestId={(e) => `event-${e.kind}`} />
            <nav aria-label="Pagination" className="mt-3 flex gap-2 text-sm">
              <button type="button" className={buttonClass} disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
                Newer
              </button>
              <button type="button" className={buttonClass} disabled={!data.nextBefore} onClick={() => data.nextBefore && setCursors([...cursors, data.nextBefore])}>
                Older
              </button>
            </nav>
          </>
        )}
      </div>
    </div>
  );
}
