import Link from "next/link";
import type { ReactNode } from "react";
import { NAV } from "@/components/nav";

/** Sidebar navigation and page frame shared by every page. */
export function AppShell({ children, current }: { children: ReactNode; current: string }) {
  return (
    <div className="flex min-h-screen bg-slate-50 text-slate-900 dark:bg-slate-950 dark:text-slate-100">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:rounded focus:bg-white focus:p-2">
        Skip to content
      </a>
      <aside className="w-60 shrink-0 border-r border-slate-200 bg-white px-3 py-4 dark:border-slate-800 dark:bg-slate-900">
        <div className="mb-6 flex items-center gap-2 px-2">
          <img src="/favicon.svg" alt="" width={24} height={24} />
          <span className="text-lg font-semibold tracking-tight">Signet</span>
        </div>
        <nav aria-label="Main">
          <ul className="space-y-1">
            {NAV.map((item) => (
              <li key={item.href}>
                {item.ready ? (
                  <Link
                    href={item.href}
                    aria-current={current === item.href ? "page" : undefined}
                    className={`block rounded px-2 py-1.5 text-sm hover:bg-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-teal-600 dark:hover:bg-slate-800 ${
                      current === item.href ? "bg-slate-100 font-medium dark:bg-slate-800" : ""
                    }`}
                  >
                    {item.label}
                  </Link>
                ) : (
                  <span
                    aria-disabled="true"
                    title="Planned"
                    className="block cursor-not-allowed rounded px-2 py-1.5 text-sm text-slate-400 dark:text-slate-600"
                  >
                    {item.label}
                  </span>
                )}
              </li>
            ))}
          </ul>
        </nav>
      </aside>
      <main id="main" className="min-w-0 flex-1 px-8 py-6">
        {children}
      </main>
    </div>
  );
}
