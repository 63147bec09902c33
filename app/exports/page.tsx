import type { Metadata } from "next";
import { AppShell } from "@/components/app-shell";
import { ErrorState, PageHeader } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { hasRole } from "@/lib/auth/roles";
import { listImageFacets } from "@/lib/data/images";
import { getDb } from "@/lib/db/client";
import { getExportSigner, listExportKeys, toPublishedKeyDto } from "@/lib/exports/signing-key";
import { z } from "zod";
import { ExportsClient } from "./page-client";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Exports" };

/** The report's scope from the address; an invalid value is left out (the default scope). */
const dayParam = z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional().catch(undefined);
const nameParam = z.string().min(1).max(253).optional().catch(undefined);
const exportFilters = z.object({ from: dayParam, to: dayParam, cluster: nameParam, namespace: nameParam });

export default async function ExportsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
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
  const db = getDb();
  // the signer first: it creates the key on first use and refuses a key it cannot use
  await getExportSigner(db);
  const [facets, keys] = await Promise.all([listImageFacets(db), listExportKeys(db)]);
  return (
    <AppShell current="/exports">
      <PageHeader
        title="Exports"
        description="A compliance report for a time range and scope: the auditor's PDF (coverage and its trend, namespaces, every digest not verified with the reasons, policies and keys in force, the audit log's signed checkpoint), and for every running container and applicable policy the verdict, the policy version, the signers and Rekor entries it rests on, and the verdict changes in the range (CSV, JSON). Every export is signed."
      />
      <div className="mt-6">
        <ExportsClient initialFilters={exportFilters.parse(await searchParams)} clusters={facets.clusters} namespaces={facets.namespaces} keys={keys.map(toPublishedKeyDto)} canRotate={hasRole(user.role, "admin")} />
      </div>
    </AppShell>
  );
}
