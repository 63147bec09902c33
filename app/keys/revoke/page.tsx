import type { Metadata } from "next";
import Link from "next/link";
import { AppShell } from "@/components/app-shell";
import { RevokeConfirmForm } from "@/components/trust/forms";
import { SimpleTable, td, TextLink } from "@/components/ui";
import { Section } from "@/components/trust/ui";
import { ApiError } from "@/lib/api/errors";
import { requireUser } from "@/lib/auth/current-user";
import { hasRole } from "@/lib/auth/roles";
import { getDb } from "@/lib/db/client";
import { previewRevocation } from "@/lib/trust/revoke";
import { shortDigest } from "@/lib/ui/format";
import { links } from "@/lib/ui/links";

export const metadata: Metadata = { title: "Revoke a key" };
export const dynamic = "force-dynamic";

export default async function RevokePage({ searchParams }: { searchParams: Promise<{ ref?: string }> }) {
  const user = await requireUser();
  const { ref } = await searchParams;
  let preview: Awaited<ReturnType<typeof previewRevocation>> | null = null;
  let problem: string | null = null;
  if (!ref) problem = "No authority given.";
  else {
    try {
      preview = await previewRevocation(getDb(), ref);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      problem = err.message;
    }
  }
  return (
    <AppShell current="/keys">
      <p className="text-sm">
        <Link href="/keys" className="text-teal-700 underline dark:text-teal-400">
          ← Keys
        </Link>
      </p>
      <h1 className="mt-2 break-all text-2xl font-semibold">Revoke {preview?.label ?? ref ?? ""}</h1>
      {problem && (
        <p role="alert" className="mt-4 text-sm text-red-700 dark:text-red-400">
          {problem}
        </p>
      )}
      {preview && (
        <>
          <p className="mt-1 max-w-3xl text-sm text-slate-600 dark:text-slate-400">
            Blast radius: what would turn from verified to failed if this authority were revoked now, evaluated against the evidence
            Signet holds. Nothing has changed yet.
          </p>
          <div className="mt-4 grid max-w-3xl grid-cols-2 gap-3 text-center sm:grid-cols-4" data-testid="blast-summary">
            {(
              [
                ["Containers", preview.radius.containers],
                ["Images", preview.radius.images],
                ["Workloads", preview.radius.workloads],
                ["Namespaces", preview.radius.namespaces],
              ] as const
            ).map(([label, n]) => (
              <div key={label} className="rounded-lg border border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900">
                <div className="text-xs uppercase tracking-wide text-slate-600 dark:text-slate-400">{label}</div>
                <div className="text-2xl font-semibold" data-testid={`blast-${label.toLowerCase()}`}>
                  {n}
                </div>
              </div>
            ))}
          </div>
          {preview.readOnlyPolicies.length > 0 && (
            <p className="mt-3 text-sm text-amber-800 dark:text-amber-300">
              Imported (read-only) policies embed this key and are not changed here: {preview.readOnlyPolicies.join(", ")}.
            </p>
          )}
          <Section title="Per policy" id="per-policy">
            {preview.radius.byPolicy.length === 0 ? (
              <p className="text-sm text-slate-600 dark:text-slate-400" data-testid="blast-none">
                Nothing running would stop verifying.
              </p>
            ) : (
              <ul className="text-sm" data-testid="blast-policies">
                {preview.radius.byPolicy.map((p) => (
                  <li key={p.policy}>
                    <strong>{p.policy}</strong> ({p.mode}): {p.containers} container(s), {p.images} image(s)
                  </li>
                ))}
              </ul>
            )}
          </Section>
          {preview.radius.affected.length > 0 && (
            <Section title="Affected workloads" id="affected">
              <SimpleTable head={["Cluster / namespace", "Workload", "Container", "Image", "Policy (mode)", "Becomes"]} caption="Workloads that would fail" testId="blast-table">
                {preview.radius.affected.map((a) => (
                  <tr key={`${a.containerId}/${a.policy}`} data-testid="blast-row">
                    <td className={td}>
                      <TextLink href={links.namespace(a.cluster, a.namespace)}>
                        {a.cluster}/{a.namespace}
                      </TextLink>
                    </td>
                    <td className={td}>
                      <TextLink href={links.workload(a.cluster, a.namespace, a.workload)}>{a.workload}</TextLink>
                    </td>
                    <td className={td}>
                      <TextLink href={links.container(a.containerId)}>{a.container}</TextLink>
                    </td>
                    <td className={`${td} min-w-48 font-mono text-xs`}>
                      <span className="break-all">{a.image}</span>
                      <div title={a.digest}>{shortDigest(a.digest)}</div>
                    </td>
                    <td className={td}>
                      {a.policy} ({a.mode})
                    </td>
                    <td className={`${td} text-red-700 dark:text-red-400`}>{a.after}</td>
                  </tr>
                ))}
              </SimpleTable>
            </Section>
          )}
          {hasRole(user.role, "admin") ? (
            <Section title="Revoke" id="confirm">
              <RevokeConfirmForm authorityRef={preview.ref} label={preview.label} />
            </Section>
          ) : (
            <p className="mt-6 text-sm text-slate-600 dark:text-slate-400">Only an administrator can revoke.</p>
          )}
        </>
      )}
    </AppShell>
  );
}
