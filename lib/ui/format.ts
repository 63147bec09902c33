import { coverage, percent, type CoverageBasis } from "@/lib/coverage/compute";
import type { VerdictValueDto } from "@/lib/dto/read";

/** A share as a percentage with one decimal, rounded down ("—" when nothing is counted). */
export function pct(part: number, total: number): string {
  if (total <= 0) return "—";
  return `${percent(part, total).toFixed(1)}%`;
}

/** The coverage ratio of a scope's figures (lib/coverage/compute `coverage`), "—" when no policy applies. */
export function coveragePct(f: CoverageBasis): string {
  const c = coverage(f);
  return c === null ? "—" : `${c.toFixed(1)}%`;
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

/** A key's fingerprint ("sha256:<hex>" or bare hex) shortened: "sha256:" and its first 12 hex digits. */
export function shortFingerprint(fingerprint: string): string {
  const hex = fingerprint.trim().toLowerCase().replace(/^sha256:/, "");
  return shortDigest(`sha256:${hex}`);
}

/**
 * The one display name of a key, on every page: its name when it has one (a stored authority's), else
 * its short fingerprint (a key written inline in policies has no name of its own: the names policies
 * give their authorities are theirs, and one key may stand under several).
 */
export function keyName(key: { name?: string | null; fingerprint: string }): string {
  return key.name || shortFingerprint(key.fingerprint);
}

const FINGERPRINT = /sha256:[0-9a-f]{64}/g;

/** The key fingerprints written in a text (a verification reason), each replaced by the key's one name. */
export function nameKeysIn(text: string, names: Readonly<Record<string, string>>): string {
  return text.replace(FINGERPRINT, (fp) => names[`key:${fp}`] ?? shortFingerprint(fp));
}

/** The untrusted key a verification reason names ("signed by an untrusted key sha256:<hex>"), if any. */
export function untrustedKeyIn(text: string): string | null {
  return /untrusted key (sha256:[0-9a-f]{64})/.exec(text)?.[1] ?? null;
}

/** "key:sha256:<hex>" → "key sha256:abc…"; "keyless:<issuer>|<identity>" → identity (issuer host). */
export function signerLabel(signer: string): string {
  if (signer.startsWith("key:")) return `key ${shortFingerprint(signer.slice(4))}`;
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
