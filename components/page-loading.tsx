/**
 * What a page shows while its server component loads: each section's loading.tsx re-exports it. The
 * overview has none on purpose: its figures are in the first HTML it sends, not revealed later in a
 * Suspense boundary (React throttles such reveals to 300 ms after the first paint, which would hold
 * back its largest paint); its slow parts stream behind their own boundaries.
 */
export default function PageLoading() {
  return (
    <div className="p-8" role="status" aria-live="polite" data-testid="page-loading">
      <div className="h-7 w-48 animate-pulse rounded bg-slate-200 dark:bg-slate-800" />
      <div className="mt-6 grid grid-cols-2 gap-4 lg:grid-cols-4">
        {Array.from({ length: 4 }, (_, i) => (
          <div key={i} className="h-20 animate-pulse rounded-lg bg-slate-200 dark:bg-slate-800" />
        ))}
      </div>
      <div className="mt-6 h-64 animate-pulse rounded-lg bg-slate-200 dark:bg-slate-800" />
      <span className="sr-only">Loading…</span>
    </div>
  );
}
