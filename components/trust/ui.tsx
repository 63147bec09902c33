import type { ReactNode } from "react";

/** Small presentational pieces shared by the Keys and Reminders pages (server components). */

export function StatusBadge({ status }: { status: "active" | "retiring" | "revoked" }) {
  const cls = {
    active: "bg-emerald-100 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300",
    retiring: "bg-amber-100 text-amber-900 dark:bg-amber-950 dark:text-amber-300",
    revoked: "bg-red-100 text-red-800 dark:bg-red-950 dark:text-red-300",
  }[status];
  return <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${cls}`}>{status}</span>;
}

export function SeverityBadge({ severity }: { severity: "overdue" | "due-soon" }) {
  return severity === "overdue" ? (
    <span className="rounded bg-red-100 px-1.5 py-0.5 text-xs font-medium text-red-800 dark:bg-red-950 dark:text-red-300">overdue</span>
  ) : (
    <span className="rounded bg-amber-100 px-1.5 py-0.5 text-xs font-medium text-amber-900 dark:bg-amber-950 dark:text-amber-300">due soon</span>
  );
}

export function Section({ title, id, children }: { title: string; id: string; children: ReactNode }) {
  return (
    <section aria-labelledby={id} className="mt-8">
      <h2 id={id} className="text-lg font-medium">
        {title}
      </h2>
      <div className="mt-2">{children}</div>
    </section>
  );
}
