import { X509Certificate } from "node:crypto";
import { trustedRootSchema } from "@/lib/sigstore/trusted-root";
import type { TrustRootItem } from "@/lib/trust/reminders";

/**
 * The dated material of a trusted_root.json: Fulcio CAs (validFor, and the notAfter of their
 * certificates), Rekor and CT log keys, timestamp authorities. Unreadable documents give no items.
 */
export function trustRootItems(rootName: string, document: unknown): TrustRootItem[] {
  const parsed = trustedRootSchema.safeParse(document);
  if (!parsed.success) return [];
  const d = parsed.data;
  const date = (s: string | undefined) => (s ? new Date(s) : null);
  const certEnd = (chain: { rawBytes: string }[]): Date | null => {
    let min: Date | null = null;
    for (const c of chain) {
      try {
        const end = new Date(new X509Certificate(Buffer.from(c.rawBytes, "base64")).validTo);
        if (!min || end < min) min = end;
      } catch {
        // an unparsable certificate: the validFor window still applies
      }
    }
    return min;
  };
  const earliest = (a: Date | null, b: Date | null) => (a && b ? (a < b ? a : b) : (a ?? b));
  const items: TrustRootItem[] = [];
  const label = (ca: (typeof d.certificateAuthorities)[number], i: number) => ca.subject?.commonName || ca.uri || `#${i + 1}`;
  d.certificateAuthorities.forEach((ca, i) =>
    items.push({ root: rootName, kind: "fulcio", label: label(ca, i), start: date(ca.validFor.start), end: earliest(date(ca.validFor.end), certEnd(ca.certChain.certificates)) }),
  );
  d.timestampAuthorities.forEach((ca, i) =>
    items.push({ root: rootName, kind: "tsa", label: label(ca, i), start: date(ca.validFor.start), end: earliest(date(ca.validFor.end), certEnd(ca.certChain.certificates)) }),
  );
  d.tlogs.forEach((l) => items.push({ root: rootName, kind: "rekor", label: l.baseUrl, start: date(l.publicKey.validFor.start), end: date(l.publicKey.validFor.end) }));
  d.ctlogs.forEach((l) => items.push({ root: rootName, kind: "ctlog", label: l.baseUrl, start: date(l.publicKey.validFor.start), end: date(l.publicKey.validFor.end) }));
  return items;
}
