import type { VerdictValueDto } from "@/lib/dto/read";

/** Coverage percentage with one decimal ("—" when nothing is counted). */
export function pct(part: number, total: number): string {
  if (total <= 0) return "—";
  return `${(Math.floor((part / total) * 1000) / 10).toFixed(1)}%`;
}

/** sha256:abcdef… shortened to the first 12 hex digits. */
export function shortDigest(digest: string): string {
  const [alg, hex = ""] = digest.split(":");
  return hex ? `${alg}:${hex.slice(0, 12)}` : digest;
}

/**
 * A stable, locale-independent timestamp (ISO 8601, UTC) so server and client render the same text.
 * Pages show moments through components/time.tsx (<Time>), which adds the local time on hover.
 */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z").replace(/Z$/, " UTC");
}

/** The UTC day of a moment ("2026-03-01"), for dates without a time of day (rotate by, valid until). */
export function formatDay(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 10) : "—";
}

/** "key:sha256:<hex>" → "key sha256:abc…"; "keyless:<issuer>|<identity>" → identity (issuer host). */
export function signerLabel(signer: string): string {
  if (signer.startsWith("key:")) return `key ${shortDigest(signer.slice(4))}`;
  if (signer.startsWith("keyless:")) {
    const [issuer = "", identity = ""] = signer.slice(8).split("|");
    let host = issuer;
    try {
      host = new URL(issuer).host;
    } catch {
      // not a URL: show as is
    }
    return `${identity} (${host})`;
  }
  return signer;
}

/**
 * A signer by its one name (lib/trust/inventory authorityNames: the authority's name as the Keys page
 * shows it), or, when no authority trusts it, "untrusted key sha256:…" / "untrusted identity …".
 */
export function signerName(signer: string, names: Readonly<Record<string, string>>): string {
  const name = names[signer];
  if (name) return name;
  return signer.startsWith("key:") ? `untrusted ${signerLabel(signer)}` : `untrusted identity ${signerLabel(signer)}`;
}

export const VERDICTS: readonly VerdictValueDto[] = ["verified", "failed", "unsigned", "error", "unmatched"];

/** Tailwind classes of a verdict badge (light and dark). */
export const VERDICT_BADGE: Record<VerdictValueDto, string> = {
  verified: "bg-emerald-100 text-emerald-900 dark:bg-emerald-900/50 dark:text-emerald-200",
  failed: "bg-red-100 text-red-900 dark:bg-red-900/50 dark:text-red-200",
  unsigned: "bg-amber-100 text-amber-900 dark:bg-amber-900/50 dark:text-amber-200",
  error: "bg-fuchsia-100 text-fuchsia-900 dark:bg-fuchsia-900/50 dark:text-fuchsia-200",
  unmatched: "bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-200",
};

/** Chart colours of the verdicts (readable on light and dark backgrounds). */
export const VERDICT_COLOR: Record<VerdictValueDto, string> = {
  verified: "#059669",
  failed: "#dc2626",
  unsigned: "#d97706",
  error: "#c026d3",
  unmatched: "#64748b",
};
