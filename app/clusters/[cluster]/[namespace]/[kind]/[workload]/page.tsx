import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { z } from "zod";
import { AppShell } from "@/components/app-shell";
import { ContainerRows } from "@/components/container-rows";
import { Card, PageHeader, PageLinks, SimpleTable, TextLink } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { getWorkloadDetail } from "@/lib/data/drilldown";
import { getDb } from "@/lib/db/client";
import { links } from "@/lib/ui/links";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Workload" };

export default async function WorkloadPage({
  params,
  searchParams,
}: {
  params: Promise<{ cluster: string; namespace: string; kind: string; workload: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  await requireUser();
  const p = await params;
  const [cluster, namespace, kind, name] = [p.cluster, p.namespace, p.kind, p.workload].map(decodeURIComponent) as [string, string, string, string];
  const page = z.coerce.number().int().min(1).max(100_000).catch(1).parse((await searchParams).page);
  const detail = await getWorkloadDetail(getDb(), cluster, namespace, kind, name, new Date(), { page });
  if (!detail) notFound();
  const pages = Math.max(1, Math.ceil(detail.podsTotal / detail.pageSize));
  const pageHref = (n: number) => links.workload(cluster, namespace, detail.workload, { page: n });
  return (
    <AppShell current="/clusters">
      <nav aria-label="Breadcrumb" className="mb-2 text-sm">
        <TextLink href="/clusters">Clusters & namespaces</TextLink> / <TextLink href={links.cluster(cluster)}>{cluster}</TextLink> /{" "}
        <TextLink href={links.namespace(cluster, namespace)}>{namespace}</TextLink> / <span className="text-slate-600 dark:text-slate-400">{detail.workload}</span>
      </nav>
      <PageHeader
        title={detail.workload}
        description={
          <>
            <span data-testid="workload-pods-total">{detail.podsTotal}</span> running pod(s), <span data-testid="workload-containers-total">{detail.containersTotal}</span> container(s) in{" "}
            {cluster}/{namespace}
            {pages > 1 ? ` (pods ${(detail.page - 1) * detail.pageSize + 1}–${Math.min(detail.podsTotal, detail.page * detail.pageSize)} below, by name)` : ""} ·{" "}
            <TextLink href={links.rejections({ cluster, namespace, workload: name })}>{detail.rejections} admission rejection(s) in 30 days</TextLink>
          </>
        }
      />
      {detail.pods.length === 0 ? (
        <p className="mt-6 text-sm text-slate-600 dark:text-slate-400">No running pod of this workload now.</p>
      ) : (
        detail.pods.map((pod) => (
          <Card key={pod.name} title={`Pod ${pod.name}`} className="mt-4" testId={`pod-${pod.name}`} actions={<span className="text-xs text-slate-600 dark:text-slate-400">{[pod.phase, pod.node && `node ${pod.node}`].filter(Boolean).join(" · ")}</span>}>
            <SimpleTable head={["Container", "Image", "Verdict per policy"]} caption={`Containers of pod ${pod.name}`}>
              <ContainerRows containers={pod.containers} />
            </SimpleTable>
          </Card>
        ))
      )}
      <PageLinks page={detail.page} pages={pages} href={pageHref} label="Pod pages" testId="workload-pages" />
    </AppShell>
  );
}
