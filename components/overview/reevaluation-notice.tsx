"use client";

import { useQuery } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useEffect } from "react";
import { ScanCounts } from "@/components/scan-counts";
import { scanDto } from "@/lib/dto/read";
import { getJson } from "@/lib/ui/fetch-json";
import { queryKeys } from "@/lib/ui/query-keys";

const ACTIVE = new Set(["queued", "running"]);

/**
 * "Re-evaluating…" while a policy or key change is applied from stored evidence: the figures on the
 * page are those of the snapshot before it. When the re-evaluation finishes, the page reloads its
 * server data (one snapshot again, every figure from it).
 */
export function ReevaluationNotice({ scanId, trigger, done, total }: { scanId: string; trigger: string; done: number; total: number }) {
  const router = useRouter();
  const live = useQuery({
    queryKey: queryKeys.scan(scanId),
    queryFn: ({ signal }) => getJson(`/api/scans/${scanId}`, scanDto, signal),
    refetchInterval: (q) => (q.state.data && !ACTIVE.has(q.state.data.status) ? false : 1000),
    staleTime: 0,
  });
  const finished = live.data !== undefined && !ACTIVE.has(live.data.status);
  useEffect(() => {
    if (finished) router.refresh();
  }, [finished, router]);
  const progress = live.data ?? { done, total };
  return (
    <div role="status" className="mt-4 rounded-lg border border-sky-300 bg-sky-50 px-4 py-3 text-sm text-sky-900 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-100" data-testid="reevaluating">
      <strong>{finished ? "Re-evaluated" : "Re-evaluating…"}</strong> {trigger}: verdicts are recomputed from stored evidence (no registry
      traffic). The figures below are from before this change until it finishes
      {progress.total > 0 && (
        <>
          {" "}
          (<ScanCounts scan={{ id: scanId, stage: "verify", done: progress.done, total: progress.total }} testId="reevaluating-counts" />)
        </>
      )}
      .
    </div>
  );
}
