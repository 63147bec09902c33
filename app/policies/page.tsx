import type { Metadata } from "next";
import { AppShell } from "@/components/app-shell";
import { Card, EmptyState, PageHeader, SimpleTable, td, TextLink } from "@/components/ui";
import { links } from "@/lib/ui/links";
import { requireUser } from "@/lib/auth/current-user";
import { hasRole } from "@/lib/auth/roles";
import { listPolicies } from "@/lib/data/policies";
import { getDb } from "@/lib/db/client";
import { pct, shortFingerprint } from "@/lib/ui/format";
import { PolicyEditor } from "./page-client";
import { Time } from "@/components/time";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Policies & authorities" };

const NEW_POLICY = `apiVersion: signet.dev/v1
kind: Policy
metadata:
  name: my-policy
spec:
  mode: audit
  scope:
    images: ["registry.example.com/**"]
  authorities:
    - name: ci
      key:
        pem: |
          -----BEGIN PUBLIC KEY-----
          ...
          -----END PUBLIC KEY-----
`;

export default async function PoliciesPage() {
  const user = await requireUser();
  const data = await listPolicies(getDb());
  const isAdmin = hasRole(user.role, "admin");
  const policyIds = new Map(data.policies.map((p) => [p.name, p.id]));
  return (
    <AppShell current="/policies">
      <PageHeader title="Policies & authorities" description="Which signers a running image must be signed by, where. Warn and audit policies show what enforcing them would break." />
      <Card title="Policies" className="mt-6" testId="policies-table">
        {data.policies.length === 0 ? (
          <EmptyState title="No policies yet">Without a policy every image is “unmatched”. {isAdmin ? "Create one below, upload a YAML file or import the cluster's policies." : "An administrator can create one."}</EmptyState>
        ) : (
          <SimpleTable head={["Policy", "Mode", "Source", "Version", "Verified", "Not verified", "Updated"]} caption="Policies">
            {data.policies.map((p) => {
              const total = Object.entries(p.verdicts).filter(([k]) => k !== "unmatched").reduce((a, [, n]) => a + (n ?? 0), 0);
              const ok = p.verdicts.verified ?? 0;
              return (
                <tr key={p.id} data-testid={`policy-row-${p.name}`}>
                  <td className={td}>
                    <TextLink href={links.policy(p.id)}>{p.name}</TextLink>
                    {p.description && <div className="text-xs text-slate-600 dark:text-slate-400">{p.description}</div>}
                  </td>
                  <td className={td}>{p.mode}</td>
                  <td className={`${td} text-xs`}>
                    {p.source}
                    {p.readOnly ? " · read-only" : ""}
                    {p.sourceCluster ? ` · ${p.sourceCluster}` : ""}
                  </td>
                  <td className={`${td} tabular-nums`}>
                    {/* that version in the audit log: its change and the verdicts recorded under it */}
                    <TextLink href={links.audit({ policy: p.name, policyVersion: p.version })} testId={`policy-version-${p.name}`}>
                      v{p.version}
                    </TextLink>
                  </td>
                  <td className={`${td} tabular-nums`} data-testid={`policy-verified-${p.name}`}>
                    {/* the containers behind the count: those this policy verifies */}
                    <TextLink href={links.policyContainers(p.id, { verdict: ["verified"] })} testId={`policy-verified-link-${p.name}`}>
                      {ok}
                    </TextLink>{" "}
                    ({pct(ok, total)})
                  </td>
                  <td className={`${td} tabular-nums`}>
                    {/* the containers behind the count: those this policy evaluated and does not verify */}
                    <TextLink href={links.policyContainers(p.id, { verdict: ["failed", "unsigned", "error"] })} testId={`policy-not-verified-${p.name}`}>
                      {total - ok}
                    </TextLink>
                  </td>
                  <td className={`${td} whitespace-nowrap text-xs`}><Time iso={p.updatedAt} /></td>
                </tr>
              );
            })}
          </SimpleTable>
        )}
      </Card>
      <Card title="Authorities" className="mt-4" testId="authorities-table">
        {data.authorities.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">No stored authorities: policies name their keys and identities inline.</p>
        ) : (
          <SimpleTable head={["Authority", "Kind", "Status", "Key / identity", "Rotate by", "Used by"]} caption="Authorities">
            {data.authorities.map((a) => (
              <tr key={a.id}>
                <td className={`${td} font-medium`}>
                  {/* its row on the Keys page: usage, rejections and audit events */}
                  <TextLink href={links.authority(a.name)}>{a.name}</TextLink>
                </td>
                <td className={td}>{a.kind}</td>
                <td className={td}>{a.status}</td>
                <td className={`${td} break-all text-xs`}>{a.fingerprint ? shortFingerprint(a.fingerprint) : `${a.subject ?? "?"} @ ${a.issuer ?? "?"}`}</td>
                <td className={`${td} text-xs`}><Time iso={a.rotateBy} /></td>
                <td className={`${td} text-xs`}>
                  {a.policies.length === 0
                    ? "—"
                    : a.policies.map((name, i) => (
                        <span key={name}>
                          {i > 0 && ", "}
                          {policyIds.has(name) ? <TextLink href={links.policy(policyIds.get(name)!)}>{name}</TextLink> : name}
                        </span>
                      ))}
                </td>
              </tr>
            ))}
          </SimpleTable>
        )}
      </Card>
      {isAdmin && (
        <Card title="New policy" className="mt-4" testId="policy-create">
          <PolicyEditor initialYaml={NEW_POLICY} mode="create" />
        </Card>
      )}
    </AppShell>
  );
}
