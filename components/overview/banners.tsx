import type { ReactNode } from "react";
import { TextLink } from "@/components/ui";
import type { OverviewDto } from "@/lib/dto/read";
import { formatTime } from "@/lib/ui/format";

/** A plain notice above the figures: "warn" for stale data, "error" for a scan that could not look. */
export function Banner({ tone, title, children, testId }: { tone: "warn" | "error" | "info"; title: ReactNode; children?: ReactNode; testId: string }) {
  const colors = {
    warn: "border-amber-300 bg-amber-50 text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100",
    error: "border-red-300 bg-red-50 text-red-950 dark:border-red-800 dark:bg-red-950 dark:text-red-100",
    info: "border-sky-300 bg-sky-50 text-sky-950 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-100",
  }[tone];
  return (
    <div role={tone === "info" ? "status" : "alert"} className={`mt-4 rounded-lg border px-4 py-3 text-sm ${colors}`} data-testid={testId}>
      <strong className="font-semibold">{title}</strong>
      {children && <div className="mt-1 break-words">{children}</div>}
    </div>
  );
}

/**
 * Why Signet's view is incomplete: the last scan failed or could not read the configuration, and
 * each cluster it could not list (its containers keep their last known verdicts, marked stale).
 */
export function ScanBanners({ overview }: { overview: OverviewDto }) {
  const { lastScan, clusters } = overview;
  const config = lastScan?.errors.filter((e) => e.stage === "configuration") ?? [];
  const unreachable = clusters.filter((c) => c.lastError);
  return (
    <>
      {lastScan?.status === "failed" && (
        <Banner tone="error" title={`Last scan failed (${formatTime(lastScan.finishedAt ?? lastScan.createdAt)})`} testId="banner-scan-failed">
          {config.length > 0 ? (
            <span data-testid="banner-config">
              The cluster configuration cannot be used: {config.map((e) => e.message).join("; ")}. Set <code>KUBECONFIG</code> (or{" "}
              <code>SIGNET_KUBE_CONTEXTS</code>) to a valid kubeconfig, or run Signet in a cluster with its service account.
            </span>
          ) : (
            <span>
              {lastScan.errors.length ? lastScan.errors.slice(0, 3).map((e) => `${e.cluster ? `${e.cluster}: ` : ""}${e.message}`).join("; ") : "no cluster could be listed"}.
            </span>
          )}{" "}
          <TextLink href="/scans">Scans</TextLink>
        </Banner>
      )}
      {unreachable.map((c) => (
        <Banner key={c.cluster} tone="warn" title={`Cluster ${c.cluster} could not be read since ${formatTime(c.lastErrorAt)}`} testId={`banner-cluster-${c.cluster}`}>
          {c.lastError}. Its {c.containersStale} running containers keep their last known verdicts (inventory of {formatTime(c.lastInventoryAt)}), marked stale and not
          counted as verified.
        </Banner>
      ))}
    </>
  );
}

/** Until the first successful scan: what to do, in order (cluster → key → policy → scan). */
export function FirstRunChecklist({ steps }: { steps: NonNullable<OverviewDto["firstRun"]> }) {
  const items: { done: boolean; title: string; body: ReactNode; id: string }[] = [
    {
      id: "cluster",
      done: steps.cluster,
      title: "Connect a cluster",
      body: steps.cluster ? (
        <>Configured: {steps.clusterDetail}</>
      ) : (
        <>
          {steps.clusterDetail}. Signet reads the contexts of <code>~/.kube/config</code> (or <code>$KUBECONFIG</code>, <code>SIGNET_KUBE_CONTEXTS</code>) and the
          in-cluster service account (deploy/rbac.yaml).
        </>
      ),
    },
    { id: "key", done: steps.key, title: "Add a signing key", body: <>Store the public key your CI signs with on <TextLink href="/keys">Keys</TextLink> (or embed it in a policy).</> },
    { id: "policy", done: steps.policy, title: "Write a policy", body: <>Say which images must be signed by whom on <TextLink href="/policies">Policies</TextLink>.</> },
    { id: "scan", done: steps.scan, title: "Run a scan", body: <>Start one on <TextLink href="/scans">Scans</TextLink> (“Scan now”); coverage appears here when it succeeds.</> },
  ];
  return (
    <section aria-labelledby="first-run" className="mt-6 rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900" data-testid="first-run">
      <h2 id="first-run" className="text-lg font-medium">
        Getting started
      </h2>
      <ol className="mt-2 space-y-2 text-sm">
        {items.map((s, i) => (
          <li key={s.id} className="flex gap-3" data-testid={`first-run-${s.id}`} data-done={s.done}>
            <span aria-hidden="true" className={`mt-0.5 inline-flex h-5 w-5 shrink-0 items-center justify-center rounded-full text-xs ${s.done ? "bg-emerald-600 text-white" : "border border-slate-400 text-slate-600 dark:text-slate-300"}`}>
              {s.done ? "✓" : i + 1}
            </span>
            <div>
              <div className="font-medium">
                {s.title}
                <span className="sr-only">{s.done ? " (done)" : " (to do)"}</span>
              </div>
              <div className="text-slate-600 dark:text-slate-400">{s.body}</div>
            </div>
          </li>
        ))}
      </ol>
    </section>
  );
}
