import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { AppShell } from "@/components/app-shell";
import { ContainerRows } from "@/components/container-rows";
import { Card, PageHeader, SimpleTable, TextLink } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { getWorkloadDetail } from "@/lib/data/drilldown";
import { getDb } from "@/lib/db/client";
import { links } from "@/lib/ui/links";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Workload" };

export default async function WorkloadPage({ params }: { params: Promise<{ cluster: string; namespace: string; kind: string; workload: string }> }) {
  await requireUser();
  const p = await params;
  const [cluster, namespace, kind, name] = [p.cluster, p.namespace, p.kind, p.workload].map(decodeURIComponent) as [string, string, string, string];
  const detail = await getWorkloadDetail(getDb(), cluster, namespace, kind, name);
  if (!detail) notFound();
  const containers = detail.pods.reduce((n, pod) => n + pod.containers.length, 0);
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
            {detail.pods.length} running pod(s), {containers} container(s) in {cluster}/{namespace} ·{" "}
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
    </AppShell>
  );
}
