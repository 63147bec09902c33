import type { Metadata } from "next";
import Link from "next/link";
import { AppShell } from "@/components/app-shell";
import { TextLink } from "@/components/ui";
import { AddKeyForm, RotateKeyForm } from "@/components/trust/forms";
import { Section, StatusBadge } from "@/components/trust/ui";
import { requireUser } from "@/lib/auth/current-user";
import { hasRole } from "@/lib/auth/roles";
import { getDb } from "@/lib/db/client";
import { getInventory } from "@/lib/trust/inventory";
import { shortFingerprint } from "@/lib/ui/format";
import { authorityAnchor, links } from "@/lib/ui/links";
import { Time } from "@/components/time";

export const metadata: Metadata = { title: "Keys" };
export const dynamic = "force-dynamic";

export default async function KeysPage() {
  const user = await requireUser();
  const admin = hasRole(user.role, "admin");
  const db = getDb();
  const [inventory, policyIds] = await Promise.all([
    getInventory(db),
    // each policy named in "Policies" links to its page
    db.policy.findMany({ select: { id: true, name: true } }).then((rows) => new Map(rows.map((r) => [r.name, r.id]))),
  ]);
  const retiring = inventory.filter((e) => e.resign);
  return (
    <AppShell current="/keys">
      <h1 className="text-2xl font-semibold">Keys</h1>
      <p className="mt-1 max-w-3xl text-sm text-slate-600 dark:text-slate-400">
        Every key and keyless identity Signet trusts — stored, or embedded in a policy — with who owns it, when it is due for
        rotation, and how much of what runs right now is verified through it.
      </p>

      <div className="relative mt-6 overflow-x-auto" tabIndex={0} role="region" aria-label="Keys and keyless identities">
        <table className="w-full text-left text-sm" data-testid="keys-table">
          <thead className="text-xs uppercase tracking-wide text-slate-600 dark:text-slate-400">
            <tr>
              <th className="py-2 pr-3">Authority</th>
              <th className="pr-3">Key / identity</th>
              <th className="pr-3">Source</th>
              <th className="pr-3">Owner</th>
              <th className="pr-3">Created</th>
              <th className="pr-3">Rotate by</th>
              <th className="pr-3">Status</th>
              <th className="pr-3">Running containers · images · namespaces</th>
              <th className="pr-3">Policies</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-200 dark:divide-slate-800">
            {inventory.length === 0 && (
              <tr>
                <td colSpan={10} className="py-3 text-slate-600 dark:text-slate-400">
                  No authorities yet: add a key below, or a policy with one.
                </td>
              </tr>
            )}
            {inventory.map((e) => (
              <tr key={e.ref} id={authorityAnchor(e.name)} data-testid={`key-${e.ref}`} className="align-top target:bg-teal-50 dark:target:bg-teal-950">
                <td className="py-2 pr-3 font-medium">
                  {e.name}
                  <div className="text-xs font-normal text-slate-600 dark:text-slate-400">{e.kind}</div>
                </td>
                <td className="pr-3 font-mono text-xs">
                  {e.kind === "key" ? (
                    <>
                      <span title={e.fingerprint ?? ""}>{e.fingerprint ? shortFingerprint(e.fingerprint) : "—"}</span>
                      <div className="text-slate-600 dark:text-slate-400">{e.algorithm ?? ""}</div>
                    </>
                  ) : (
                    e.identities.map((i) => (
                      <div key={`${i.issuer}|${i.subject}`}>
                        {i.subject} <span className="text-slate-600 dark:text-slate-400">@ {i.issuer}</span>
                      </div>
                    ))
                  )}
                </td>
                <td className="pr-3">{e.source}</td>
                <td className="pr-3">{e.owner ?? "—"}</td>
                <td className="whitespace-nowrap pr-3"><Time iso={e.createdAt} day /></td>
                <td className="whitespace-nowrap pr-3"><Time iso={e.rotateBy} day /></td>
                <td className="pr-3">
                  <StatusBadge status={e.status} />
                  {e.revokedReason && <div className="text-xs text-slate-600 dark:text-slate-400">{e.revokedReason}</div>}
                </td>
                <td className="pr-3" data-testid="usage">
                  {/* the running containers these figures count, with their images and namespaces */}
                  <TextLink href={links.signerContainers(e.ref)} testId="usage-link">
                    {e.usage.containers} · {e.usage.images} · {e.usage.namespaces}
                  </TextLink>
                  {e.trend.length > 1 && (
                    <div className="text-xs text-slate-600 dark:text-slate-400" title="containers over the last snapshots">
                      trend {e.trend.slice(-6).map((t) => t.containers).join(" → ")}
                    </div>
                  )}
                </td>
                <td className="pr-3 text-xs">
                  {e.policies.map((p) => (
                    <div key={`${p.policy}/${p.alias}`}>
                      {policyIds.has(p.policy) ? <TextLink href={links.policy(policyIds.get(p.policy)!)}>{p.policy}</TextLink> : p.policy} <span className="text-slate-600 dark:text-slate-400">({p.mode}{p.alias !== e.name ? `, as ${p.alias}` : ""})</span>
                    </div>
                  ))}
                  {/* what concerns the key: admission rejections under the policies trusting it, its audit events */}
                  <div className="mt-1 flex flex-wrap gap-x-2" data-testid="key-links">
                    <TextLink href={links.rejections({ key: e.name })} testId="key-rejections">
                      rejections
                    </TextLink>
                    <TextLink href={links.audit({ key: e.name })} testId="key-audit">
                      audit events
                    </TextLink>
                  </div>
                </td>
                <td className="whitespace-nowrap text-right">
                  {e.status !== "revoked" && (
                    <Link href={`/keys/revoke?ref=${encodeURIComponent(e.ref)}`} className="text-xs text-red-700 underline dark:text-red-400" aria-label={`Revoke ${e.name}`}>
                      Revoke…
                    </Link>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      {retiring.length > 0 && (
        <Section title="Re-sign lists" id="resign">
          <p className="max-w-3xl text-sm text-slate-600 dark:text-slate-400">
            Running images still signed only by a retiring key. Re-sign them with the new key; once a list has stayed empty for the
            configured period, the old key can be retired safely.
          </p>
          {retiring.map((e) => (
            <div key={e.ref} className="mt-3 rounded-lg border border-slate-200 bg-white p-4 text-sm dark:border-slate-800 dark:bg-slate-900" data-testid={`resign-${e.name}`}>
              <h3 className="font-medium">
                {e.name}: <span data-testid="resign-count">{e.resign!.list.length}</span> image{e.resign!.list.length === 1 ? "" : "s"} to re-sign
              </h3>
              {e.trend.length > 0 && <p className="text-xs text-slate-600 dark:text-slate-400">trend: {e.trend.slice(-10).map((t) => t.resignImages).join(" → ")} → {e.resign!.list.length}</p>}
              <p className="mt-1" data-testid="retire-safety">
                {e.resign!.safety.safe
                  ? <>Safe to retire: the list has been empty since <Time iso={e.resign!.safety.emptySince} day />.</>
                  : e.resign!.safety.safeAt
                    ? <>Empty since <Time iso={e.resign!.safety.emptySince} day />: safe to retire on <Time iso={e.resign!.safety.safeAt} day /> (after {e.resign!.safeDays} days).</>
                    : `Not yet safe to retire: the list must stay empty for ${e.resign!.safeDays} days.`}
              </p>
              <ul className="mt-2 list-disc pl-5 font-mono text-xs">
                {e.resign!.list.map((i) => (
                  <li key={i.imageId}>
                    {i.image}@{i.digest.slice(0, 19)}… <span className="text-slate-600 dark:text-slate-400">({i.workloads.join(", ")})</span>
                  </li>
                ))}
              </ul>
            </div>
          ))}
        </Section>
      )}

      {admin && (
        <>
          <Section title="Rotate a key" id="rotate">
            <p className="max-w-3xl text-sm text-slate-600 dark:text-slate-400">
              Adds the new key next to the old one in every policy that trusts it (either signature is accepted) and marks the old one
              retiring.
            </p>
            {inventory
              .filter((e) => e.editable && e.kind === "key" && e.status === "active")
              .map((e) => (
                <details key={e.ref} className="mt-2">
                  <summary className="cursor-pointer text-sm">Rotate {e.name}…</summary>
                  <div className="mt-2">
                    <RotateKeyForm from={e.name} />
                  </div>
                </details>
              ))}
          </Section>
          <Section title="Add a key" id="add-key">
            <AddKeyForm />
          </Section>
        </>
      )}
    </AppShell>
  );
}
