import type { Metadata } from "next";
import { AppShell } from "@/components/app-shell";
import { ErrorState, PageHeader } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { hasRole } from "@/lib/auth/roles";
import { listAuditActors, listAuditEvents } from "@/lib/data/audit";
import { listImageFacets } from "@/lib/data/images";
import { getDb } from "@/lib/db/client";
import { auditQuery } from "@/lib/dto/read";
import { AuditClient } from "./page-client";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Audit log" };

export default async function AuditPage() {
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
  const [initial, facets, actors] = await Promise.all([listAuditEvents(db, auditQuery.parse({ limit: 50 })), listImageFacets(db), listAuditActors(db)]);
  return (
    <AppShell current="/audit">
      <PageHeader title="Audit log" description="Every verdict change and administrative action, append-only and hash-chained: each event's hash covers the one before it." />
      <div className="mt-6">
        <AuditClient initial={initial} clusters={facets.clusters} actors={actors} />
      </div>
    </AppShell>
  );
}
