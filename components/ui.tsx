import Link from "next/link";
import type { ReactNode } from "react";
import type { VerdictValueDto } from "@/lib/dto/read";
import { VERDICT_BADGE } from "@/lib/ui/format";

/** Building blocks shared by the dashboard pages (server and client). */

export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="flex flex-wrap items-start justify-between gap-4">
      <div className="min-w-0">
        <h1 className="text-2xl font-semibold [overflow-wrap:anywhere]">{title}</h1>
        {description && <p className="mt-1 max-w-3xl text-sm text-slate-600 dark:text-slate-400">{description}</p>}
      </div>
      {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
    </div>
  );
}

export function Card({ title, children, className = "", testId, actions, id }: { title?: ReactNode; children: ReactNode; className?: string; testId?: string; actions?: ReactNode; id?: string }) {
  return (
    <section id={id} className={`rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900 ${className}`} data-testid={testId}>
      {(title || actions) && (
        <div className="mb-3 flex items-center justify-between gap-2">
          {title && <h2 className="text-base font-medium">{title}</h2>}
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}

/** A figure tile; with `href` the whole tile links to the list behind the figure (its hint must then hold no link). */
export function Stat({ label, value, hint, testId, href }: { label: string; value: ReactNode; hint?: ReactNode; testId: string; href?: string }) {
  const head = (
    <>
      <div className="text-xs uppercase tracking-wide text-slate-600 dark:text-slate-400">{label}</div>
      <div className="mt-1 text-2xl font-semibold tabular-nums" data-testid={testId}>
        {value}
      </div>
    </>
  );
  const box = "block rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900";
  // the label and figure link to the list behind them; the hint stays outside the link, so it may hold
  // links of its own (no link inside a link)
  return (
    <div className={href ? `${box} hover:border-teal-600 focus-within:ring-2 focus-within:ring-teal-600 dark:hover:border-teal-500` : box}>
      {href ? (
        <Link href={href} className="block focus:outline-none" data-testid={`${testId}-link`}>
          {head}
        </Link>
      ) : (
        head
      )}
      {hint && <div className="mt-1 text-xs text-slate-600 dark:text-slate-400">{hint}</div>}
    </div>
  );
}

export function VerdictBadge({ verdict }: { verdict: VerdictValueDto | null }) {
  if (!verdict) return <span className="rounded px-1.5 py-0.5 text-xs text-slate-600 dark:text-slate-400">not evaluated</span>;
  return <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${VERDICT_BADGE[verdict]}`}>{verdict}</span>;
}

export function EmptyState({ title, children, testId = "empty-state" }: { title: string; children?: ReactNode; testId?: string }) {
  return (
    <div className="rounded-lg border border-dashed border-slate-300 p-6 text-sm dark:border-slate-700" data-testid={testId}>
      <h2 className="font-medium">{title}</h2>
      {children && <div className="mt-1 text-slate-600 dark:text-slate-400">{children}</div>}
    </div>
  );
}

export function ErrorState({ message, onRetry }: { message: string; onRetry?: () => void }) {
  return (
    <div role="alert" className="rounded-lg border border-red-300 bg-red-50 p-4 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-200" data-testid="error-state">
      <p>{message}</p>
      {onRetry && (
        <button type="button" onClick={onRetry} className="mt-2 rounded bg-red-700 px-2 py-1 text-xs text-white focus:outline-none focus-visible:ring-2 focus-visible:ring-red-400">
          Try again
        </button>
      )}
    </div>
  );
}

export function Skeleton({ rows = 5, label = "Loading…" }: { rows?: number; label?: string }) {
  return (
    <div role="status" aria-live="polite" aria-label={label} className="space-y-2" data-testid="loading-state">
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="h-6 animate-pulse rounded bg-slate-200 dark:bg-slate-800" />
      ))}
      <span className="sr-only">{label}</span>
    </div>
  );
}

export function TextLink({ href, children, testId }: { href: string; children: ReactNode; testId?: string }) {
  return (
    <Link href={href} data-testid={testId} className="text-teal-700 underline decoration-teal-700/40 underline-offset-2 hover:decoration-current focus:outline-none focus-visible:ring-2 focus-visible:ring-teal-600 dark:text-teal-400 dark:decoration-teal-400/50">
      {children}
    </Link>
  );
}

export const buttonClass =
  "inline-flex items-center gap-1 rounded border border-slate-300 bg-white px-3 py-1.5 text-sm hover:bg-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-teal-600 disabled:opacity-50 dark:border-slate-700 dark:bg-slate-900 dark:hover:bg-slate-800";
export const primaryButtonClass =
  "inline-flex items-center gap-1 rounded bg-teal-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-teal-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-teal-400 disabled:opacity-50";
export const inputClass =
  "rounded border border-slate-300 bg-white px-2 py-1.5 text-sm focus:outline-none focus-visible:ring-2 focus-visible:ring-teal-600 dark:border-slate-700 dark:bg-slate-900";

/** A plain table (server-rendered lists that need no sorting). */
export function SimpleTable({ head, children, testId, caption }: { head: string[]; children: ReactNode; testId?: string; caption?: string }) {
  return (
    // a region that may scroll sideways on a narrow screen: focusable, so the keyboard can scroll it
    <div className="relative overflow-x-auto" tabIndex={0} role="region" aria-label={caption ?? head.join(", ")}>
      <table className="w-full text-left text-sm" data-testid={testId}>
        {caption && <caption className="sr-only">{caption}</caption>}
        <thead className="border-b border-slate-200 text-xs uppercase tracking-wide text-slate-500 dark:border-slate-800 dark:text-slate-400">
          <tr>
            {head.map((h) => (
              <th key={h} scope="col" className="px-2 py-2 font-medium">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 dark:divide-slate-800">{children}</tbody>
      </table>
    </div>
  );
}

export const td = "px-2 py-1.5 align-top";

/**
 * The page links of a server-rendered list ("Previous · 2 / 5 · Next"), nothing when it has one page;
 * `href(n)` spells page n's address (lib/ui/links).
 */
export function PageLinks({ page, pages, href, label = "Pagination", testId }: { page: number; pages: number; href: (page: number) => string; label?: string; testId?: string }) {
  if (pages <= 1) return null;
  return (
    <nav aria-label={label} className="mt-3 flex flex-wrap items-center gap-3 text-sm" data-testid={testId}>
      {page > 1 && <TextLink href={href(page - 1)}>Previous</TextLink>}
      <span className="tabular-nums">
        {page} / {pages}
      </span>
      {page < pages && <TextLink href={href(page + 1)}>Next</TextLink>}
    </nav>
  );
}
