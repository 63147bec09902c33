import type { AuditPageDto } from "@/lib/dto/read";
import { shortDigest } from "@/lib/ui/format";
import { links } from "@/lib/ui/links";

type AuditEvent = AuditPageDto["events"][number];

/** A page an audit row links to: the object it changed or concerns, by name. */
export interface AuditLink {
  label: string;
  href: string;
}

const text = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);

/**
 * The objects an audit event changed or concerns, each linked to its page where one exists: the policy
 * (its id resolved by the server, `policyId`), the key (its row on the Keys page), users, registry
 * credentials, webhooks and trust settings, trusted roots, the export key, scans; and for verdict and
 * admission events the namespace, workload and image, and for verdict events the keys that signed the
 * evidence the verdict rests on. Pure: from what the event stores only.
 */
export function auditEventLinks(e: AuditEvent): AuditLink[] {
  const d = (e.details && typeof e.details === "object" && !Array.isArray(e.details) ? e.details : {}) as Record<string, unknown>;
  const action = text(d.action) ?? "";
  const out: AuditLink[] = [];
  const key = (name: string | null) => name && out.push({ label: `key ${name}`, href: links.authority(name) });
  if (action.startsWith("authority.")) {
    if (action === "authority.rotate") {
      key(text(d.from));
      key(text(d.to));
    } else key(text(d.name) ?? text(d.authority));
  } else if (action.startsWith("user.")) out.push({ label: "users", href: "/admin/users" });
  else if (action.startsWith("credential.")) out.push({ label: "registry credentials", href: "/admin/credentials" });
  else if (action.startsWith("webhook.")) out.push({ label: "webhooks", href: "/reminders#webhooks" });
  else if (action === "trust.settings") out.push({ label: "trust settings", href: "/reminders#settings" });
  else if (action.startsWith("trusted-root.") || action.startsWith("tuf-repository.")) out.push({ label: "trusted roots", href: "/trust-roots" });
  else if (action === "export-key.rotate") out.push({ label: "export key", href: "/exports" });
  // the keys that signed the evidence a verdict rests on (named by the server, lib/data/audit)
  for (const name of e.signerKeys) if (!out.some((l) => l.label === `key ${name}`)) key(name);
  if (e.kind === "scan") out.push({ label: "scans", href: links.scans() });
  if (e.policyName && e.policyId) out.push({ label: `policy ${e.policyName}`, href: links.policy(e.policyId) });
  if (e.clusterName && e.namespace) {
    out.push({ label: `${e.clusterName}/${e.namespace}`, href: links.namespace(e.clusterName, e.namespace) });
    if (e.workload) out.push({ label: e.workload, href: links.workload(e.clusterName, e.namespace, e.workload) });
  } else if (e.clusterName) out.push({ label: `cluster ${e.clusterName}`, href: links.cluster(e.clusterName) });
  if (e.imageDigest) out.push({ label: `image ${shortDigest(e.imageDigest)}`, href: links.images({ q: e.imageDigest }) });
  return out;
}
