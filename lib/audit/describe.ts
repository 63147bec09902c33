/**
 * One line saying what an audit event changed, for the audit page and the CSV export: which object
 * (user, policy, key, credential, webhook, trusted root) and, where the event recorded them, the old and
 * new values. Pure, and only from what the event stores — events never hold secrets (passwords, registry
 * secrets and webhook URLs are not written to the log), so nothing here can reveal one.
 */
import { formatDay } from "@/lib/ui/format";

export interface DescribableEvent {
  kind: string;
  actor: string | null;
  clusterName: string | null;
  namespace: string | null;
  workload: string | null;
  imageDigest: string | null;
  policyName: string | null;
  policyVersion: number | null;
  verdict: string | null;
  previousVerdict: string | null;
  details: unknown;
}

const MAX = 400;
type Details = Record<string, unknown>;

function str(v: unknown): string {
  if (v === null || v === undefined || v === "") return "none";
  if (Array.isArray(v)) return v.length === 0 ? "none" : v.slice(0, 10).map(str).join(", ") + (v.length > 10 ? ` and ${v.length - 10} more` : "");
  if (typeof v === "object") return JSON.stringify(v).slice(0, 120);
  return String(v);
}

/** Fields holding a day (stored as an ISO moment): shown as the dashboard's one day format, "2027-01-31". */
const DAY_FIELDS = new Set(["rotateBy"]);

/** A field's value as the summary shows it. */
function value(field: string, v: unknown): string {
  return DAY_FIELDS.has(field) && typeof v === "string" && v !== "" ? formatDay(v) : str(v);
}

/** "field: old -> new" for each field of `from` (the values before) that the event changed. */
function changes(d: Details, fields: readonly string[]): string {
  const from = (d.from && typeof d.from === "object" ? d.from : {}) as Details;
  return fields
    .filter((f) => f in d)
    .map((f) => (f in from ? `${f} ${value(f, from[f])} -> ${value(f, d[f])}` : `${f} ${value(f, d[f])}`))
    .join(", ");
}

function describeAction(e: DescribableEvent, d: Details): string {
  const action = typeof d.action === "string" ? d.action : "";
  const policy = `${e.policyName ?? "?"}${e.policyVersion ? ` v${e.policyVersion}` : ""}`;
  switch (action) {
    case "user.create":
      return `created user ${str(d.user)} with role ${str(d.role)}${d.groups ? ` (SSO groups: ${str(d.groups)})` : ""}`;
    case "user.role":
      return `changed the role of ${str(d.user)}: ${str(d.from)} -> ${str(d.to)}${d.groups ? ` (SSO groups: ${str(d.groups)})` : ""}`;
    case "user.delete":
      return `deleted user ${str(d.user)} (role ${str(d.role)})`;
    case "credential.create":
      return `added registry credentials for ${str(d.host)} (user ${str(d.username)}${d.hasSecret ? ", with a secret" : ""}${d.insecure ? ", insecure" : ""})`;
    case "credential.update":
      return `changed registry credentials for ${str(d.host)}: ${str(d.changed)}`;
    case "credential.delete":
      return `deleted registry credentials for ${str(d.host)}`;
    case "webhook.create":
      return `added webhook ${str(d.name)} (${str(d.format)} to ${str(d.host)}; events ${str(d.events)})`;
    case "webhook.delete":
      return `deleted webhook ${str(d.name)}`;
    case "policy.create":
      return `created policy ${policy} (mode ${str(d.mode)}, source ${str(d.source)})`;
    case "policy.update":
      return `changed policy ${e.policyName ?? "?"}: v${str(d.fromVersion ?? (e.policyVersion ? e.policyVersion - 1 : "?"))} -> v${str(e.policyVersion)}${
        d.fromMode && d.fromMode !== d.mode ? `, mode ${str(d.fromMode)} -> ${str(d.mode)}` : `, mode ${str(d.mode)}`
      }`;
    case "policy.archive":
      return `archived policy ${policy}: ${str(d.reason)}`;
    case "authority.create":
      return `added key ${str(d.name)} (${str(d.fingerprint)}, source ${str(d.source)})`;
    case "authority.update":
      return `changed key ${str(d.name)}: ${changes(d, ["owner", "rotateBy", "status"]) || "nothing"}`;
    case "authority.rotate":
      return `rotated key ${str(d.from)} -> ${str(d.to)} in policies ${str(d.policies)}`;
    case "authority.revoke":
      return `revoked ${str(d.authority)}: ${str(d.reason)} (policies ${str(d.policies)})`;
    case "export-key.rotate":
      return `rotated the export key: sha256:${str(d.from)} -> sha256:${str(d.to)} (the old public key stays published)`;
    case "trust.settings":
      return `changed trust settings: ${changes(d, ["retireSafeDays", "reminderDays"]) || "nothing"}`;
    case "trusted-root.add":
      return `added trusted root ${str(d.name)} (sha256 ${str(d.sha256)})`;
    case "trusted-root.remove":
      return `removed trusted root ${str(d.name)}${d.tuf ? " and its TUF repository" : ""}`;
    case "tuf-repository.add":
      return `added TUF repository ${str(d.name)} (${str(d.mirrorUrl)}, root v${str(d.rootVersion)})`;
    case "auth.sign_in_failed": {
      const account = d.failures !== null && d.failures !== undefined ? `${str(d.failures)} failed sign-ins for ${str(d.account)} since its last success (from ${str(d.addresses)})` : `failed sign-in for ${str(d.account)}`;
      return d.address !== undefined ? `${account}; ${str(d.addressFailures)} failures from ${str(d.address)} today (accounts ${str(d.accounts)})` : account;
    }
    case "auth.throttled":
      return `throttled ${str(d.address)}: over ${str(d.attempts ? Number(d.attempts) - 1 : "?")} ${str(d.scope)} attempts in ${str(d.windowSeconds)} s`;
    default: {
      const rest = Object.entries(d)
        .filter(([k]) => k !== "action")
        .slice(0, 8)
        .map(([k, v]) => `${k} ${str(v)}`)
        .join(", ");
      return [action || e.kind, e.policyName ? policy : "", rest].filter(Boolean).join(" ");
    }
  }
}

export function describeAuditEvent(e: DescribableEvent): string {
  let text: string;
  if (e.kind === "verdict") {
    const where = [e.clusterName, e.namespace, e.workload].filter(Boolean).join("/");
    text = `${e.imageDigest ?? "?"} in ${where || "?"} under ${e.policyName ?? "?"}${e.policyVersion ? ` v${e.policyVersion}` : ""}: ${e.previousVerdict ? `${e.previousVerdict} -> ` : ""}${e.verdict ?? "?"}`;
  } else {
    const d = (e.details && typeof e.details === "object" && !Array.isArray(e.details) ? e.details : {}) as Details;
    text = describeAction(e, d);
  }
  return text.length > MAX ? `${text.slice(0, MAX - 3)}...` : text;
}
