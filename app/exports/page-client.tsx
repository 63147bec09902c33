"use client";

import { useQuery } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { FilterBar, FilterDate, FilterSelect, useUrlFilters } from "@/components/filters";
import { SignedDownload } from "@/components/signed-download";
import { Time } from "@/components/time";
import { buttonClass, Card, ErrorState, SimpleTable, Stat, td } from "@/components/ui";
import { complianceReportDto } from "@/lib/dto/dashboard";
import { exportKeyRotationDto, type PublishedExportKeyDto } from "@/lib/dto/exports";
import { getJson, sendJson, toSearch } from "@/lib/ui/fetch-json";
import { queryKeys } from "@/lib/ui/query-keys";
import { useHydrated } from "@/lib/ui/use-hydrated";

const day = (d: Date) => d.toISOString().slice(0, 10);

/** The report's scope as the address holds it (days as YYYY-MM-DD); unset days are the last 30 days. */
export type ExportFilters = { from?: string; to?: string; cluster?: string; namespace?: string };

export function ExportsClient({ clusters, namespaces, keys, canRotate, initialFilters }: { clusters: string[]; namespaces: string[]; keys: PublishedExportKeyDto[]; canRotate: boolean; initialFilters: ExportFilters }) {
  const [today] = useState(() => new Date());
  const hydrated = useHydrated();
  // the scope lives in the address like the other list pages' filters, so a report's scope can be linked to and reloaded
  const [u, set] = useUrlFilters<ExportFilters>(initialFilters);
  const f = { from: u.from ?? day(new Date(today.getTime() - 30 * 86_400_000)), to: u.to ?? day(today), cluster: u.cluster ?? "", namespace: u.namespace ?? "" };
  const setF = (next: typeof f) => set({ from: next.from, to: next.to, cluster: next.cluster || undefined, namespace: next.namespace || undefined });
  const params = { from: `${f.from}T00:00:00.000Z`, to: `${f.to}T23:59:59.999Z`, cluster: f.cluster || undefined, namespace: f.namespace || undefined };
  const preview = useQuery({
    queryKey: [...queryKeys.all, "compliance", params],
    // the summary counts every row; the preview reads the first 20 rows only
    queryFn: ({ signal }) => getJson(`/api/exports/compliance${toSearch({ ...params, format: "json", limit: 20 })}`, complianceReportDto, signal),
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
      <ExportKeys keys={keys} canRotate={canRotate} />
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
                  {preview.data.rows.map((r, i) => (
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

const VERIFY_EXAMPLE = "signet-compliance-2026-01-31.csv";

/** The export keys: how to verify a download with cosign, the current public key, older keys with their periods, and (admins) rotation. */
function ExportKeys({ keys, canRotate }: { keys: PublishedExportKeyDto[]; canRotate: boolean }) {
  const current = keys[0]!;
  const previous = keys.slice(1);
  const command = `cosign verify-blob --key signet-export.pub --signature ${VERIFY_EXAMPLE}.sig --insecure-ignore-tlog=true ${VERIFY_EXAMPLE}`;
  return (
    <Card title="Signatures" className="mt-4" testId="export-key" actions={canRotate ? <RotateKey /> : undefined}>
      <div className="space-y-2 text-sm text-slate-700 dark:text-slate-300">
        <p>
          Every download (the PDF report, CSV and JSON here, the image list and the audit log) is saved with its detached signature next to it as{" "}
          <code>&lt;file&gt;.sig</code>, made with Signet&apos;s export key (ECDSA P-256, fingerprint{" "}
          <span className="break-all font-mono text-xs" data-testid="export-key-fingerprint">
            sha256:{current.fingerprint}
          </span>
          , current since <Time iso={current.validFrom} />
          ). To check a file, download the public key below and run, in the folder holding the file, its <code>.sig</code> and <code>signet-export.pub</code>:
        </p>
        <pre className="overflow-x-auto whitespace-pre-wrap break-all rounded bg-slate-100 p-2 font-mono text-xs dark:bg-slate-800" data-testid="verify-command">
          {command}
        </pre>
        <p>
          cosign prints <code>Verified OK</code> when the file is exactly what Signet signed; a single changed byte fails. <code>--insecure-ignore-tlog</code> is needed because
          Signet works offline and records no transparency-log entry: the trust rests on this key alone. A file signed before a key rotation verifies with the older key
          whose period covers its date (the response header <code>X-Signet-Signature-Key</code> names the key&apos;s fingerprint).
        </p>
      </div>
      <pre className="mt-2 overflow-x-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-800" data-testid="export-public-key">
        {current.publicKeyPem}
      </pre>
      <a className={`${buttonClass} mt-2 inline-block`} href="/api/exports/public-key" download="signet-export.pub" data-testid="export-public-key-download">
        Download public key
      </a>
      {previous.length > 0 && (
        <div className="mt-4">
          <h3 className="text-sm font-medium">Older export keys (still valid for files signed while they were current)</h3>
          <SimpleTable head={["Fingerprint", "Current from", "Replaced at", "Public key"]} testId="export-keys-previous" caption="Older export keys">
            {previous.map((k) => (
              <tr key={k.fingerprint} data-testid={`export-key-${k.fingerprint}`}>
                <td className={`${td} break-all font-mono text-xs`}>sha256:{k.fingerprint}</td>
                <td className={td}>
                  <Time iso={k.validFrom} />
                </td>
                <td className={td}>
                  <Time iso={k.validUntil} />
                </td>
                <td className={td}>
                  <a className="text-teal-800 underline dark:text-teal-300" href={`/api/exports/public-key?fingerprint=${k.fingerprint}`} download={`signet-export-${k.fingerprint.slice(0, 12)}.pub`}>
                    signet-export-{k.fingerprint.slice(0, 12)}.pub
                  </a>
                </td>
              </tr>
            ))}
          </SimpleTable>
        </div>
      )}
    </Card>
  );
}

/** Rotates the export key after a confirmation (admins); the page then shows the new key and the old one among the older keys. */
function RotateKey() {
  const router = useRouter();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function rotate() {
    setBusy(true);
    setError(null);
    try {
      await sendJson("/api/exports/key/rotate", "POST", undefined, exportKeyRotationDto);
      setConfirming(false);
      router.refresh();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <span className="inline-flex flex-col items-end gap-1">
      {confirming ? (
        <span className="inline-flex items-center gap-2">
          <span className="text-xs text-slate-600 dark:text-slate-400">New exports will be signed with a new key; the current one stays published.</span>
          <button type="button" className={buttonClass} onClick={() => void rotate()} disabled={busy} aria-busy={busy} data-testid="export-key-rotate-confirm">
            {busy ? "Rotating…" : "Rotate now"}
          </button>
          <button type="button" className={buttonClass} onClick={() => setConfirming(false)} disabled={busy}>
            Cancel
          </button>
        </span>
      ) : (
        <button type="button" className={buttonClass} onClick={() => setConfirming(true)} data-testid="export-key-rotate">
          Rotate export key…
        </button>
      )}
      {error && (
        <span role="alert" className="text-xs text-red-700 dark:text-red-400">
          {error}
        </span>
      )}
    </span>
  );
}
