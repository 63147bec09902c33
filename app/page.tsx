import { AppShell } from "@/components/app-shell";
import { requireUser } from "@/lib/auth/current-user";
import { getDb } from "@/lib/db/client";
import { getEnv } from "@/lib/env";
import { checkHealth } from "@/lib/health/check";
import { getOverview } from "@/lib/data/overview";

export const dynamic = "force-dynamic";

function Stat({ label, value, testId }: { label: string; value: number | string; testId: string }) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
      <div className="text-xs uppercase tracking-wide text-slate-500">{label}</div>
      <div className="mt-1 text-2xl font-semibold" data-testid={testId}>
        {value}
      </div>
    </div>
  );
}

export default async function OverviewPage() {
  await requireUser();
  const db = getDb();
  const [overview, health] = await Promise.all([
    getOverview(db),
    checkHealth(db, { staleSeconds: getEnv().SIGNET_HEARTBEAT_STALE_SECONDS }),
  ]);
  return (
    <AppShell current="/">
      <h1 className="text-2xl font-semibold">Overview</h1>
      <p className="mt-1 max-w-2xl text-sm text-slate-600 dark:text-slate-400">
        Which images running in your clusters are provably signed by someone you trust, and which are not.
      </p>

      <section aria-labelledby="inventory" className="mt-6">
        <h2 id="inventory" className="sr-only">
          Inventory
        </h2>
        <div className="grid grid-cols-2 gap-4 lg:grid-cols-5">
          <Stat label="Clusters" value={overview.clusters} testId="stat-clusters" />
          <Stat label="Namespaces" value={overview.namespaces} testId="stat-namespaces" />
          <Stat label="Running containers" value={overview.runningContainers} testId="stat-containers" />
          <Stat label="Distinct images" value={overview.distinctImages} testId="stat-images" />
          <Stat label="Policies" value={overview.policies} testId="stat-policies" />
        </div>
      </section>

      {overview.clusters === 0 && (
        <section className="mt-6 rounded-lg border border-dashed border-slate-300 p-6 text-sm dark:border-slate-700" data-testid="empty-state">
          <h2 className="font-medium">No clusters yet</h2>
          <p className="mt-1 text-slate-600 dark:text-slate-400">
            Signet reads the contexts of <code>~/.kube/config</code> (or <code>$KUBECONFIG</code>) and the in-cluster
            service account. Once a cluster is scanned, coverage appears here.
          </p>
        </section>
      )}

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
