import Link from "next/link";
import type { ReactNode } from "react";
import { SignOutButton } from "@/components/auth/sign-out-button";
import { NAV } from "@/components/nav";
import { ThemeToggle } from "@/components/theme-toggle";
import { getCurrentUser } from "@/lib/auth/current-user";
import { hasRole, type Role } from "@/lib/auth/roles";

/** Pages a role below the one named here does not see in the navigation (the server refuses them too). */
const NAV_ROLE: Record<string, Role> = { "/audit": "auditor", "/exports": "auditor" };

const ADMIN_NAV = [
  { href: "/admin/users", label: "Users" },
  { href: "/admin/credentials", label: "Registry credentials" },
];

function NavLink({ href, label, current }: { href: string; label: string; current: string }) {
  return (
    <Link
      href={href}
      aria-current={current === href ? "page" : undefined}
      className={`block rounded px-2 py-1.5 text-sm hover:bg-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-teal-600 dark:hover:bg-slate-800 ${
        current === href ? "bg-slate-100 font-medium dark:bg-slate-800" : ""
      }`}
    >
      {label}
    </Link>
  );
}

/** Sidebar navigation and page frame shared by every page; shows the signed-in user and what their role may use. */
export async function AppShell({ children, current }: { children: ReactNode; current: string }) {
  const user = await getCurrentUser();
  const nav = NAV.filter((item) => {
    const need = NAV_ROLE[item.href];
    return !need || hasRole(user?.role, need);
  });
  return (
    <div className="flex min-h-screen flex-col bg-slate-50 text-slate-900 md:flex-row dark:bg-slate-950 dark:text-slate-100">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:rounded focus:bg-white focus:p-2">
        Skip to content
      </a>
      <aside className="flex shrink-0 flex-col border-b md:sticky md:top-0 md:h-screen md:w-56 md:border-b-0 md:border-r border-slate-200 bg-white px-3 py-4 dark:border-slate-800 dark:bg-slate-900">
        <div className="mb-6 flex items-center gap-2 px-2">
          <img src="/favicon.svg" alt="" width={24} height={24} />
          <span className="text-lg font-semibold tracking-tight">Signet</span>
        </div>
        <nav aria-label="Main">
          <ul className="space-y-1">
            {nav.map((item) => (
              <li key={item.href}>
                {item.ready ? (
                  <NavLink href={item.href} label={item.label} current={current} />
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
        {hasRole(user?.role, "admin") && (
          <nav aria-label="Administration" className="mt-6">
            <div className="px-2 text-xs uppercase tracking-wide text-slate-600 dark:text-slate-400">Administration</div>
            <ul className="mt-1 space-y-1">
              {ADMIN_NAV.map((item) => (
                <li key={item.href}>
                  <NavLink href={item.href} label={item.label} current={current} />
                </li>
              ))}
            </ul>
          </nav>
        )}
        <div className="mt-auto px-2 pb-3">
          <ThemeToggle />
        </div>
        {user && (
          <div className="border-t border-slate-200 px-2 pt-3 text-sm dark:border-slate-800" data-testid="signed-in-user">
            <div className="truncate font-medium" title={user.email}>
              {user.name || user.email}
            </div>
            <div className="truncate text-xs text-slate-600 dark:text-slate-400">{user.email}</div>
            <div className="mt-1 flex items-center justify-between">
              <span className="rounded bg-slate-100 px-1.5 py-0.5 text-xs dark:bg-slate-800" data-testid="user-role">
                {user.role}
              </span>
              <SignOutButton />
            </div>
          </div>
        )}
      </aside>
      <main id="main" tabIndex={-1} className="min-w-0 flex-1 px-6 py-6 focus:outline-none lg:px-8">
        {children}
      </main>
    </div>
  );
}
