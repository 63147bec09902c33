import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { AppShell } from "@/components/app-shell";
import { TargetProgress } from "@/components/target-progress";
import { CoverageTrendChart } from "@/components/trend-chart";
import { ScanClusterButton } from "@/components/scan-cluster-button";
import { Time } from "@/components/time";
import { Card, PageHeader, SimpleTable, td, TextLink } from "@/components/ui";
import { VerdictTiles } from "@/components/verdict-tiles";
import { requireUser } from "@/lib/auth/current-user";
import { hasRole } from "@/lib/auth/roles";
import { getClusterDetail } from "@/lib/data/drilldown";
import { getDb } from "@/lib/db/client";
import { getCoverageTrend } from "@/lib/data/trend";
import { trendRange } from "@/lib/dto/read";
import { coveragePct, pct } from "@/lib/ui/format";
import { links } from "@/lib/ui/links";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Cluster" };

export default async function ClusterPage({ params, searchParams }: { params: Promise<{ cluster: string }>; searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await requireUser();
  const cluster = decodeURIComponent((await params).cluster);
  const range = trendRange.catch("30d").parse((await searchParams).range);
  const [detail, trend] = await Promise.all([getClusterDetail(getDb(), cluster), getCoverageTrend(getDb(), { range, cluster })]);
  if (!detail) notFound();
  const failedScans = detail.scans.filter((s) => s.errors.length > 0 || s.status === "failed");
  return (
    <AppShell current="/clusters">
      <nav aria-label="Breadcrumb" className="mb-2 text-sm">
        <TextLink href="/clusters">Clusters & namespaces</TextLink> / <span className="text-slate-600 dark:text-slate-400">{cluster}</span>
      </nav>
      <PageHeader
        title={cluster}
        description={
          <>
            <span className="break-all">{detail.server ?? "server unknown"}</span> · last inventory <Time iso={detail.lastInventoryAt} />
            {detail.enabled ? "" : " · disabled"}
          </>
        }
        actions={hasRole(user.role, "admin") ? <ScanClusterButton cluster={cluster} /> : undefined}
      />
      {detail.lastError && (
        <div role="alert" className="mt-4 rounded-lg border border-red-300 bg-red-50 p-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-200" data-testid="cluster-error">
          The last inventory of this cluster failed{detail.lastErrorAt ? <> (<Time iso={detail.lastErrorAt} />)</> : ""}: <span className="break-words">{detail.lastError}</span>. The figures below are from its last successful inventory.
        </div>
      )}
      <div className="mt-6">
        {detail.latest ? (
          <VerdictTiles figures={detail.latest} hrefFor={(bucket) => (bucket ? links.bucket(bucket, { cluster }) : links.allContainers({ cluster }))} />
        ) : (
          <p className="text-sm text-slate-600 dark:text-slate-400">No coverage snapshot of this cluster yet: run a scan.</p>
        )}
      </div>
      <Card title="Coverage over time" className="mt-4" testId="cluster-trend">
        <CoverageTrendChart trend={trend} />
        {/* the cluster's own target (SIGNET_CLUSTER_COVERAGE_TARGETS), else the fleet's */}
        {detail.latest && <TargetProgress figures={detail.latest} target={trend.target} scope="this cluster's target" testId="cluster-target-progress" />}
      </Card>
      <Card title="Namespaces" className="mt-4" testId="cluster-namespaces">
        {detail.namespaces.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">No namespace in the latest snapshot.</p>
        ) : (
          <SimpleTable head={["Namespace", "Coverage", "Containers", "Failed", "Unsigned", "Error", "Stale", "No policy"]} caption={`Namespaces of ${cluster}, worst coverage first`}>
            {detail.namespaces.map((n) => (
              <tr key={n.namespace} data-testid={`cluster-ns-${n.namespace}`}>
                <td className={td}>
                  <TextLink href={links.namespace(cluster, n.namespace)}>{n.namespace}</TextLink>
                </td>
                <td className={`${td} tabular-nums`}>{coveragePct(n)}</td>
                <td className={`${td} tabular-nums`}>
                  <TextLink href={links.allContainers({ cluster, namespace: n.namespace })}>{n.containersTotal}</TextLink>
                </td>
                <td className={`${td} tabular-nums`}>
                  <TextLink href={links.bucket("failed", { cluster, namespace: n.namespace })}>{n.containersFailed}</TextLink>
                </td>
                <td className={`${td} tabular-nums`}>
                  <TextLink href={links.bucket("unsigned", { cluster, namespace: n.namespace })}>{n.containersUnsigned}</TextLink>
                </td>
                <td className={`${td} tabular-nums`}>
                  <TextLink href={links.bucket("error", { cluster, namespace: n.namespace })}>{n.containersError}</TextLink>
                </td>
                <td className={`${td} tabular-nums`}>
                  <TextLink href={links.bucket("stale", { cluster, namespace: n.namespace })} testId={`cluster-ns-stale-${n.namespace}`}>
                    {n.containersStale}
                  </TextLink>
                </td>
                <td className={`${td} tabular-nums`}>
                  <TextLink href={links.bucket("unmatched", { cluster, namespace: n.namespace })}>{n.containersUnmatched}</TextLink>
                </td>
              </tr>
            ))}
          </SimpleTable>
        )}
      </Card>
      <div className="mt-4 grid gap-4 lg:grid-cols-2">
        <Card title="Errors" testId="cluster-errors">
          {failedScans.length === 0 && !detail.lastError ? (
            <p className="text-sm text-slate-600 dark:text-slate-400">No error in the last {detail.scans.length} scan(s).</p>
          ) : (
            <ul className="space-y-2 text-sm">
              {failedScans.map((s) => (
                <li key={s.id}>
                  <Time iso={s.createdAt} /> · scan {s.status}
                  {s.errors.length > 0 && (
                    <ul className="ml-4 list-disc text-xs text-red-800 dark:text-red-300">
                      {s.errors.map((e, i) => (
                        <li key={i} className="break-words">
                          {e}
                        </li>
                      ))}
                    </ul>
                  )}
                </li>
              ))}
            </ul>
          )}
          <p className="mt-2 text-sm">
            <TextLink href={links.images({ cluster, verdict: "error" })}>Images with an error verdict</TextLink> · <TextLink href={links.scans()}>All scans</TextLink>
          </p>
        </Card>
        <Card title="Admission rejections (30 days)" testId="cluster-rejections">
          <p className="text-sm">
            <TextLink href={links.rejections({ cluster })}>{detail.rejections} rejection(s)</TextLink> recorded from this cluster&apos;s events.
          </p>
        </Card>
      </div>
    </AppShell>
  );
}
