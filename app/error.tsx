"use client";

export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <main className="mx-auto max-w-lg p-10 text-center" role="alert">
      <h1 className="text-xl font-semibold">Something went wrong</h1>
      <p className="mt-2 text-sm text-slate-600">
        The page could not be loaded{error.digest ? ` (reference ${error.digest})` : ""}. The server log has the details.
      </p>
      <button type="button" onClick={reset} className="mt-4 rounded bg-teal-700 px-3 py-1.5 text-sm text-white">
        Try again
      </button>
    </main>
  );
}
