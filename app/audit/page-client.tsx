"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useState } from "react";
import { DataTable } from "@/components/data-table";
import { SignedDownload } from "@/components/signed-download";
import { buttonClass, EmptyState, ErrorState, inputClass, VerdictBadge } from "@/components/ui";
import { chainStatusDto } from "@/lib/dto/dashboard";
import { auditPageDto, type AuditPageDto } from "@/lib/dto/read";
import { getJson, toSearch } from "@/lib/ui/fetch-json";
import { formatTime, VERDICTS } from "@/lib/ui/format";
import { queryKeys } from "@/lib/ui/query-keys";
import { useHydrated } from "@/lib/ui/use-hydrated";

type Event = AuditPageDto["events"][number];
const columns: ColumnDef<Event, unknown>[] = [
  { id: "seq", header: "#", cell: ({ row }) => <span className="tabular-nums text-xs">{row.original.seq}</span> },
  { id: "occurredAt", header: "When", cell: ({ row }) => <span className="whitespace-nowrap text-xs">{formatTime(row.original.occurredAt)}</span> },
  { id: "kind", header: "Kind", cell: ({ row }) => row.original.kind },
  { id: "actor", header: "Actor", cell: ({ row }) => <span className="break-all text-xs">{row.original.actor ?? ""}</span> },
  {
    id: "what",
    header: "What",
    // the changed object and, where recorded, old -> new (lib/audit/describe.ts)
    cell: ({ row }) => (
      <span className="block max-w-xl break-words text-xs" data-testid="event-summary">
        {row.original.summary}
      </span>
    ),
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

export function AuditClient({ initial, clusters, actors }: { initial: AuditPageDto; clusters: string[]; actors: string[] }) {
  const [f, setF] = useState<{ kind?: string; verdict?: string; cluster?: string; actor?: string; q?: string; imageDigest?: string; from?: string; to?: string }>({});
  const [searchText, setSearchText] = useState("");
  const hydrated = useHydrated();
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const before = cursors[cursors.length - 1];
  // dates are whole UTC days: "to" includes the day it names
  const apiFilters = { ...f, from: f.from ? `${f.from}T00:00:00.000Z` : undefined, to: f.to ? `${f.to}T23:59:59.999Z` : undefined };
  const params = { ...apiFilters, before, limit: "50" };
  const isInitial = Object.values(f).every((v) => !v) && before === undefined;
  const events = useQuery({
    queryKey: queryKeys.audit(params),
    queryFn: ({ signal }) => getJson(`/api/audit${toSearch(params)}`, auditPageDto, signal),
    initialData: isInitial ? initial : undefined,
    placeholderData: keepPreviousData,
  });
  const chain = useQuery({ queryKey: queryKeys.auditChain(), queryFn: ({ signal }) => getJson("/api/audit/chain", chainStatusDto, signal), staleTime: 0 });
  const set = (patch: Partial<typeof f>) => {
    setF({ ...f, ...patch });
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
            {chain.data.anchoredThrough ? `, signed checkpoint through event ${chain.data.anchoredThrough.seq} (${formatTime(chain.data.anchoredThrough.at)})` : ""}
            {chain.data.witness === "matched" ? ", local witness matches" : ""} — checked {formatTime(chain.data.checkedAt)}
          </span>
        ) : (
          <span className="text-red-700 dark:text-red-400" data-testid="chain-problem" data-kind={chain.data.problem?.kind}>
            ✗ Chain {chain.data.problem?.kind === "unanchored" ? "not anchored" : "broken"}
            {chain.data.problem?.throughSeq ? ` at event ${chain.data.problem.throughSeq}` : ""}: {chain.data.problem?.message} ({chain.data.checked} events verified before it;
            checked {formatTime(chain.data.checkedAt)})
          </span>
        )}
        {chain.data && (
          <button type="button" className={`${buttonClass} ml-3`} onClick={() => void chain.refetch()} disabled={chain.isFetching}>
            {chain.isFetching ? "Verifying…" : "Verify again"}
          </button>
        )}
        {chain.data && (
          <p className="mt-1 text-xs text-slate-500">
            Checkpoints are signed with key <span className="font-mono">{chain.data.keyFingerprint.slice(0, 16)}…</span> (<code>signet audit public-key</code>); exports in JSON carry
            the newest one, for <code>signet audit verify --file</code>.
          </p>
        )}
      </div>
      <form role="search" aria-label="Filter audit events" className="flex flex-wrap items-end gap-3" onSubmit={(e) => e.preventDefault()}>
        <label className="flex flex-col text-xs text-slate-600 dark:text-slate-400">
          Kind
          <select name="kind" className={`${inputClass} mt-1`} value={f.kind ?? ""} onChange={(e) => set({ kind: e.target.value || undefined })}>
            <option value="">All</option>
            {["verdict", "admin", "scan", "system", "admission"].map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <label className="flex flex-col text-xs text-slate-600 dark:text-slate-400">
          Verdict
          <select name="verdict" className={`${inputClass} mt-1`} value={f.verdict ?? ""} onChange={(e) => set({ verdict: e.target.value || undefined })}>
            <option value="">All</option>
            {VERDICTS.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
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
          Actor
          <select name="actor" className={`${inputClass} mt-1`} value={f.actor ?? ""} onChange={(e) => set({ actor: e.target.value || undefined })}>
            <option value="">All</option>
            {actors.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </label>
        <label className="flex flex-col text-xs text-slate-600 dark:text-slate-400">
          Search
          <input
            type="search"
            name="q"
            className={`${inputClass} mt-1 w-56`}
            placeholder="user, policy, key, address…"
            minLength={3}
            maxLength={100}
            value={searchText}
            aria-describedby="audit-search-hint"
            onChange={(e) => setSearchText(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter") set({ q: searchText.trim().length >= 3 ? searchText.trim() : undefined });
            }}
            onBlur={() => set({ q: searchText.trim().length >= 3 ? searchText.trim() : undefined })}
          />
          <span id="audit-search-hint" className="mt-0.5 text-[11px] text-slate-500">
            3 characters or more; Enter to search
          </span>
        </label>
        <label className="flex flex-col text-xs text-slate-600 dark:text-slate-400">
          Digest
          <input name="imageDigest" className={`${inputClass} mt-1 w-48`} placeholder="sha256:…" defaultValue={f.imageDigest} onBlur={(e) => set({ imageDigest: e.target.value.trim() || undefined })} />
        </label>
        <label className="flex flex-col text-xs text-slate-600 dark:text-slate-400">
          From
          <input type="date" name="from" className={`${inputClass} mt-1`} value={f.from ?? ""} onChange={(e) => set({ from: e.target.value || undefined })} />
        </label>
        <label className="flex flex-col text-xs text-slate-600 dark:text-slate-400">
          To
          <input type="date" name="to" className={`${inputClass} mt-1`} value={f.to ?? ""} onChange={(e) => set({ to: e.target.value || undefined })} />
        </label>
        <SignedDownload href={`/api/audit/export${exportQuery}${exportQuery ? "&" : "?"}format=csv`} label="Export CSV" testId="audit-export-csv" />
        <SignedDownload href={`/api/audit/export${exportQuery}${exportQuery ? "&" : "?"}format=json`} label="Export JSON" testId="audit-export-json" />
      </form>
      <div className="mt-4">
        {events.isError ? (
          <ErrorState message={`Could not load events: ${events.error.message}`} onRetry={() => void events.refetch()} />
        ) : !data ? (
          <p role="status" className="text-sm text-slate-500" data-testid="loading-state">
            Loading…
          </p>
        ) : data.events.length === 0 ? (
          <EmptyState title="No events">Nothing recorded{isInitial ? " yet" : " under these filters"}.</EmptyState>
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
