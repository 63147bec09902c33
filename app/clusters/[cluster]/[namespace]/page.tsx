import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { Fragment } from "react";
import { z } from "zod";
import { AppShell } from "@/components/app-shell";
import { CoverageTrendChart } from "@/components/trend-chart";
import { ContainerRows } from "@/components/container-rows";
import { Card, EmptyState, PageHeader, PageLinks, SimpleTable, td, TextLink, VerdictBadge } from "@/components/ui";
import { VerdictTiles } from "@/components/verdict-tiles";
import { requireUser } from "@/lib/auth/current-user";
import { getNamespaceWorkloads } from "@/lib/data/drilldown";
import { getNamespaceDetail } from "@/lib/data/namespaces";
import { getDb } from "@/lib/db/client";
import { getCoverageTrend } from "@/lib/data/trend";
import { IN_SCOPE_VERDICTS, NOT_VERIFIED_IN_SCOPE } from "@/lib/dto/drilldown";
import { trendRange } from "@/lib/dto/read";
import { coveragePct, pct } from "@/lib/ui/format";
import { links } from "@/lib/ui/links";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Namespace" };

export default async function NamespacePage({ params, searchParams }: { params: Promise<{ cluster: string; namespace: string }>; searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireUser();
  const p = await params;
  const cluster = decodeURIComponent(p.cluster);
  const namespace = decodeURIComponent(p.namespace);
  const db = getDb();
  const query = await searchParams;
  const range = trendRange.catch("30d").parse(query.range);
  const page = z.coerce.number().int().min(1).max(100_000).catch(1).parse(query.page);
  const [detail, workloads, trend] = await Promise.all([
    getNamespaceDetail(db, cluster, namespace),
    getNamespaceWorkloads(db, cluster, namespace, { page }),
    getCoverageTrend(db, { range, cluster, namespace }),
  ]);
  if (!detail || !workloads) notFound();
  const latest = detail.trend.at(-1);
  const pages = Math.max(1, Math.ceil(workloads.workloadsTotal / workloads.pageSize));
  // the range in the address is kept when paging (the trend chart's selector keeps the page)
  const pageHref = (n: number) => links.namespace(cluster, namespace, { page: n, range: typeof query.range === "string" ? range : undefined });
  return (
    <AppShell current="/clusters">
      <nav aria-label="Breadcrumb" className="mb-2 text-sm">
        <TextLink href="/clusters">Clusters & namespaces</TextLink> / <TextLink href={links.cluster(cluster)}>{cluster}</TextLink> /{" "}
        <span className="text-slate-600 dark:text-slate-400">{namespace}</span>
      </nav>
      <PageHeader
        title={`${cluster}/${namespace}`}
        description={
          <>
            Coverage now: <span data-testid="ns-coverage">{latest ? coveragePct(latest) : "—"}</span>
            {Object.keys(detail.labels).length > 0 && <> · labels {Object.entries(detail.labels).map(([k, v]) => `${k}=${v}`).join(", ")}</>}
          </>
        }
      />
      {latest && (
        <div className="mt-6">
          <VerdictTiles figures={latest} hrefFor={(bucket) => (bucket ? links.bucket(bucket, { cluster, namespace }) : links.allContainers({ cluster, namespace }))} />
        </div>
      )}
      <Card
        title="Workloads"
        className="mt-4"
        testId="ns-workloads"
        actions={
          <span className="text-xs text-slate-600 dark:text-slate-400">
            <span data-testid="ns-workloads-total">{workloads.workloadsTotal}</span> workload(s) ·{" "}
            {/* every running container of the namespace, in the containers list */}
            <TextLink href={links.allContainers({ cluster, namespace })} testId="ns-workloads-containers">
              {workloads.containers} running container(s)
            </TextLink>
            , failing first ·{" "}
            <TextLink href={links.rejections({ cluster, namespace })}>rejections</TextLink>
          </span>
        }
      >
        {workloads.workloads.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">{workloads.workloadsTotal === 0 ? "No running container in this namespace." : "No workload on this page."}</p>
        ) : (
          <SimpleTable head={["Workload", "Container", "Image", "Verdict per policy"]} caption={`Workloads of ${cluster}/${namespace} with their containers, failing first`}>
            {workloads.workloads.map((w) => (
              <Fragment key={w.workload}>
                <ContainerRows
                  containers={w.containers}
                  lead={(_, i) =>
                    i === 0 ? (
                      <span data-testid={`workload-${w.workload}`}>
                        <TextLink href={links.workload(cluster, namespace, w.workload)}>{w.workload}</TextLink>
                        <div className="mt-0.5">
                          <VerdictBadge verdict={w.worst} />
                        </div>
                      </span>
                    ) : null
                  }
                />
                {w.containersTotal > w.containers.length && (
                  <tr data-testid={`more-containers-${w.workload}`}>
                    <td className={td} />
                    <td className={`${td} text-xs text-slate-600 dark:text-slate-400`} colSpan={3}>
                      The {w.containers.length} worst of its{" "}
                      <TextLink href={links.workload(cluster, namespace, w.workload)}>{w.containersTotal} running containers</TextLink> shown.
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </SimpleTable>
        )}
        <PageLinks page={workloads.page} pages={pages} href={pageHref} label="Workload pages" testId="ns-workloads-pages" />
      </Card>
      <Card title="Coverage over time" className="mt-4" testId="ns-trend">
        <CoverageTrendChart trend={trend} />
      </Card>
      <Card title="Policies that apply" className="mt-4" testId="ns-policies">
        {detail.policies.length === 0 ? (
          <EmptyState title="No policy applies here">No enabled policy's scope covers the containers running in this namespace.</EmptyState>
        ) : (
          <div className="space-y-4">
            {detail.policies.map((pol) => (
              <div key={pol.id} data-testid={`ns-policy-${pol.name}`}>
                <div className="flex flex-wrap items-baseline gap-2 text-sm">
                  <TextLink href={links.policy(pol.id)}>{pol.name}</TextLink>
                  <span className="text-xs text-slate-600 dark:text-slate-400">
                    <TextLink href={links.audit({ policy: pol.name, policyVersion: pol.version })}>v{pol.version}</TextLink> · {pol.mode}
                  </span>
                  <span className="tabular-nums">
                    <TextLink href={links.policyContainers(pol.id, { cluster, namespace, verdict: ["verified"] })} testId={`ns-policy-verified-${pol.name}`}>
                      {pol.verified}
                    </TextLink>{" "}
                    of{" "}
                    {/* the containers it applies to here: evaluated, or awaiting a verdict (counted as not verified) */}
                    <TextLink href={links.policyContainers(pol.id, { cluster, namespace, verdict: IN_SCOPE_VERDICTS })} testId={`ns-policy-containers-${pol.name}`}>
                      {pol.containers}
                    </TextLink>{" "}
                    containers verified ({pct(pol.verified, pol.containers)}) ·{" "}
                    <TextLink href={links.policyContainers(pol.id, { cluster, namespace, verdict: NOT_VERIFIED_IN_SCOPE })} testId={`ns-policy-failing-${pol.name}`}>
                      {pol.containers - pol.verified} not verified
                    </TextLink>
                  </span>
                </div>
                {pol.mode !== "enforce" && (
                  <div className="mt-2 rounded border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-800 dark:bg-amber-950" data-testid={`would-break-${pol.name}`}>
                    <div className="font-medium">
                      If this policy were enforced: {pol.wouldBreakTotal === 0 ? "nothing would break." : `${pol.wouldBreakTotal} container(s) would be rejected`}
                      {pol.wouldBreak.length < pol.wouldBreakTotal && (
                        <span className="font-normal">
                          {" "}
                          (the first {pol.wouldBreak.length} below;{" "}
                          <TextLink href={links.policyContainers(pol.id, { cluster, namespace, verdict: NOT_VERIFIED_IN_SCOPE })} testId={`would-break-all-${pol.name}`}>
                            all of them
                          </TextLink>
                          )
                        </span>
                      )}
                    </div>
                    {pol.wouldBreak.length > 0 && (
                      <SimpleTable head={["Workload", "Container", "Image", "Verdict"]} caption="Containers enforcement would reject">
                        {pol.wouldBreak.map((w) => (
                          <tr key={`${w.pod}/${w.container}`}>
                            <td className={td}>
                              <TextLink href={links.workload(cluster, namespace, w.workload)}>{w.workload}</TextLink>
                            </td>
                            <td className={td}>
                              <TextLink href={links.container(w.containerId)}>{w.container}</TextLink>
                            </td>
                            <td className={`${td} break-all`}>{w.imageId ? <TextLink href={links.image(w.imageId)}>{w.image}</TextLink> : w.image}</td>
                            <td className={td}>
                              <VerdictBadge verdict={w.verdict} />
                            </td>
                          </tr>
                        ))}
                      </SimpleTable>
                    )}
                  </div>
                )}
              </div>
            ))}
          </div>
        )}
      </Card>
    </AppShell>
  );
}
