import type { Metadata } from "next";
import { AppShell } from "@/components/app-shell";
import { AddTrustedRootForm, AddTufRepositoryForm, TrustedRootActions } from "@/components/trust/forms";
import { Section } from "@/components/trust/ui";
import { requireUser } from "@/lib/auth/current-user";
import { hasRole } from "@/lib/auth/roles";
import { getDb } from "@/lib/db/client";
import { listTrustedRoots, TRUST_ROOT_PARTS, type TrustRootPart } from "@/lib/trust/trusted-roots";
import { TextLink } from "@/components/ui";
import { links } from "@/lib/ui/links";
import { Time } from "@/components/time";

export const metadata: Metadata = { title: "Trusted roots" };
export const dynamic = "force-dynamic";

const PART_LABEL: Record<TrustRootPart, string> = { certificateAuthorities: "CA", tlogs: "Rekor", ctlogs: "CT", timestampAuthorities: "TSA" };
const PART_TITLE: Record<TrustRootPart, string> = {
  certificateAuthorities: "Certificate authorities (Fulcio)",
  tlogs: "Transparency logs (Rekor)",
  ctlogs: "Certificate transparency logs",
  timestampAuthorities: "Timestamp authorities",
};
/** The HTML id of a root's entries of one kind (the count in its row links there). */
const contentsAnchor = (name: string, part: TrustRootPart) => `root-${name.replace(/[^A-Za-z0-9_-]/g, "_")}-${part}`;

const SOURCE: Record<string, string> = { bundled: "bundled with Signet", file: "added by an administrator", tuf: "TUF" };

export default async function TrustRootsPage() {
  const user = await requireUser();
  const admin = hasRole(user.role, "admin");
  const db = getDb();
  const [roots, policies] = await Promise.all([listTrustedRoots(db), db.policy.findMany({ where: { archivedAt: null }, select: { id: true, name: true } })]);
  const policyIds = new Map(policies.map((p) => [p.name, p.id]));
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
                  {TRUST_ROOT_PARTS.map((part, i) => (
                    <span key={part}>
                      {i > 0 && " · "}
                      {/* what the count counts: the root's entries of that kind, listed below the table */}
                      <TextLink href={`#${contentsAnchor(r.name, part)}`} testId={`trust-root-count-${r.name}-${part}`}>
                        {r.counts[part]} {PART_LABEL[part]}
                      </TextLink>
                    </span>
                  ))}
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
                <td className="pr-3">
                  {r.policies.length === 0
                    ? "—"
                    : r.policies.map((name, i) => (
                        <span key={name}>
                          {i > 0 && ", "}
                          {policyIds.has(name) ? <TextLink href={links.policy(policyIds.get(name)!)}>{name}</TextLink> : name}
                        </span>
                      ))}
                </td>
                {admin && <td>{r.source !== "bundled" && <TrustedRootActions name={r.name} tuf={r.tuf !== null} />}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Section title="What each root holds" id="contents">
        {roots.map((r) => (
          <div key={r.name} className="mt-3" data-testid={`trust-root-contents-${r.name}`}>
            <h3 className="text-sm font-medium">{r.name}</h3>
            {TRUST_ROOT_PARTS.map((part) => (
              <div key={part} id={contentsAnchor(r.name, part)} className="mt-2 scroll-mt-4" data-testid={`trust-root-entries-${r.name}-${part}`}>
                <div className="text-xs text-slate-600 dark:text-slate-400">
                  {PART_TITLE[part]} ({r.counts[part]})
                </div>
                {r.entries[part].length > 0 && (
                  <ul className="ml-4 list-disc text-xs">
                    {r.entries[part].map((e, i) => (
                      <li key={i} className="break-all">
                        {e.name} · valid from <Time iso={e.validFrom} />
                        {e.validTo ? (
                          <>
                            {" "}
                            to <Time iso={e.validTo} />
                          </>
                        ) : null}
                      </li>
                    ))}
                  </ul>
                )}
              </div>
            ))}
          </div>
        ))}
      </Section>
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
