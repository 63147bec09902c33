"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { FilterBar, FilterDate, FilterSelect } from "@/components/filters";
import { SignedDownload } from "@/components/signed-download";
import { buttonClass, Card, ErrorState, Stat } from "@/components/ui";
import { complianceReportDto } from "@/lib/dto/dashboard";
import { getJson, toSearch } from "@/lib/ui/fetch-json";
import { queryKeys } from "@/lib/ui/query-keys";
import { useHydrated } from "@/lib/ui/use-hydrated";

const day = (d: Date) => d.toISOString().slice(0, 10);

export function ExportsClient({ clusters, namespaces, exportKey }: { clusters: string[]; namespaces: string[]; exportKey: { publicKeyPem: string; fingerprint: string } }) {
  const [today] = useState(() => new Date());
  const hydrated = useHydrated();
  const [f, setF] = useState({ from: day(new Date(today.getTime() - 30 * 86_400_000)), to: day(today), cluster: "", namespace: "" });
  const params = { from: `${f.from}T00:00:00.000Z`, to: `${f.to}T23:59:59.999Z`, cluster: f.cluster || undefined, namespace: f.namespace || undefined };
  const preview = useQuery({
    queryKey: [...queryKeys.all, "compliance", params],
    queryFn: ({ signal }) => getJson(`/api/exports/compliance${toSearch({ ...params, format: "json" })}`, complianceReportDto, signal),
  });
  return (
    <div data-hydrated={hydrated}>
      <FilterBar label="Report scope">
        <FilterDate label="From" name="from" value={f.from} onChange={(v) => v && v <= f.to && setF({ ...f, from: v })} />
        <FilterDate label="To" name="to" value={f.to} onChange={(v) => v && v >= f.from && setF({ ...f, to: v })} />
        <FilterSelect label="Cluster" name="cluster" value={f.cluster || undefined} options={clusters} onChange={(v) => setF({ ...f, cluster: v ?? "" })} />
        <FilterSelect label="Namespace" name="namespace" value={f.namespace || undefined} options={namespaces} onChange={(v) => setF({ ...f, namespace: v ?? "" })} />
        <SignedDownload href={`/api/exports/report${toSearch(params)}`} label="Download PDF report" testId="report-pdf" />
        <SignedDownload href={`/api/exports/compliance${toSearch({ ...params, format: "csv" })}`} label="Download CSV" testId="compliance-csv" />
        <SignedDownload href={`/api/exports/compliance${toSearch({ ...params, format: "json" })}`} label="Download JSON" testId="compliance-json" />
      </FilterBar>
      <Card title="Signatures" className="mt-4" testId="export-key">
        <p className="text-sm text-slate-700 dark:text-slate-300">
          Each download comes with a detached signature, saved next to it as <code>&lt;file&gt;.sig</code>, made with Signet&apos;s export key (ECDSA P-256,
          fingerprint <span className="break-all font-mono text-xs" data-testid="export-key-fingerprint">sha256:{exportKey.fingerprint}</span>). Check a file with{" "}
          <code className="break-all">cosign verify-blob --key signet-export.pub --signature &lt;file&gt;.sig --insecure-ignore-tlog &lt;file&gt;</code>.
        </p>
        <pre className="mt-2 overflow-x-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-800" data-testid="export-public-key">
          {exportKey.publicKeyPem}
        </pre>
        <a className={`${buttonClass} mt-2 inline-block`} href="/api/exports/public-key" download="signet-export.pub" data-testid="export-public-key-download">
          Download public key
        </a>
      </Card>
      <div className="mt-4" aria-live="polite">
        {preview.isPending ? (
          <p role="status" className="text-sm text-slate-600 dark:text-slate-400" data-testid="loading-state">
            Preparing the preview…
          </p>
        ) : preview.isError ? (
          <ErrorState message={`Could not build the report: ${preview.error.message}`} onRetry={() => void preview.refetch()} />
        ) : (
          <>
            <div className="grid gap-4 sm:grid-cols-3">
              <Stat label="Rows (container × policy)" value={preview.data.summary.rows} testId="report-rows" />
              <Stat label="Running digests" value={preview.data.summary.digests} testId="report-digests" />
              <Stat label="Verified rows" value={preview.data.summary.verified} testId="report-verified" />
            </div>
            {preview.data.rows.length === 0 ? (
              <p className="mt-4 text-sm text-slate-600 dark:text-slate-400" data-testid="empty-state">
                Nothing in scope: no running container has a verdict under a policy.
              </p>
            ) : (
              <Card title="Preview (first 20 rows)" className="mt-4">
                <ul className="space-y-1 text-xs">
                  {preview.data.rows.slice(0, 20).map((r, i) => (
                    <li key={i} className="break-all">
                      {r.cluster}/{r.namespace}/{r.workload} · {r.digest.slice(0, 19)} · {r.policy} v{r.policyVersion} · <b>{r.verdict}</b>
                      {r.rekorLogIndexes.length ? ` · rekor ${r.rekorLogIndexes.join(",")}` : ""}
                    </li>
                  ))}
                </ul>
              </Card>
            )}
          </>
        )}
      </div>
    </div>
  );
}
