import type { ReactNode } from "react";

/** The centred card of the sign-in and setup pages. */
export function AuthFrame({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="flex min-h-screen items-center justify-center bg-slate-50 px-4 text-slate-900 dark:bg-slate-950 dark:text-slate-100">
      <div className="w-full max-w-sm rounded-lg border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900">
        <div className="mb-4 flex items-center gap-2">
          <img src="/favicon.svg" alt="" width={24} height={24} />
          <span className="text-lg font-semibold tracking-tight">Signet</span>
        </div>
        <h1 className="mb-4 text-xl font-semibold">{title}</h1>
        {children}
      </div>
    </main>
  );
}

/** Shown in place of a page the signed-in role may not use (the API refuses it too). */
export function Forbidden({ need }: { need: string }) {
  return (
    <section role="alert" data-testid="forbidden" className="rounded-lg border border-amber-300 bg-amber-50 p-6 text-sm dark:border-amber-800 dark:bg-amber-950">
      <h1 className="text-lg font-semibold">Not available to your role</h1>
      <p className="mt-1">This page needs the {need} role. Ask an administrator if you need it.</p>
    </section>
  );
}
