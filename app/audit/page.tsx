import type { Metadata } from "next";
import { AppShell } from "@/components/app-shell";
import { ErrorState, PageHeader } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { hasRole } from "@/lib/auth/roles";
import { listAuditActors, listAuditEvents } from "@/lib/data/audit";
import { listImageFacets } from "@/lib/data/images";
import { getDb } from "@/lib/db/client";
import { auditQuery } from "@/lib/dto/read";
import { AUDIT_FILTER_KEYS, auditApiFilters, type AuditFilters } from "@/lib/ui/audit-filters";
import { listAuthorities } from "@/lib/trust/inventory";
import { firstValues } from "@/lib/ui/search-params";
import { AuditClient } from "./page-client";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Audit log" };

export default async function AuditPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await requireUser();
  if (!hasRole(user.role, "auditor")) {
    return (
      <AppShell current="/audit">
        <PageHeader title="Audit log" />
        <div className="mt-6">
          <ErrorState message="The audit log needs the auditor role." />
        </div>
      </AppShell>
    );
  }
  const db = getDb();
  // the filters in the address (links from images and containers: ?imageDigest=…), kept when valid
  const raw = firstValues(await searchParams);
  const picked: AuditFilters = Object.fromEntries(AUDIT_FILTER_KEYS.filter((k) => raw[k]).map((k) => [k, raw[k]]));
  const parsed = auditQuery.safeParse({ ...auditApiFilters(picked), limit: 50 });
  const initialFilters = parsed.success ? picked : {};
  const [initial, facets, actors, authorities, policies] = await Promise.all([
    listAuditEvents(db, parsed.success ? parsed.data : auditQuery.parse({ limit: 50 })),
    listImageFacets(db),
    listAuditActors(db),
    listAuthorities(db),
    // archived ones too: their events stay in the log
    db.policy.findMany({ select: { name: true, currentVersion: true }, orderBy: { name: "asc" } }),
  ]);
  return (
    <AppShell current="/audit">
      <PageHeader title="Audit log" description="Every verdict change and administrative action, append-only and hash-chained: each event's hash covers the one before it." />
      <div className="mt-6">
        <AuditClient
          initial={initial} initialFilters={initialFilters} clusters={facets.clusters} actors={actors} keys={[...new Set(authorities.map((a) => a.name))]}
          policies={policies.map((p) => ({ name: p.name, versions: p.currentVersion }))}
        />
      </div>
    </AppShell>
  );
}
