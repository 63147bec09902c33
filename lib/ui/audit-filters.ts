/** The audit page's filters, as its address and its filter bar hold them (dates are whole UTC days). */
export type AuditFilters = {
  kind?: string;
  verdict?: string;
  cluster?: string;
  actor?: string;
  key?: string;
  policy?: string;
  policyVersion?: string;
  q?: string;
  imageDigest?: string;
  from?: string;
  to?: string;
};

export const AUDIT_FILTER_KEYS = ["kind", "verdict", "cluster", "actor", "key", "policy", "policyVersion", "q", "imageDigest", "from", "to"] as const;

/** The API's filters of the page's: "from" starts its day, "to" includes the day it names (UTC). */
export function auditApiFilters(f: AuditFilters): AuditFilters {
  return { ...f, from: f.from ? `${f.from}T00:00:00.000Z` : undefined, to: f.to ? `${f.to}T23:59:59.999Z` : undefined };
}
