import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { AppShell } from "@/components/app-shell";
import { ContainerImage } from "@/components/container-rows";
import { SignerList } from "@/components/signer";
import { Time } from "@/components/time";
import { Card, PageHeader, SimpleTable, td, TextLink, VerdictBadge } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { getContainerDetail } from "@/lib/data/drilldown";
import { getDb } from "@/lib/db/client";
import { authorityNames } from "@/lib/trust/inventory";
import { links } from "@/lib/ui/links";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Container" };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs uppercase tracking-wide text-slate-600 dark:text-slate-400">{label}</dt>
      <dd className="mt-0.5 break-words text-sm">{children}</dd>
    </div>
  );
}

export default async function ContainerPage({ params }: { params: Promise<{ id: string }> }) {
  await requireUser();
  const { id } = await params;
  if (!UUID.test(id)) notFound();
  const db = getDb();
  const [c, names] = await Promise.all([getContainerDetail(db, id), authorityNames(db)]);
  if (!c) notFound();
  const [kind = "Pod", ...rest] = c.workload.split("/");
  return (
    <AppShell current="/clusters">
      <nav aria-label="Breadcrumb" className="mb-2 text-sm">
        <TextLink href="/clusters">Clusters & namespaces</TextLink> / <TextLink href={links.cluster(c.cluster)}>{c.cluster}</TextLink> /{" "}
        <TextLink href={links.namespace(c.cluster, c.namespace)}>{c.namespace}</TextLink> /{" "}
        <TextLink href={links.workload(c.cluster, c.namespace, c.workload)}>{c.workload}</TextLink> / <span className="text-slate-600 dark:text-slate-400">{c.name}</span>
      </nav>
      <PageHeader title={`Container ${c.name}`} description={`${kind} ${rest.join("/")} · pod ${c.pod} · ${c.kind} container`} actions={<VerdictBadge verdict={c.worst} />} />
      <Card title="Image" className="mt-6" testId="container-image">
        <dl className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
          <Fact label="Image">
            <ContainerImage c={c} />
          </Fact>
          <Fact label="Reference as written">
            <span className="break-all font-mono text-xs">{c.imageRef}</span>
          </Fact>
          <Fact label="Digest">
            <span className="break-all font-mono text-xs" data-testid="container-digest">
              {c.digest ?? "unknown"}
            </span>
            <div className="text-xs text-slate-600 dark:text-slate-400">{c.digestSource === "resolved" ? "resolved from the tag through the registry" : c.digestSource === "observed" ? "reported by the kubelet" : "not known"}</div>
          </Fact>
          <Fact label="Signers">
            <SignerList signers={c.signers} names={names} discovery={c.discovery} />
          </Fact>
          <Fact label="First seen">
            <Time iso={c.firstSeen} />
          </Fact>
          <Fact label="Last seen">
            <Time iso={c.lastSeen} />
          </Fact>
        </dl>
      </Card>
      <Card title="Verdict per policy" className="mt-4" testId="container-verdicts">
        {c.verdicts.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">No enabled policy applies to this container.</p>
        ) : (
          <SimpleTable head={["Policy", "Verdict", "Reasons", "Evaluated", "Changed"]} caption="The container's verdict per policy">
            {c.verdicts.map((v) => (
              <tr key={v.policyId} data-testid={`container-verdict-${v.policy}`}>
                <td className={td}>
                  <TextLink href={links.policy(v.policyId)}>{v.policy}</TextLink>
                  <div className="text-xs text-slate-600 dark:text-slate-400">
                    <TextLink href={links.audit({ policy: v.policy, policyVersion: v.policyVersion })}>v{v.policyVersion}</TextLink> · {v.mode}
                  </div>
                </td>
                <td className={td}>
                  <VerdictBadge verdict={v.verdict} />
                </td>
                <td className={`${td} text-xs`}>
                  {v.reasons.length ? (
                    <ul className="list-disc pl-4">
                      {v.reasons.map((r, i) => (
                        <li key={i} className="break-words">
                          {r}
                        </li>
                      ))}
                    </ul>
                  ) : (
                    "—"
                  )}
                </td>
                <td className={`${td} text-xs`}>
                  <Time iso={v.evaluatedAt} />
                </td>
                <td className={`${td} text-xs`}>
                  <Time iso={v.changedAt} />
                </td>
              </tr>
            ))}
          </SimpleTable>
        )}
      </Card>
      <p className="mt-4 flex flex-wrap gap-x-4 gap-y-1 text-sm">
        {c.imageId && <TextLink href={links.image(c.imageId)}>Image details and signatures</TextLink>}
        <TextLink href={links.rejections({ cluster: c.cluster, namespace: c.namespace })}>Admission rejections in {c.namespace}</TextLink>
        {c.digest && <TextLink href={links.audit({ imageDigest: c.digest })}>Audit log of this digest</TextLink>}
      </p>
    </AppShell>
  );
}
