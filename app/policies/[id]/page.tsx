import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { AppShell } from "@/components/app-shell";
import { NotVerifiedContainers } from "@/components/not-verified-containers";
import { Card, PageHeader, SimpleTable, td, TextLink, VerdictBadge } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { hasRole } from "@/lib/auth/roles";
import { DRIFT_DAYS, getPolicyDrift } from "@/lib/data/drift";
import { getPolicyDetail } from "@/lib/data/policies";
import { getDb } from "@/lib/db/client";
import { pct, VERDICTS } from "@/lib/ui/format";
import { FAILING_VERDICTS } from "@/lib/dto/read";
import { links } from "@/lib/ui/links";
import { PolicyEditor } from "../page-client";
import { Time } from "@/components/time";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Policy" };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export default async function PolicyPage({ params }: { params: Promise<{ id: string }> }) {
  const user = await requireUser();
  const { id } = await params;
  if (!UUID.test(id)) notFound();
  const [p, drift] = await Promise.all([getPolicyDetail(getDb(), id), getPolicyDrift(getDb(), id)]);
  if (!p) notFound();
  const canEdit = hasRole(user.role, "admin") && !p.readOnly;
  const notVerified = FAILING_VERDICTS.reduce((a, k) => a + (p.verdicts[k] ?? 0), 0);
  const evaluated = VERDICTS.filter((k) => k !== "unmatched").reduce((a, k) => a + (p.verdicts[k] ?? 0), 0);
  return (
    <AppShell current="/policies">
      <nav aria-label="Breadcrumb" className="mb-2 text-sm">
        <TextLink href="/policies">Policies & authorities</TextLink> / <span className="text-slate-600 dark:text-slate-400">{p.name}</span>
      </nav>
      <PageHeader
        title={p.name}
        description={`${p.mode} · version ${p.version} · source ${p.source}${p.readOnly ? " (read-only, imported)" : ""}${p.description ? ` · ${p.description}` : ""}`}
      />
      <p className="mt-2 text-sm">
        <TextLink href={links.rejections({ policy: p.name })} testId="policy-rejections">
          Admission rejections under this policy
        </TextLink>
      </p>
      <div className="mt-4 grid gap-4 xl:grid-cols-2">
        <Card title="Versions and their effect" testId="policy-versions" className="min-w-0">
          <SimpleTable head={["Version", "Saved", "By", ...VERDICTS.slice(0, 4)]} caption="Versions with verdict events recorded under each">
            {p.versions.map((v) => (
              <tr key={v.version} data-testid={`version-${v.version}`}>
                <td className={`${td} tabular-nums`}>
                  {/* the version's audit rows: its change and the verdicts recorded under it */}
                  <TextLink href={links.audit({ policy: p.name, policyVersion: v.version })}>v{v.version}</TextLink>
                </td>
                <td className={`${td} whitespace-nowrap text-xs`}><Time iso={v.createdAt} /></td>
                <td className={`${td} text-xs`}>{v.createdBy ?? "—"}</td>
                {VERDICTS.slice(0, 4).map((k) => (
                  <td key={k} className={`${td} tabular-nums`}>
                    {/* the verdict events behind the count, in the audit log */}
                    <TextLink href={links.audit({ kind: "verdict", policy: p.name, policyVersion: v.version, verdict: k })} testId={`version-${v.version}-${k}`}>
                      {v.events[k] ?? 0}
                    </TextLink>
                  </td>
                ))}
              </tr>
            ))}
          </SimpleTable>
          <p className="mt-2 text-xs text-slate-600 dark:text-slate-400" data-testid="policy-now">
            Now:{" "}
            <TextLink href={links.policyContainers(p.id, { verdict: ["verified"] })} testId="policy-now-verified">
              {p.verdicts.verified ?? 0} verified
            </TextLink>{" "}
            of{" "}
            <TextLink href={links.policyContainers(p.id)} testId="policy-now-evaluated">
              {evaluated} evaluated containers
            </TextLink>{" "}
            ({pct(p.verdicts.verified ?? 0, evaluated)}) ·{" "}
            <TextLink href={links.policyContainers(p.id, { verdict: FAILING_VERDICTS })} testId="policy-now-failing">
              {notVerified} not verified
            </TextLink>{" "}
            (<TextLink href={links.images({ policy: p.name, verdict: "failing" })}>their images</TextLink>)
          </p>
        </Card>
        <Card title={p.mode === "enforce" ? "Not verified (enforced)" : "What would break if this policy were enforced"} testId="policy-would-break" className="min-w-0" id="not-verified">
          {p.mode === "enforce" && <p className="mb-2 text-sm text-slate-600 dark:text-slate-400">This policy is enforced: admission controllers reject what it does not verify.</p>}
          {p.wouldBreak.length === 0 ? (
            <p className="text-sm">Nothing: every container in scope is verified.</p>
          ) : (
            <>
              <p className="mb-2 text-sm" data-testid="policy-not-verified-count">
                {p.wouldBreak.length < notVerified ? `The ${p.wouldBreak.length} most recently changed of ` : ""}
                <TextLink href={links.policyContainers(p.id, { verdict: FAILING_VERDICTS })} testId="policy-not-verified-all">
                  {notVerified} running container{notVerified === 1 ? "" : "s"} not verified
                </TextLink>
                {p.wouldBreak.length < notVerified ? " (all of them, in pages)" : ""}
              </p>
              <NotVerifiedContainers
                rows={p.wouldBreak}
                caption={p.mode === "enforce" ? "Running containers this policy does not verify" : "Containers enforcement would reject"}
                imageTestId="would-break-image"
              />
            </>
          )}
        </Card>
      </div>
      {drift?.imported ? (
        <Card title={`Drift: ${drift.sourceObject} in cluster ${drift.cluster}`} className="mt-4" testId="policy-drift">
          <p className="text-sm" data-testid="drift-summary">
            The cluster rejected{" "}
            <TextLink href={links.rejections({ policy: p.name, days: DRIFT_DAYS })} testId="drift-rejections">
              {drift.summary.rejections} time{drift.summary.rejections === 1 ? "" : "s"}
            </TextLink>{" "}
            under this policy in the last {DRIFT_DAYS} days
            {drift.rejections.length < drift.summary.rejections ? ` (the latest ${drift.rejections.length} below)` : ""}: Signet agrees on {drift.summary.agree}, disagrees on{" "}
            {drift.summary.disagree} (it verifies the image), has no verdict for {drift.summary.unknown} (the image never ran).{" "}
            <TextLink href={links.policyContainers(p.id, { cluster: drift.cluster ?? undefined, verdict: FAILING_VERDICTS })} testId="drift-running-denied-link">
              {drift.summary.runningDenied} running container{drift.summary.runningDenied === 1 ? "" : "s"}
            </TextLink>{" "}
            would be denied now by Signet&apos;s reading of the policy
            {drift.runningDenied.length < drift.summary.runningDenied ? ` (the latest changed ${drift.runningDenied.length} below)` : ""}.
          </p>
          {drift.rejections.length > 0 && (
            <SimpleTable head={["Where", "Image", "Cluster", "Signet", "Agreement"]} caption="Admission rejections beside Signet's verdicts">
              {drift.rejections.map((r, i) => (
                <tr key={i} data-testid="drift-rejection">
                  <td className={td}>
                    {drift.cluster ? <TextLink href={links.namespace(drift.cluster, r.namespace)}>{r.namespace}</TextLink> : r.namespace}/{r.workload ?? "—"}
                  </td>
                  <td className={`${td} break-all text-xs`}>
                    {r.image ? <TextLink href={links.images({ q: r.image.split("@")[0] })}>{r.image}</TextLink> : "—"}
                  </td>
                  <td className={`${td} text-xs`} title={r.message}>
                    {/* the rejections of this image under the policy, in the rejections list */}
                    <TextLink href={links.rejections({ policy: p.name, namespace: r.namespace, q: r.image ?? undefined, days: DRIFT_DAYS })}>rejected ×{r.count}</TextLink>, <Time iso={r.lastSeen} />
                  </td>
                  <td className={td}>{r.signetVerdict ? <VerdictBadge verdict={r.signetVerdict} /> : "no verdict"}</td>
                  <td className={`${td} text-xs`}>{r.agreement}</td>
                </tr>
              ))}
            </SimpleTable>
          )}
          {drift.runningDenied.length > 0 && (
            <NotVerifiedContainers
              rows={drift.runningDenied.map((w) => ({ ...w, cluster: drift.cluster }))}
              caption="Running, though the policy would deny it now"
              rowTestId="drift-running-denied"
            />
          )}
        </Card>
      ) : null}
      <Card title={canEdit ? "Edit" : "Document"} className="mt-4" testId="policy-document">
        {canEdit ? <PolicyEditor initialYaml={p.yaml} mode="edit" /> : <pre className="overflow-x-auto rounded bg-slate-100 p-3 text-xs dark:bg-slate-800">{p.yaml}</pre>}
      </Card>
    </AppShell>
  );
}
