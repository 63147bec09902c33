import Link from "next/link";
import type { CoverageFiguresDto, ListedBucket } from "@/lib/dto/drilldown";
import { coveragePct, pct, VERDICT_BADGE } from "@/lib/ui/format";

/** Every bucket of the scope's containers (ADR 0013): the tiles add up to its containers. */
const TILES: { verdict: ListedBucket; label: string; key: keyof CoverageFiguresDto; badge: string }[] = [
  { verdict: "verified", label: "Verified", key: "containersVerified", badge: VERDICT_BADGE.verified },
  { verdict: "failed", label: "Failed", key: "containersFailed", badge: VERDICT_BADGE.failed },
  { verdict: "unsigned", label: "Unsigned", key: "containersUnsigned", badge: VERDICT_BADGE.unsigned },
  { verdict: "error", label: "Error", key: "containersError", badge: VERDICT_BADGE.error },
  // last known verdict only (Signet cannot look now)
  { verdict: "stale", label: "Stale", key: "containersStale", badge: "bg-stone-200 text-stone-800 dark:bg-stone-700 dark:text-stone-100" },
  { verdict: "unmatched", label: "No policy", key: "containersUnmatched", badge: VERDICT_BADGE.unmatched },
];

const tile =
  "block rounded-lg border border-slate-200 bg-white p-3 hover:border-teal-600 focus:outline-none focus-visible:ring-2 focus-visible:ring-teal-600 dark:border-slate-800 dark:bg-slate-900 dark:hover:border-teal-500";

/**
 * Coverage and the verdict mix of a scope's running containers as tiles; every tile is a link to the
 * list behind its count (`hrefFor(bucket)`, `hrefFor(undefined)` for all its containers).
 */
export function VerdictTiles({ figures, hrefFor, testId = "verdict-tiles" }: { figures: CoverageFiguresDto; hrefFor: (bucket?: ListedBucket) => string; testId?: string }) {
  return (
    <div className="grid grid-cols-2 gap-3 sm:grid-cols-4 lg:grid-cols-8" data-testid={testId}>
      <Link href={hrefFor()} className={tile} data-testid="tile-coverage">
        <div className="text-xs uppercase tracking-wide text-slate-600 dark:text-slate-400">Coverage</div>
        <div className="mt-1 text-xl font-semibold tabular-nums">{coveragePct(figures)}</div>
      </Link>
      <Link href={hrefFor()} className={tile} data-testid="tile-containers">
        <div className="text-xs uppercase tracking-wide text-slate-600 dark:text-slate-400">Containers</div>
        <div className="mt-1 text-xl font-semibold tabular-nums">{figures.containersTotal}</div>
      </Link>
      {TILES.map((t) => (
        <Link key={t.verdict} href={hrefFor(t.verdict)} className={tile} data-testid={`tile-${t.verdict}`}>
          <div className="text-xs uppercase tracking-wide">
            <span className={`rounded px-1 ${t.badge}`}>{t.label}</span>
          </div>
          <div className="mt-1 text-xl font-semibold tabular-nums">{figures[t.key]}</div>
        </Link>
      ))}
    </div>
  );
}
