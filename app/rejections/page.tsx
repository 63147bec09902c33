import type { Metadata } from "next";
import { AppShell } from "@/components/app-shell";
import { PageHeader } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { listImageFacets } from "@/lib/data/images";
import { listRejections } from "@/lib/data/rejections";
import { getDb } from "@/lib/db/client";
import { rejectionQuery } from "@/lib/dto/dashboard";
import { listAuthorities } from "@/lib/trust/inventory";
import { firstValues } from "@/lib/ui/search-params";
import { RejectionsClient } from "./page-client";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Admission rejections" };

export default async function RejectionsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireUser();
  const db = getDb();
  const parsed = rejectionQuery.safeParse(firstValues(await searchParams));
  const query = parsed.success ? parsed.data : rejectionQuery.parse({});
  const [initial, facets, authorities] = await Promise.all([listRejections(db, query), listImageFacets(db), listAuthorities(db)]);
  return (
    <AppShell current="/rejections">
      <PageHeader title="Admission rejections" description="Pods the clusters' admission controllers (sigstore policy-controller, Kyverno, Gatekeeper) refused, as Kubernetes events report them." />
      <div className="mt-6">
        <RejectionsClient
          initial={initial}
          initialFilters={{ cluster: query.cluster, namespace: query.namespace, workload: query.workload, controller: query.controller, policy: query.policy, key: query.key, q: query.q, days: query.days, day: query.day, page: query.page }}
          clusters={facets.clusters}
          policies={facets.policies}
          keys={[...new Set(authorities.map((a) => a.name))]}
        />
      </div>
    </AppShell>
  );
}
