export default function Loading() {
  return (
    <div className="p-8 text-sm text-slate-500" role="status" aria-live="polite">
      Loading…
    </div>
  );
}
