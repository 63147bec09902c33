import type { Metadata } from "next";
import { AppShell } from "@/components/app-shell";
import { PageHeader } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { hasRole } from "@/lib/auth/roles";
import { listScans } from "@/lib/data/scans";
import { getDb } from "@/lib/db/client";
import { ScansClient } from "./page-client";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Scans" };

export default async function ScansPage() {
  const user = await requireUser();
  const scans = await listScans(getDb(), 50);
  return (
    <AppShell current="/scans">
      <PageHeader title="Scans" description="Each scan inventories the clusters, discovers signatures in the registries, verifies them and evaluates the policies. A running scan shows its progress live." />
      <div className="mt-6">
        <ScansClient initial={scans} canScan={hasRole(user.role, "admin")} />
      </div>
    </AppShell>
  );
}
