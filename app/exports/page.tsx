import type { Metadata } from "next";
import { AppShell } from "@/components/app-shell";
import { ErrorState, PageHeader } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { hasRole } from "@/lib/auth/roles";
import { listImageFacets } from "@/lib/data/images";
import { getDb } from "@/lib/db/client";
import { ExportsClient } from "./page-client";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Exports" };

export default async function ExportsPage() {
  const user = await requireUser();
  if (!hasRole(user.role, "auditor")) {
    return (
      <AppShell current="/exports">
        <PageHeader title="Exports" />
        <div className="mt-6">
          <ErrorState message="Compliance exports need the auditor role." />
        </div>
      </AppShell>
    );
  }
  const facets = await listImageFacets(getDb());
  return (
    <AppShell current="/exports">
      <PageHeader
        title="Exports"
        description="A compliance report for a time range and scope: for every running container and applicable policy, the verdict, the policy version, the signers and Rekor entries it rests on, and the verdict changes in the range."
      />
      <div className="mt-6">
        <ExportsClient clusters={facets.clusters} namespaces={facets.namespaces} />
      </div>
    </AppShell>
  );
}
