import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { AppShell } from "@/components/app-shell";
import { countsImages, ScanCounts } from "@/components/scan-counts";
import { Time } from "@/components/time";
import { EmptyState, PageHeader, PageLinks, SimpleTable, td, TextLink } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { listScanItems } from "@/lib/data/scans";
import { getDb } from "@/lib/db/client";
import { scanItemsQuery, scanItemStatus } from "@/lib/dto/drilldown";
import { shortDigest } from "@/lib/ui/format";
import { links } from "@/lib/ui/links";
import { firstValues } from "@/lib/ui/search-params";
import { RefreshWhileRunning, ScanItemFilters } from "./page-client";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Scan" };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ACTIVE = new Set(["queued", "running"]);

/**
 * One scan and its items, the images it checks, with each one's status (pending / done / error): the
 * list behind its progress "done / total images" (`?status=done,error` the settled ones its `done`
 * counts, no status every item its `total` counts). Figures and rows are read in one snapshot.
 */
export default async function ScanPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireUser();
  const { id } = await params;
  if (!UUID.test(id)) notFound();
  const parsed = scanItemsQuery.safeParse(firstValues(await searchParams));
  const q = parsed.success ? parsed.data : scanItemsQuery.parse({});
  const list = await listScanItems(getDb(), id, q);
  if (!list) notFound();
  const { scan, counts } = list;
  const status = q.status ?? scanItemStatus.options;
  const pages = Math.max(1, Math.ceil(list.total / q.pageSize));
  const what = status.length === 3 ? "every item" : status.join(" or ");
  return (
    <AppShell current="/scans">
      <RefreshWhileRunning running={ACTIVE.has(scan.status)} />
      <nav aria-label="Breadcrumb" className="mb-2 text-sm">
        <TextLink href={links.scans()}>Scans</TextLink> / <span className="text-slate-600 dark:text-slate-400">{scan.id.slice(0, 8)}</span>
      </nav>
      <PageHeader
        title="Scan"
        description={
          <>
            {scan.kind}
            {scan.cluster && (
              <>
                {" "}
                of <TextLink href={links.cluster(scan.cluster)}>{scan.cluster}</TextLink>
              </>
            )}{" "}
            · trigger {scan.trigger} · <span data-testid="scan-detail-status">{scan.status}</span> · stage {scan.stage} · started{" "}
            <Time iso={scan.startedAt ?? scan.createdAt} />
            {scan.finishedAt && (
              <>
                {" "}
                · finished <Time iso={scan.finishedAt} />
              </>
            )}
          </>
        }
      />
      <p className="mt-3 text-sm" data-testid="scan-detail-progress">
        <ScanCounts scan={scan} testId="scan-detail-counts" />
        {!countsImages(scan) ? (
          " (its images are counted from the verify stage on)"
        ) : scan.itemsRemovedAt ? (
          <span data-testid="scan-items-removed">
            {" "}
            checked · its items were removed <Time iso={scan.itemsRemovedAt} /> (a finished scan&apos;s items are kept SIGNET_SCAN_ITEMS_KEEP_DAYS days; its figures stay)
          </span>
        ) : (
          " checked"
        )}
        {!scan.itemsRemovedAt && " · items: "}
        {!scan.itemsRemovedAt && scanItemStatus.options.map((s, i) => (
          <span key={s}>
            {i > 0 && " · "}
            <TextLink href={links.scanItems(scan.id, { status: [s] })} testId={`scan-items-${s}`}>
              {counts[s]} {s}
            </TextLink>
          </span>
        ))}
      </p>
      <div className="mt-4">
        <ScanItemFilters scanId={scan.id} status={status} />
      </div>
      <div className="mt-4">
        <p className="mb-2 text-sm text-slate-600 dark:text-slate-400">
          <span data-testid="scan-items-total">{list.total}</span> item(s): {what}.
        </p>
        {list.rows.length === 0 ? (
          <EmptyState title="No items">
            {scan.itemsRemovedAt ? "Its items were removed after the keep time." : <>No image of this scan is {what === "every item" ? "listed yet" : what}.</>}
          </EmptyState>
        ) : (
          <>
            <div data-testid="scan-items-table">
              <SimpleTable head={["Image", "Status", "Outcome", "Evidence", "Updated"]} caption={`Images of the scan: ${what}`}>
                {list.rows.map((r) => (
                  <tr key={r.imageId} data-testid="scan-item">
                    <td className={`${td} min-w-48 break-all text-xs`}>
                      <TextLink href={links.image(r.imageId)}>{r.image ?? "(image no longer stored)"}</TextLink>
                      {r.digest && <div className="font-mono text-slate-600 dark:text-slate-400" title={r.digest}>{shortDigest(r.digest)}</div>}
                    </td>
                    <td className={td}>{r.status}</td>
                    <td className={`${td} text-xs`}>
                      {r.outcome ?? "—"}
                      {r.error && <div className="break-words text-red-700 dark:text-red-400">{r.error}</div>}
                    </td>
                    <td className={`${td} text-xs`}>
                      {r.evidence ?? "—"}
                      {r.reevaluated !== null && <div className="text-slate-600 dark:text-slate-400">{r.reevaluated ? "re-evaluated" : "verdicts kept"}</div>}
                    </td>
                    <td className={`${td} whitespace-nowrap text-xs`}>
                      <Time iso={r.updatedAt} />
                    </td>
                  </tr>
                ))}
              </SimpleTable>
            </div>
            <PageLinks page={q.page} pages={pages} href={(n) => links.scanItems(scan.id, { status: q.status, page: n })} />
          </>
        )}
      </div>
    </AppShell>
  );
}
