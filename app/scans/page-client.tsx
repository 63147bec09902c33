"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useState } from "react";
import { z } from "zod";
import { DataTable } from "@/components/data-table";
import { countsImages, ScanCounts } from "@/components/scan-counts";
import { Card, EmptyState, ErrorState, primaryButtonClass, TextLink } from "@/components/ui";
import { scanDto, type ScanDto } from "@/lib/dto/read";
import { getJson, sendJson } from "@/lib/ui/fetch-json";
import { links } from "@/lib/ui/links";
import { queryKeys } from "@/lib/ui/query-keys";
import { useHydrated } from "@/lib/ui/use-hydrated";
import { Time } from "@/components/time";

const scansResponse = z.object({ scans: z.array(scanDto) });
const ACTIVE = new Set(["queued", "running"]);
const STAGES = ["queued", "inventory", "resolve", "verify", "done"];

interface ScanErrorItem {
  cluster?: string;
  stage?: string;
  message?: string;
}
const errorsOf = (s: ScanDto): ScanErrorItem[] => (Array.isArray(s.errors) ? (s.errors as ScanErrorItem[]) : []);

const columns: ColumnDef<ScanDto, unknown>[] = [
  {
    id: "createdAt",
    header: "Started",
    // the scan's page: its items with their status
    cell: ({ row }) => (
      <TextLink href={links.scanItems(row.original.id)} testId="scan-link">
        <Time iso={row.original.startedAt ?? row.original.createdAt} className="text-xs" />
      </TextLink>
    ),
  },
  {
    id: "kind",
    header: "Kind",
    // a one-cluster scan: its cluster's page (trend, namespaces, errors)
    cell: ({ row }) => (
      <>
        {row.original.kind}
        {row.original.cluster && (
          <>
            {" · "}
            <TextLink href={links.cluster(row.original.cluster)} testId="scan-cluster">
              {row.original.cluster}
            </TextLink>
          </>
        )}
      </>
    ),
  },
  { id: "trigger", header: "Trigger", cell: ({ row }) => <span className="text-xs">{row.original.trigger}</span> },
  { id: "status", header: "Status", cell: ({ row }) => <span data-testid="scan-status">{row.original.status}</span> },
  { id: "progress", header: "Progress", cell: ({ row }) => <ScanCounts scan={row.original} /> },
  {
    id: "duration",
    header: "Duration",
    cell: ({ row }) => {
      const s = row.original;
      if (!s.startedAt || !s.finishedAt) return "—";
      return `${((Date.parse(s.finishedAt) - Date.parse(s.startedAt)) / 1000).toFixed(1)} s`;
    },
  },
  {
    id: "errors",
    header: "Errors",
    cell: ({ row }) => {
      const errs = errorsOf(row.original);
      if (errs.length === 0) return <span className="text-xs text-slate-600 dark:text-slate-400">none</span>;
      return (
        <details className="text-xs">
          <summary className="cursor-pointer text-red-700 dark:text-red-400">{errs.length} error(s)</summary>
          <ul className="mt-1 space-y-1">
            {errs.map((e, i) => (
              <li key={i}>
                {e.cluster ? (
                  <b>
                    <TextLink href={links.cluster(e.cluster)}>{e.cluster}</TextLink>
                  </b>
                ) : null}{" "}
                {e.stage}: {e.message}
              </li>
            ))}
          </ul>
        </details>
      );
    },
  },
];

function Progress({ scan }: { scan: ScanDto }) {
  const pctDone = scan.total > 0 ? Math.round((scan.done / scan.total) * 100) : 0;
  const stageIndex = Math.max(0, STAGES.indexOf(scan.stage));
  return (
    <div data-testid="scan-progress">
      <div className="flex flex-wrap items-baseline justify-between gap-2 text-sm">
        <span>
          Stage <b data-testid="scan-stage">{scan.stage}</b> ({stageIndex + 1} of {STAGES.length})
        </span>
        <ScanCounts scan={scan} testId="scan-counts" />
      </div>
      <div
        role="progressbar"
        aria-label="Scan progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pctDone}
        aria-valuetext={`${scan.stage}: ${scan.done} of ${scan.total} ${countsImages(scan) ? "images" : "clusters"}`}
        className="mt-2 h-3 w-full overflow-hidden rounded bg-slate-200 dark:bg-slate-800"
      >
        <div className="h-full bg-teal-600 transition-all" style={{ width: `${scan.stage === "verify" || scan.stage === "done" ? pctDone : (stageIndex / STAGES.length) * 100}%` }} />
      </div>
    </div>
  );
}

export function ScansClient({ initial, canScan }: { initial: ScanDto[]; canScan: boolean }) {
  const qc = useQueryClient();
  const hydrated = useHydrated();
  const list = useQuery({
    queryKey: queryKeys.scans(),
    queryFn: ({ signal }) => getJson("/api/scans?limit=50", scansResponse, signal).then((r) => r.scans),
    initialData: initial,
    refetchInterval: (q) => (q.state.data?.some((s) => ACTIVE.has(s.status)) ? 2000 : 15_000),
  });
  const active = list.data?.find((s) => ACTIVE.has(s.status));
  // the scan being watched stays on screen after it finishes (the list may notice first)
  const [watchId, setWatchId] = useState<string | undefined>(undefined);
  if (active && active.id !== watchId) setWatchId(active.id);
  const live = useQuery({
    queryKey: queryKeys.scan(watchId ?? "none"),
    queryFn: ({ signal }) => getJson(`/api/scans/${watchId}`, scanDto, signal),
    enabled: !!watchId,
    refetchInterval: (q) => (q.state.data && !ACTIVE.has(q.state.data.status) ? false : 500),
    staleTime: 0,
  });
  const scanNow = useMutation({
    mutationFn: () => sendJson("/api/scans", "POST", {}, z.object({ scanId: z.string() })),
    onSuccess: (r) => {
      setWatchId(r.scanId);
      void qc.invalidateQueries({ queryKey: queryKeys.scans() });
    },
  });
  const current = live.data && live.data.id === watchId ? live.data : active;
  return (
    <div data-hydrated={hydrated}>
      {canScan && (
        <div className="mb-4 flex items-center gap-3">
          <button type="button" className={primaryButtonClass} disabled={scanNow.isPending || !!active} onClick={() => scanNow.mutate()}>
            {scanNow.isPending ? "Starting…" : "Scan now"}
          </button>
          {scanNow.isError && (
            <span role="alert" className="text-sm text-red-700 dark:text-red-400">
              {scanNow.error.message}
            </span>
          )}
        </div>
      )}
      {current && (
        <Card title={current && ACTIVE.has(current.status) ? "Running scan" : `Last scan: ${current?.status ?? ""}`} className="mb-4" testId="running-scan">
          <Progress scan={current} />
        </Card>
      )}
      {list.isError ? (
        <ErrorState message={`Could not load scans: ${list.error.message}`} onRetry={() => void list.refetch()} />
      ) : list.data.length === 0 ? (
        <EmptyState title="No scans yet">The worker scans on a schedule (SIGNET_SCAN_INTERVAL_MINUTES){canScan ? "; or start one now." : "."}</EmptyState>
      ) : (
        <DataTable columns={columns} data={list.data} testId="scans-table" caption="Scan history" />
      )}
    </div>
  );
}
