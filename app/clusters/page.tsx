import type { Metadata } from "next";
import { AppShell } from "@/components/app-shell";
import { Card, EmptyState, PageHeader, SimpleTable, td, TextLink } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { getOverview } from "@/lib/data/coverage";
import { listNamespaceCoverage } from "@/lib/data/namespaces";
import { getDb } from "@/lib/db/client";
import { coveragePct, pct } from "@/lib/ui/format";
import { links } from "@/lib/ui/links";
import { Time } from "@/components/time";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Clusters & namespaces" };

export default async function ClustersPage() {
  await requireUser();
  const db = getDb();
  const [overview, list, clusters] = await Promise.all([
    getOverview(db, { trendDays: 0 }),
    listNamespaceCoverage(db),
    db.cluster.findMany({ orderBy: { name: "asc" }, select: { name: true, enabled: true, server: true, lastInventoryAt: true, lastError: true } }),
  ]);
  const coverage = new Map(overview.clusters.map((c) => [c.cluster, c]));
  return (
    <AppShell current="/clusters">
      <PageHeader title="Clusters & namespaces" description={<>Coverage per cluster and namespace at the latest snapshot{list.takenAt ? <> (<Time iso={list.takenAt} />)</> : ""}. Open a cluster or a namespace for its trend, workloads and errors.</>} />
      {clusters.length === 0 ? (
        <div className="mt-6">
          <EmptyState title="No clusters yet">Configure kubeconfig contexts (SIGNET_KUBE_CONTEXTS) and run a scan.</EmptyState>
        </div>
      ) : (
        <>
          <Card title="Clusters" className="mt-6" testId="clusters-table">
            <SimpleTable head={["Cluster", "Server", "Last inventory", "Containers", "Coverage", "Status"]} caption="Clusters">
              {clusters.map((c) => {
                const cov = coverage.get(c.name);
                return (
                  <tr key={c.name} data-testid={`cluster-row-${c.name}`}>
                    <td className={`${td} font-medium`}>
                      <TextLink href={links.cluster(c.name)}>{c.name}</TextLink>
                    </td>
                    <td className={`${td} break-all text-xs`}>{c.server ?? "—"}</td>
                    <td className={`${td} whitespace-nowrap text-xs`}><Time iso={c.lastInventoryAt?.toISOString()} /></td>
                    <td className={`${td} tabular-nums`}>
                      <TextLink href={links.allContainers({ cluster: c.name })}>{cov?.containersTotal ?? 0}</TextLink>
                    </td>
                    <td className={`${td} tabular-nums`}>{cov ? coveragePct(cov) : "—"}</td>
                    <td className={`${td} text-xs`}>{!c.enabled ? "disabled" : c.lastError ? <span className="text-red-700 dark:text-red-400">{c.lastError}</span> : "ok"}</td>
                  </tr>
                );
              })}
            </SimpleTable>
          </Card>
          <Card title="Namespaces" className="mt-4" testId="namespaces-table">
            {list.namespaces.length === 0 ? (
              <p className="text-sm text-slate-600 dark:text-slate-400">No coverage snapshot yet: run a scan.</p>
            ) : (
              <SimpleTable head={["Namespace", "Containers", "Verified", "Failed", "Unsigned", "Error", "Unmatched", "Coverage"]} caption="Namespaces">
                {list.namespaces.map((n) => (
                  <tr key={`${n.cluster}/${n.namespace}`} data-testid={`ns-row-${n.namespace}`}>
                    <td className={td}>
                      <TextLink href={links.namespace(n.cluster, n.namespace)}>
                        {n.cluster}/{n.namespace}
                      </TextLink>
                    </td>
                    <td className={`${td} tabular-nums`}>
                      <TextLink href={links.allContainers({ cluster: n.cluster, namespace: n.namespace })}>{n.containersTotal}</TextLink>
                    </td>
                    <td className={`${td} tabular-nums`}>
                      <TextLink href={links.bucket("verified", { cluster: n.cluster, namespace: n.namespace })}>{n.containersVerified}</TextLink>
                    </td>
                    <td className={`${td} tabular-nums`}>
                      <TextLink href={links.bucket("failed", { cluster: n.cluster, namespace: n.namespace })}>{n.containersFailed}</TextLink>
                    </td>
                    <td className={`${td} tabular-nums`}>
                      <TextLink href={links.bucket("unsigned", { cluster: n.cluster, namespace: n.namespace })}>{n.containersUnsigned}</TextLink>
                    </td>
                    <td className={`${td} tabular-nums`}>
                      <TextLink href={links.bucket("error", { cluster: n.cluster, namespace: n.namespace })}>{n.containersError}</TextLink>
                    </td>
                    <td className={`${td} tabular-nums`}>
                      <TextLink href={links.bucket("unmatched", { cluster: n.cluster, namespace: n.namespace })}>{n.containersUnmatched}</TextLink>
                    </td>
                    <td className={`${td} tabular-nums`} data-testid={`ns-coverage-${n.namespace}`}>{coveragePct(n)}</td>
                  </tr>
                ))}
              </SimpleTable>
            )}
          </Card>
        </>
      )}
    </AppShell>
  );
}
