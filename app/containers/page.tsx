import type { Metadata } from "next";
import { AppShell } from "@/components/app-shell";
import { ContainerRows } from "@/components/container-rows";
import { Time } from "@/components/time";
import { EmptyState, PageHeader, PageLinks, SimpleTable, TextLink } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { listContainersInBuckets } from "@/lib/data/drilldown";
import { listAuthorities } from "@/lib/trust/inventory";
import { getDb } from "@/lib/db/client";
import { BUCKETS } from "@/lib/coverage/compute";
import { containerListQuery, EVALUATED_VERDICTS, type ListedBucket } from "@/lib/dto/drilldown";
import { links } from "@/lib/ui/links";
import { firstValues } from "@/lib/ui/search-params";
import { ContainerFilters } from "./page-client";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Containers" };

const BUCKET_LABEL: Record<ListedBucket, string> = {
  verified: "verified",
  failed: "failed",
  unsigned: "unsigned",
  error: "unknown (error, nothing known before)",
  stale: "stale (last known verdict only)",
  unmatched: "no policy applies",
};

/**
 * The running containers behind a count of the overview, the drill-down and the policies, with
 * `cluster` / `namespace`: by coverage bucket (`?bucket=stale,error`; exactly the containers the count
 * of the latest coverage snapshot counted, as of that snapshot), or by verdict under a policy (`?policy=<id>&verdict=verified`),
 * so the figure and the rows agree.
 */
export default async function ContainersPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireUser();
  const parsed = containerListQuery.safeParse(firstValues(await searchParams));
  if (!parsed.success) {
    return (
      <AppShell current="/clusters">
        <PageHeader title="Containers" />
        <div className="mt-6">
          <EmptyState title="Which containers?">
            This list shows the containers behind a count: open it from a tile of the <TextLink href="/">overview</TextLink> or a cluster or namespace page.
          </EmptyState>
        </div>
      </AppShell>
    );
  }
  const q = parsed.data;
  const [list, signers] = await Promise.all([
    listContainersInBuckets(getDb(), q),
    // the signer filter's choices: every authority in force, by its one display name
    q.signer ? listAuthorities(getDb()).then((all) => all.map((a) => ({ value: a.ref, label: a.name }))) : Promise.resolve([]),
  ]);
  const scope = q.namespace && q.cluster ? `${q.cluster}/${q.namespace}` : q.cluster ? `cluster ${q.cluster}` : "every cluster";
  const pages = Math.max(1, Math.ceil(list.total / q.pageSize));
  const scopeFilter = { cluster: q.cluster, namespace: q.namespace };
  const verdicts = q.verdict ?? EVALUATED_VERDICTS;
  const pageHref = (page: number) =>
    q.signer
      ? links.signerContainers(q.signer, { ...scopeFilter, page })
      : q.policy
        ? links.policyContainers(q.policy, { ...scopeFilter, verdict: q.verdict, page })
        : links.containers({ ...scopeFilter, bucket: q.bucket ?? [], reason: q.reason, page });
  const what = q.signer
    ? `verified through ${list.signer?.name ?? "an authority no longer in force"}`
    : q.policy
    ? `verdict under policy ${list.policy?.name ?? "(no longer exists)"}: ${verdicts.map((v) => (v === "pending" ? "none yet (in scope)" : v)).join(" or ")}`
    : q.bucket && BUCKETS.every((b) => q.bucket!.includes(b))
      ? "every bucket"
      : `${(q.bucket ?? []).map((b) => BUCKET_LABEL[b]).join(" or ")}${q.reason ? `, because ${q.reason}` : ""}`;
  return (
    <AppShell current="/clusters">
      <nav aria-label="Breadcrumb" className="mb-2 text-sm">
        <TextLink href="/">Overview</TextLink>
        {list.signer && (
          <>
            {" "}
            / <TextLink href={links.authority(list.signer.name)}>{list.signer.name}</TextLink>
          </>
        )}
        {list.policy && (
          <>
            {" "}
            / <TextLink href={links.policy(list.policy.id)}>policy {list.policy.name}</TextLink>
          </>
        )}
        {q.cluster && (
          <>
            {" "}
            / <TextLink href={links.cluster(q.cluster)}>{q.cluster}</TextLink>
          </>
        )}
        {q.cluster && q.namespace && (
          <>
            {" "}
            / <TextLink href={links.namespace(q.cluster, q.namespace)}>{q.namespace}</TextLink>
          </>
        )}
      </nav>
      <PageHeader
        title="Containers"
        description={
          <>
            <span data-testid="containers-total">{list.total}</span> running container(s) in {scope}: {what}
            {q.signer ? (
              <>
                {" "}
                (its signatures counted toward a verified verdict;{" "}
                <span data-testid="containers-signer-images">{list.signer?.images ?? 0}</span> image(s),{" "}
                <span data-testid="containers-signer-namespaces">{list.signer?.namespaces ?? 0}</span> namespace(s)), evaluated now from the stored evidence, as the{" "}
                <TextLink href={list.signer ? links.authority(list.signer.name) : "/keys"}>Keys page</TextLink> counts them.
              </>
            ) : q.policy ? (
              "."
            ) : (
              <>
                {" "}
                as of the coverage snapshot of <Time iso={list.asOf} /> (the one the counts are from; a container started since is counted and listed by the next one).
              </>
            )}
          </>
        }
      />
      <div className="mt-4">
        <ContainerFilters
          scope={scopeFilter}
          bucket={q.bucket}
          policy={q.policy ? { id: q.policy, verdict: verdicts } : undefined}
          signer={q.signer ? { ref: q.signer, options: signers } : undefined}
        />
      </div>
      <div className="mt-4">
        {list.rows.length === 0 ? (
          <EmptyState title="No containers">
            {q.signer ? `No running container is ${what} now.` : `No running container is in ${what} ${q.policy ? "now" : "at the latest coverage snapshot"}.`}
          </EmptyState>
        ) : (
          <>
            <div data-testid="containers-table">
              <SimpleTable head={["Where", "Container", "Image", "Verdict per policy"]} caption={`Running containers: ${what}`}>
                <ContainerRows
                  containers={list.rows}
                  lead={(_, i) => {
                    const r = list.rows[i]!;
                    return (
                      <span className="text-xs">
                        <TextLink href={links.namespace(r.cluster, r.namespace)}>
                          {r.cluster}/{r.namespace}
                        </TextLink>
                        /<TextLink href={links.workload(r.cluster, r.namespace, r.workload)}>{r.workload}</TextLink>
                        {r.bucket && <div className="text-slate-600 dark:text-slate-400">{r.bucket}</div>}
                        {r.pending && <div className="text-slate-600 dark:text-slate-400">no verdict under the policy yet</div>}
                      </span>
                    );
                  }}
                />
              </SimpleTable>
            </div>
            <PageLinks page={q.page} pages={pages} href={pageHref} />
          </>
        )}
      </div>
    </AppShell>
  );
}
