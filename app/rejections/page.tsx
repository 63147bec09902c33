import type { Metadata } from "next";
import { AppShell } from "@/components/app-shell";
import { PageHeader } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { listImageFacets } from "@/lib/data/images";
import { listRejections } from "@/lib/data/rejections";
import { getDb } from "@/lib/db/client";
import { rejectionQuery } from "@/lib/dto/dashboard";
import { RejectionsClient } from "./page-client";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Admission rejections" };

export default async function RejectionsPage() {
  await requireUser();
  const db = getDb();
  const query = rejectionQuery.parse({});
  const [initial, facets] = await Promise.all([listRejections(db, query), listImageFacets(db)]);
  return (
    <AppShell current="/rejections">
      <PageHeader title="Admission rejections" description="Pods the clusters' admission controllers (sigstore policy-controller, Kyverno, Gatekeeper) refused, as Kubernetes events report them." />
      <div className="mt-6">
        <RejectionsClient initial={initial} clusters={facets.clusters} />
      </div>
    </AppShell>
  );
}
