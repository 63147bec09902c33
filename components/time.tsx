"use client";

import { formatDay, formatTime } from "@/lib/ui/format";
import { useHydrated } from "@/lib/ui/use-hydrated";

/**
 * The dashboard's one way to show a moment: ISO 8601 in UTC ("2026-03-01 14:05:09 UTC", or the day
 * alone), the same text on the server and in the browser, with the reader's local time on hover
 * (added once hydrated, since the server does not know the reader's time zone).
 */
export function Time({ iso, day = false, className }: { iso: string | Date | null | undefined; day?: boolean; className?: string }) {
  const hydrated = useHydrated();
  if (!iso) return <span className={className}>—</span>;
  const value = typeof iso === "string" ? iso : iso.toISOString();
  const local = hydrated ? new Date(value).toLocaleString(undefined, day ? { dateStyle: "long", timeZone: "UTC" } : { dateStyle: "medium", timeStyle: "long" }) : undefined;
  return (
    <time dateTime={value} title={local && (day ? local : `${local} (local time)`)} className={`whitespace-nowrap ${className ?? ""}`}>
      {day ? formatDay(value) : formatTime(value)}
    </time>
  );
}
