import { Suspense } from "react";
import { AppShell } from "@/components/app-shell";
import { TrustOverviewPanel } from "@/components/trust/overview-panel";
import { VerdictMixChart } from "@/components/charts";
import { Banner, FirstRunChecklist, ScanBanners } from "@/components/overview/banners";
import { ReevaluationNotice } from "@/components/overview/reevaluation-notice";
import { Time } from "@/components/time";
import { TargetProgress } from "@/components/target-progress";
import { CoverageTrendChart } from "@/components/trend-chart";
import { Card, SimpleTable, Stat, td, TextLink, VerdictBadge } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { coverageBase, coverageVerified, toTarget } from "@/lib/coverage/compute";
import { getOverview } from "@/lib/data/coverage";
import { getCoverageTrend } from "@/lib/data/trend";
import { getDb } from "@/lib/db/client";
import { trendRange, type TrendRange } from "@/lib/dto/read";
import { getEnv } from "@/lib/env";
import { checkHealth, processStartedAt } from "@/lib/health/check";
import { coveragePct, pct } from "@/lib/ui/format";
import { links } from "@/lib/ui/links";

export const dynamic = "force-dynamic";

const MIX = ["verified", "failed", "unsigned", "error", "stale", "unmatched"] as const;

export default async function OverviewPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireUser();
  const db = getDb();
  const env = getEnv();
  const range = trendRange.catch("30d").parse((await searchParams).range);
  // The figures, tiles and tables come from one snapshot and paint first; the trend chart, the trust
  // panel and the system health stream in behind them (each its own Suspense boundary), so the
  // overview's largest paint never waits for them. The page draws the trend of getCoverageTrend, not
  // the overview's own (trendDays: 0).
  const overview = await getOverview(db, { trendDays: 0 });
  const { fleet, counts } = overview;
  const target = env.SIGNET_COVERAGE_TARGET;
  const base = fleet ? coverageBase(fleet) : 0;
  const staleOrUnknown = fleet ? fleet.containersStale + fleet.containersError : 0;
  const mixValue = (v: (typeof MIX)[number]) =>
    !fleet ? 0 : v === "stale" ? fleet.containersStale : fleet[`containers${v[0]!.toUpperCase()}${v.slice(1)}` as "containersVerified"];
  return (
    <AppShell current="/">
      <h1 className="text-2xl font-semibold">Overview</h1>
      <p className="mt-1 max-w-2xl text-sm text-slate-600 dark:text-slate-400">
        Which images running in your clusters are provably signed by someone you trust, and which are not.
        {fleet && (
          <>
            {" "}
            Figures as of{" "}
            <span data-testid="overview-as-of">
              <Time iso={fleet.takenAt} />
            </span>
            .
          </>
        )}
      </p>

      {overview.reevaluation && (
        <ReevaluationNotice scanId={overview.reevaluation.id} trigger={overview.reevaluation.trigger} done={overview.reevaluation.done} total={overview.reevaluation.total} />
      )}
      <ScanBanners overview={overview} />
      {overview.firstRun && <FirstRunChecklist steps={overview.firstRun} />}

      <section aria-labelledby="coverage" className="mt-6">
        <h2 id="coverage" className="sr-only">
          Coverage
        </h2>
        <div className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-5">
          <Stat
            label="Containers verified"
            value={fleet && base > 0 ? pct(coverageVerified(fleet), base) : "—"}
            hint={
              fleet ? (
                base > 0 ? (
                  <span data-testid="stat-coverage-detail">
                    {coverageVerified(fleet)} of {base}
                    {fleet.containersStaleVerified > 0 ? ` (${fleet.containersStaleVerified} by their last known verdict, stale)` : ""}
                    {fleet.containersError > 0 ? ` · ${fleet.containersError} unknown, counted as not verified` : ""} · target {target}%
                  </span>
                ) : (
                  "no policy applies to a running container"
                )
              ) : (
                `target ${target}%`
              )
            }
            testId="stat-coverage-containers"
            // the containers verified now (the stale ones counted by their last known verdict are in the Stale tile's list)
            href={links.bucket("verified")}
          />
          <Stat
            label="Distinct images verified"
            value={fleet && base > 0 ? pct(fleet.imagesVerified, fleet.imagesTotal) : "—"}
            hint={fleet ? (base > 0 ? `${fleet.imagesVerified} of ${fleet.imagesTotal} digests verified now` : "no policy applies") : undefined}
            testId="stat-coverage-images"
            href={links.images({ verdict: "verified" })}
          />
          <Stat
            label="Failed · unsigned · error"
            value={fleet ? fleet.containersFailed + fleet.containersUnsigned + fleet.containersError : "—"}
            hint={
              fleet ? (
                <span data-testid="stat-failing-detail">
                  <TextLink href={links.bucket("failed")}>{fleet.containersFailed} failed</TextLink> ·{" "}
                  <TextLink href={links.bucket("unsigned")}>{fleet.containersUnsigned} unsigned</TextLink> ·{" "}
                  <TextLink href={links.bucket("error")}>{fleet.containersError} error</TextLink>
                </span>
              ) : (
                "running containers"
              )
            }
            testId="stat-failing"
            // exactly the containers counted
            href={links.containers({ bucket: ["failed", "unsigned", "error"] })}
          />
          <Stat
            label="Stale / unknown"
            value={fleet ? staleOrUnknown : "—"}
            hint={
              fleet ? (
                <span data-testid="stat-stale-detail">
                  {fleet.containersStale} stale (last known {fleet.containersStaleVerified} verified) · {fleet.containersError} unknown
                </span>
              ) : undefined
            }
            testId="stat-stale"
            // exactly the containers counted: stale (last known only) and unknown
            href={links.containers({ bucket: ["stale", "error"] })}
          />
          <Stat
            label="Last scan"
            value={overview.lastScan ? overview.lastScan.status : "never"}
            hint={overview.lastScan ? <Time iso={overview.lastScan.finishedAt ?? overview.lastScan.createdAt} /> : undefined}
            testId="stat-last-scan"
            href={links.scans()}
          />
        </div>
      </section>

      <section aria-labelledby="inventory" className="mt-4">
        <h2 id="inventory" className="sr-only">
          Inventory
        </h2>
        <div className="grid grid-cols-2 gap-4 lg:grid-cols-5">
          <Stat label="Clusters" value={counts.clusters} testId="stat-clusters" href="/clusters" />
          <Stat label="Namespaces" value={counts.namespaces} testId="stat-namespaces" href="/clusters" />
          <Stat label="Running containers" value={counts.runningContainers} testId="stat-containers" href={links.allContainers()} />
          <Stat label="Distinct images" value={counts.distinctImages} testId="stat-images" href={links.images()} />
          <Stat label="Policies" value={counts.policies} testId="stat-policies" href="/policies" />
        </div>
      </section>

      {fleet && overview.stale.length > 0 && (
        <Banner
          tone="warn"
          title={
            // the stale containers themselves
            <TextLink href={links.containers({ bucket: ["stale"] })} testId="stale-card-link">
              {fleet.containersStale} containers show their last known verdict (stale)
            </TextLink>
          }
          testId="stale-card"
        >
          <ul className="mt-1 space-y-1">
            {overview.stale.map((g) => (
              <li key={g.reason} data-testid="stale-group">
                <TextLink href={links.staleGroup(g.reason)} testId="stale-group-link">
                  <span className="tabular-nums">{g.containers}</span>
                </TextLink>{" "}
                stale since <Time iso={g.since} />: {g.reason}{" "}
                <span className="text-xs">
                  (last known: {Object.entries(g.lastKnown).map(([v, n]) => `${n} ${v}`).join(", ")})
                </span>
              </li>
            ))}
          </ul>
        </Banner>
      )}

      {fleet && (
        <>
          <div className="mt-6 grid gap-4 xl:grid-cols-3">
            <Card title="Coverage over time" className="min-w-0 xl:col-span-2" testId="trend-card">
              <Suspense fallback={<ChartPlaceholder />}>
                <FleetTrend range={range} />
              </Suspense>
              {fleet && <TargetProgress figures={fleet} target={target} />}
            </Card>
            <Card title="Verdict mix" className="min-w-0" testId="verdict-mix">
              <VerdictMixChart mix={Object.fromEntries(MIX.map((v) => [v, mixValue(v)]))} />
              <ul className="mt-2 grid grid-cols-2 gap-x-4 text-sm">
                {MIX.map((v) => (
                  <li key={v} className="flex justify-between" data-testid={`mix-${v}`}>
                    <TextLink href={links.bucket(v)}>{v}</TextLink>
                    <span className="tabular-nums">{mixValue(v)}</span>
                  </li>
                ))}
              </ul>
            </Card>
          </div>

          <div className="mt-4 grid gap-4 xl:grid-cols-2">
            <Card title="By cluster" className="min-w-0" testId="clusters-card">
              <SimpleTable head={["Cluster", "Containers", "Verified", "Failed · unsigned · error", "Stale", "Coverage", "Target", "State"]} caption="Coverage by cluster">
                {overview.clusters.map((c) => {
                  const p = toTarget(c, c.target);
                  return (
                    <tr key={c.cluster} data-testid={`cluster-${c.cluster}`}>
                      <td className={td}>
                        <TextLink href={links.cluster(c.cluster)}>{c.cluster}</TextLink>
                      </td>
                      <td className={`${td} tabular-nums`}>
                        <TextLink href={links.images({ cluster: c.cluster })}>{c.containersTotal}</TextLink>
                      </td>
                      <td className={`${td} tabular-nums`}>
                        <TextLink href={links.images({ cluster: c.cluster, verdict: "verified" })}>{c.containersVerified}</TextLink>
                      </td>
                      <td className={`${td} tabular-nums`}>
                        <TextLink href={links.bucket("failed", { cluster: c.cluster })}>{c.containersFailed}</TextLink> ·{" "}
                        <TextLink href={links.bucket("unsigned", { cluster: c.cluster })}>{c.containersUnsigned}</TextLink> ·{" "}
                        <TextLink href={links.bucket("error", { cluster: c.cluster })}>{c.containersError}</TextLink>
                      </td>
                      <td className={`${td} tabular-nums`}>
                        <TextLink href={links.bucket("stale", { cluster: c.cluster })}>{c.containersStale}</TextLink>
                      </td>
                      <td className={`${td} tabular-nums`}>{coveragePct(c)}</td>
                      <td className={`${td} tabular-nums`} title={p.reached ? "reached" : `${p.missing} more to verify`}>
                        {c.target}%{p.reached ? " ✓" : ` (−${p.missing})`}
                      </td>
                      <td className={`${td} text-xs`}>
                        {c.lastError ? (
                          <span className="text-amber-800 dark:text-amber-300">
                            stale since <Time iso={c.lastErrorAt} />
                          </span>
                        ) : (
                          "ok"
                        )}
                      </td>
                    </tr>
                  );
                })}
              </SimpleTable>
            </Card>
            <Card title="Worst namespaces" className="min-w-0" testId="worst-namespaces" actions={<TextLink href="/clusters">All namespaces</TextLink>}>
              <SimpleTable head={["Namespace", "Containers", "Not verified", "Coverage"]} caption="Namespaces with the lowest coverage">
                {overview.worstNamespaces.map((n) => (
                  <tr key={`${n.cluster}/${n.namespace}`} data-testid={`worst-${n.namespace}`}>
                    <td className={td}>
                      <TextLink href={links.namespace(n.cluster, n.namespace)}>
                        {n.cluster}/{n.namespace}
                      </TextLink>
                    </td>
                    <td className={`${td} tabular-nums`}>
                      <TextLink href={links.images({ cluster: n.cluster, namespace: n.namespace })}>{n.containersTotal}</TextLink>
                    </td>
                    <td className={`${td} tabular-nums`}>
                      <TextLink href={links.namespace(n.cluster, n.namespace)}>{n.containersFailed + n.containersUnsigned + n.containersError}</TextLink>
                    </td>
                    <td className={`${td} tabular-nums`}>{coveragePct(n)}</td>
                  </tr>
                ))}
              </SimpleTable>
            </Card>
          </div>

          <Card title="Newest failures" className="mt-4" testId="newest-failures">
            {overview.newestFailures.length === 0 ? (
              <p className="text-sm text-slate-600 dark:text-slate-400">No failing containers.</p>
            ) : (
              <SimpleTable head={["When", "Where", "Image", "Policy", "Verdict", "Reason"]} caption="Newest failed, unsigned and error verdicts (stale ones are grouped above)">
                {overview.newestFailures.map((f) => (
                  <tr key={`${f.containerId}-${f.policy}`}>
                    <td className={td}>
                      <Time iso={f.changedAt} />
                    </td>
                    <td className={`${td} min-w-40 break-words`}>
                      <TextLink href={links.namespace(f.cluster, f.namespace)}>
                        {f.cluster}/{f.namespace}
                      </TextLink>
                      /<TextLink href={links.container(f.containerId)}>{f.workload}</TextLink>
                    </td>
                    <td className={`${td} min-w-48 [overflow-wrap:anywhere]`}>{f.imageId ? <TextLink href={links.image(f.imageId)}>{f.image}</TextLink> : f.image}</td>
                    <td className={td}>
                      {/* the images this policy does not verify */}
                      <TextLink href={links.images({ policy: f.policy, verdict: "failing" })}>{f.policy}</TextLink>{" "}
                      <span className="text-xs text-slate-600 dark:text-slate-400">({f.mode})</span>
                    </td>
                    <td className={td}>
                      <VerdictBadge verdict={f.verdict} />
                    </td>
                    <td className={`${td} break-words text-slate-600 dark:text-slate-400`}>{f.reason}</td>
                  </tr>
                ))}
              </SimpleTable>
            )}
          </Card>
        </>
      )}

      <Suspense fallback={null}>
        <TrustOverviewPanel />
      </Suspense>

      <section aria-labelledby="system" className="mt-8">
        <h2 id="system" className="text-lg font-medium">
          System
        </h2>
        <Suspense fallback={<p className="mt-2 text-sm text-slate-600 dark:text-slate-400">Checking…</p>}>
          <SystemHealth staleSeconds={env.SIGNET_HEARTBEAT_STALE_SECONDS} />
        </Suspense>
      </section>
    </AppShell>
  );
}

/** The fleet's coverage trend over the range in the URL (streamed: the figures above do not wait for it). */
async function FleetTrend({ range }: { range: TrendRange }) {
  return <CoverageTrendChart trend={await getCoverageTrend(getDb(), { range })} />;
}

/** The chart's space while its data loads, so nothing below moves when it arrives. */
function ChartPlaceholder() {
  return <div className="h-64 animate-pulse rounded bg-slate-100 dark:bg-slate-800" role="status" aria-label="Loading the trend" />;
}

/** Database, migrations and workers (streamed). */
async function SystemHealth({ staleSeconds }: { staleSeconds: number }) {
  const health = await checkHealth(getDb(), { staleSeconds, workersSince: processStartedAt() });
  return (
        <ul className="mt-2 divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white text-sm dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900">
          {Object.entries(health.checks).map(([name, check]) => (
            <li key={name} className="flex items-center justify-between gap-2 px-4 py-2" data-testid={`health-${name}`}>
              <span className="capitalize">{name}</span>
              <span className={`break-words text-right ${check.ok ? "text-emerald-700 dark:text-emerald-400" : "text-red-700 dark:text-red-400"}`}>
                {check.ok ? "✓" : "✗"} {check.detail}
              </span>
            </li>
          ))}
        </ul>
  );
}
