import type { Metadata } from "next";
import { AppShell } from "@/components/app-shell";
import { AddTrustedRootForm, AddTufRepositoryForm, TrustedRootActions } from "@/components/trust/forms";
import { Section } from "@/components/trust/ui";
import { requireUser } from "@/lib/auth/current-user";
import { hasRole } from "@/lib/auth/roles";
import { getDb } from "@/lib/db/client";
import { listTrustedRoots } from "@/lib/trust/trusted-roots";
import { Time } from "@/components/time";

export const metadata: Metadata = { title: "Trusted roots" };
export const dynamic = "force-dynamic";

const SOURCE: Record<string, string> = { bundled: "bundled with Signet", file: "added by an administrator", tuf: "TUF" };

export default async function TrustRootsPage() {
  const user = await requireUser();
  const admin = hasRole(user.role, "admin");
  const roots = await listTrustedRoots(getDb());
  return (
    <AppShell current="/trust-roots">
      <h1 className="text-2xl font-semibold">Trusted roots</h1>
      <p className="mt-1 max-w-3xl text-sm text-slate-600 dark:text-slate-400">
        The Sigstore trusted roots (Fulcio CAs, Rekor and CT log keys, timestamp authorities) keyless signatures are checked against.
        Policies name one in <code>keyless.trustedRoot</code>. Roots kept through TUF are refreshed by the worker every hour; while a
        mirror cannot be reached the last trusted root stays in force.
      </p>
      <div className="relative mt-6 overflow-x-auto" tabIndex={0} role="region" aria-label="Trusted roots">
        <table className="w-full text-left text-sm" data-testid="trust-roots-table">
          <thead className="text-xs uppercase tracking-wide text-slate-600 dark:text-slate-400">
            <tr>
              <th className="py-2 pr-3">Name</th>
              <th className="pr-3">Source</th>
              <th className="pr-3">Contents</th>
              <th className="pr-3">TUF refresh</th>
              <th className="pr-3">Policies</th>
              {admin && (
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-200 dark:divide-slate-800">
            {roots.map((r) => (
              <tr key={r.name} data-testid={`trust-root-${r.name}`} className="align-top">
                <td className="py-2 pr-3 font-medium">
                  {r.name}
                  <div className="font-mono text-xs font-normal text-slate-600 dark:text-slate-400" title={r.sha256 ?? ""}>
                    {r.sha256 ? `sha256:${r.sha256.slice(0, 12)}…` : ""}
                  </div>
                </td>
                <td className="pr-3">
                  {SOURCE[r.source]}
                  {r.createdBy && <div className="text-xs text-slate-600 dark:text-slate-400">by {r.createdBy}</div>}
                </td>
                <td className="pr-3 text-xs">
                  {r.counts.certificateAuthorities} CA · {r.counts.tlogs} Rekor · {r.counts.ctlogs} CT · {r.counts.timestampAuthorities} TSA
                  {r.problem && <div className="text-red-700 dark:text-red-400">{r.problem}</div>}
                </td>
                <td className="pr-3 text-xs">
                  {r.tuf ? (
                    <>
                      <div className="break-all">{r.tuf.mirrorUrl}</div>
                      <div>
                        root v{r.tuf.rootVersion} · last success <Time iso={r.tuf.lastSuccessAt} />
                      </div>
                      <div className="text-slate-600 dark:text-slate-400">last attempt <Time iso={r.tuf.lastAttemptAt} /></div>
                      {r.tuf.lastError && (
                        <div role="status" className="text-red-700 dark:text-red-400">
                          {r.tuf.lastError}
                        </div>
                      )}
                    </>
                  ) : (
                    "—"
                  )}
                </td>
                <td className="pr-3">{r.policies.join(", ") || "—"}</td>
                {admin && <td>{r.source !== "bundled" && <TrustedRootActions name={r.name} tuf={r.tuf !== null} />}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {admin && (
        <>
          <Section title="Add a trusted root" id="add-root">
            <AddTrustedRootForm />
          </Section>
          <Section title="Add a TUF repository" id="add-tuf">
            <AddTufRepositoryForm />
          </Section>
        </>
      )}
    </AppShell>
  );
}
