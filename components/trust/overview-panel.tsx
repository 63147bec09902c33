import Link from "next/link";
import { getDb } from "@/lib/db/client";
import { getReminders } from "@/lib/trust/load-reminders";
import { revokedWorkloads } from "@/lib/trust/revoke";
import { SeverityBadge } from "@/components/trust/ui";
import { links } from "@/lib/ui/links";

/**
 * The overview's trust panel: reminders due (rotation, expiry) and workloads that fail because an
 * authority was revoked. Self-contained (loads its own data); rendered by app/page.tsx.
 */
export async function TrustOverviewPanel() {
  const db = getDb();
  const [reminders, revoked] = await Promise.all([getReminders(db), revokedWorkloads(db, 10)]);
  const overdue = reminders.filter((r) => r.severity === "overdue").length;
  if (reminders.length === 0 && revoked.length === 0) {
    return (
      <section aria-labelledby="trust-panel" className="mt-8" data-testid="trust-panel">
        <h2 id="trust-panel" className="text-lg font-medium">
          Keys & reminders
        </h2>
        <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">No key or trusted-root reminder is due, and no workload fails on a revoked key.</p>
      </section>
    );
  }
  return (
    <section aria-labelledby="trust-panel" className="mt-8" data-testid="trust-panel">
      <h2 id="trust-panel" className="text-lg font-medium">
        Keys & reminders
      </h2>
      {revoked.length > 0 && (
        <div role="alert" className="mt-2 rounded-lg border border-red-300 bg-red-50 p-4 text-sm dark:border-red-800 dark:bg-red-950" data-testid="revoked-workloads">
          <p className="font-medium">
            {revoked.length} workload{revoked.length === 1 ? "" : "s"} fail{revoked.length === 1 ? "s" : ""} because a signing key was revoked
          </p>
          <ul className="mt-1 list-disc pl-5">
            {revoked.map((w) => (
              <li key={`${w.cluster}/${w.namespace}/${w.workload}`}>
                {/* the workload's page: its containers, their images and verdicts per policy */}
                <Link href={links.workload(w.cluster, w.namespace, w.workload)} className="font-mono text-teal-700 underline dark:text-teal-400" data-testid="revoked-workload-link">
                  {w.cluster}/{w.namespace} {w.workload}
                </Link>{" "}
                — {w.policies.join(", ")}
                {w.authorities.length ? ` (revoked: ${w.authorities.join(", ")})` : ""}
              </li>
            ))}
          </ul>
        </div>
      )}
      {reminders.length > 0 && (
        <div className="mt-2 rounded-lg border border-slate-200 bg-white p-4 text-sm dark:border-slate-800 dark:bg-slate-900" data-testid="reminder-summary">
          <p>
            {reminders.length} reminder{reminders.length === 1 ? "" : "s"}
            {overdue ? `, ${overdue} overdue` : ""}.{" "}
            <Link href="/reminders" className="text-teal-700 underline dark:text-teal-400">
              All reminders
            </Link>
          </p>
          <ul className="mt-2 space-y-1">
            {reminders.slice(0, 3).map((r) => (
              <li key={r.id} className="flex items-center gap-2">
                <SeverityBadge severity={r.severity} /> {r.message}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
