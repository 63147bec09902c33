import { AppShell } from "@/components/app-shell";
import { TrustOverviewPanel } from "@/components/trust/overview-panel";
import { CoverageTrendChart, VerdictMixChart } from "@/components/charts";
import { Card, EmptyState, SimpleTable, Stat, td, TextLink, VerdictBadge } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { getOverview as getCoverageOverview } from "@/lib/data/coverage";
import { getOverview as getInventoryCounts } from "@/lib/data/overview";
import { getDb } from "@/lib/db/client";
import { getEnv } from "@/lib/env";
import { checkHealth, processStartedAt } from "@/lib/health/check";
import { formatTime, pct } from "@/lib/ui/format";

export const dynamic = "force-dynamic";

export default async function OverviewPage() {
  await requireUser();
  const db = getDb();
  const env = getEnv();
  const [counts, coverage, health] = await Promise.all([
    getInventoryCounts(db),
    getCoverageOverview(db),
    checkHealth(db, { staleSeconds: env.SIGNET_HEARTBEAT_STALE_SECONDS, workersSince: processStartedAt() }),
  ]);
  const fleet = coverage.fleet;
  const target = env.SIGNET_COVERAGE_TARGET;
  return (
    <AppShell current="/">
      <h1 className="text-2xl font-semibold">Overview</h1>
      <p className="mt-1 max-w-2xl text-sm text-slate-600 dark:text-slate-400">
        Which images running in your clusters are provably signed by someone you trust, and which are not.
      </p>

      <section aria-labelledby="coverage" className="mt-6">
        <h2 id="coverage" className="sr-only">
          Coverage
        </h2>
        <div className="grid grid-cols-2 gap-4 lg:grid-cols-4">
          <Stat
            label="Containers verified"
            value={fleet ? pct(fleet.containersVerified, fleet.containersTotal) : "—"}
            hint={fleet ? `${fleet.containersVerified} of ${fleet.containersTotal} running · target ${target}%` : `target ${target}%`}
            testId="stat-coverage-containers"
          />
          <Stat
            label="Distinct images verified"
            value={fleet ? pct(fleet.imagesVerified, fleet.imagesTotal) : "—"}
            hint={fleet ? `${fleet.imagesVerified} of ${fleet.imagesTotal} digests` : undefined}
            testId="stat-coverage-images"
          />
          <Stat label="Failed or unsigned" value={fleet ? fleet.containersFailed + fleet.containersUnsigned : "—"} hint="running containers" testId="stat-failing" />
          <Stat
            label="Last scan"
            value={coverage.lastScan ? coverage.lastScan.status : "never"}
            hint={coverage.lastScan ? formatTime(coverage.lastScan.finishedAt ?? coverage.lastScan.createdAt) : undefined}
            testId="stat-last-scan"
          />
        </div>
      </section>

      <section aria-labelledby="inventory" className="mt-4">
        <h2 id="inventory" className="sr-only">
          Inventory
        </h2>
        <div className="grid grid-cols-2 gap-4 lg:grid-cols-5">
          <Stat label="Clusters" value={counts.clusters} testId="stat-clusters" />
          <Stat label="Namespaces" value={counts.namespaces} testId="stat-namespaces" />
          <Stat label="Running containers" value={counts.runningContainers} testId="stat-containers" />
          <Stat label="Distinct images" value={counts.distinctImages} testId="stat-images" />
          <Stat label="Policies" value={counts.policies} testId="stat-policies" />
        </div>
      </section>

      {counts.clusters === 0 && (
        <div className="mt-6">
          <EmptyState title="No clusters yet">
            Signet reads the contexts of <code>~/.kube/config</code> (or <code>$KUBECONFIG</code>) and the in-cluster service
            account. Once a cluster is scanned, coverage appears here.
          </EmptyState>
        </div>
      )}

      {fleet && (
        <>
          <div className="mt-6 grid gap-4 xl:grid-cols-3">
            <Card title="Coverage over time" className="xl:col-span-2" testId="trend-card">
              <CoverageTrendChart points={coverage.trend} target={target} />
            </Card>
            <Card title="Verdict mix" testId="verdict-mix">
              <VerdictMixChart
                mix={{
                  verified: fleet.containersVerified,
                  failed: fleet.containersFailed,
                  unsigned: fleet.containersUnsigned,
                  error: fleet.containersError,
                  unmatched: fleet.containersUnmatched,
                }}
              />
              <ul className="mt-2 grid grid-cols-2 gap-x-4 text-sm">
                {(["verified", "failed", "unsigned", "error", "unmatched"] as const).map((v) => (
                  <li key={v} className="flex justify-between" data-testid={`mix-${v}`}>
                    <span>{v}</span>
                    <span className="tabular-nums">
                      {fleet[`containers${v[0]!.toUpperCase()}${v.slice(1)}` as "containersVerified"]}
                    </span>
                  </li>
                ))}
              </ul>
            </Card>
          </div>

          <div className="mt-4 grid gap-4 xl:grid-cols-2">
            <Card title="By cluster" testId="clusters-card">
              <SimpleTable head={["Cluster", "Containers", "Verified", "Coverage"]} caption="Coverage by cluster">
                {coverage.clusters.map((c) => (
                  <tr key={c.cluster} data-testid={`cluster-${c.cluster}`}>
                    <td className={td}>{c.cluster}</td>
                    <td className={`${td} tabular-nums`}>{c.containersTotal}</td>
                    <td className={`${td} tabular-nums`}>{c.containersVerified}</td>
                    <td className={`${td} tabular-nums`}>{pct(c.containersVerified, c.containersTotal)}</td>
                  </tr>
                ))}
              </SimpleTable>
            </Card>
            <Card title="Worst namespaces" testId="worst-namespaces" actions={<TextLink href="/clusters">All namespaces</TextLink>}>
              <SimpleTable head={["Namespace", "Containers", "Not verified", "Coverage"]} caption="Namespaces with the lowest coverage">
                {coverage.worstNamespaces.map((n) => (
                  <tr key={`${n.cluster}/${n.namespace}`} data-testid={`worst-${n.namespace}`}>
                    <td className={td}>
                      <TextLink href={`/clusters/${encodeURIComponent(n.cluster)}/${encodeURIComponent(n.namespace)}`}>
                        {n.cluster}/{n.namespace}
                      </TextLink>
                    </td>
                    <td className={`${td} tabular-nums`}>{n.containersTotal}</td>
                    <td className={`${td} tabular-nums`}>{n.containersTotal - n.containersVerified - n.containersUnmatched}</td>
                    <td className={`${td} tabular-nums`}>{n.coveragePct.toFixed(1)}%</td>
                  </tr>
                ))}
              </SimpleTable>
            </Card>
          </div>

          <Card title="Newest failures" className="mt-4" testId="newest-failures">
            {coverage.newestFailures.length === 0 ? (
              <p className="text-sm text-slate-600 dark:text-slate-400">No failing containers.</p>
            ) : (
              <SimpleTable head={["When", "Where", "Image", "Policy", "Verdict", "Reason"]} caption="Newest failing verdicts">
                {coverage.newestFailures.map((f) => (
                  <tr key={`${f.containerId}-${f.policy}`}>
                    <td className={`${td} whitespace-nowrap`}>{formatTime(f.changedAt)}</td>
                    <td className={td}>
                      {f.cluster}/{f.namespace}/{f.workload}
                    </td>
                    <td className={`${td} break-all`}>{f.imageId ? <TextLink href={`/images/${f.imageId}`}>{f.image}</TextLink> : f.image}</td>
                    <td className={td}>
                      {f.policy} <span className="text-xs text-slate-500">({f.mode})</span>
                    </td>
                    <td className={td}>
                      <VerdictBadge verdict={f.verdict} />
                    </td>
                    <td className={`${td} text-slate-600 dark:text-slate-400`}>{f.reason}</td>
                  </tr>
                ))}
              </SimpleTable>
            )}
          </Card>
        </>
      )}

      <TrustOverviewPanel />

      <section aria-labelledby="system" className="mt-8">
        <h2 id="system" className="text-lg font-medium">
          System
        </h2>
        <ul className="mt-2 divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white text-sm dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900">
          {Object.entries(health.checks).map(([name, check]) => (
            <li key={name} className="flex items-center justify-between px-4 py-2" data-testid={`health-${name}`}>
              <span className="capitalize">{name}</span>
              <span className={check.ok ? "text-emerald-700 dark:text-emerald-400" : "text-red-700 dark:text-red-400"}>
                {check.ok ? "✓" : "✗"} {check.detail}
              </span>
            </li>
          ))}
        </ul>
      </section>
    </AppShell>
  );
}
