import type { Metadata } from "next";
import { DeleteButton, RegistryCredentialForm } from "@/components/admin/registry-credentials";
import { AppShell } from "@/components/app-shell";
import { Forbidden } from "@/components/auth/auth-frame";
import { requireUser } from "@/lib/auth/current-user";
import { hasRole } from "@/lib/auth/roles";
import { listRegistryCredentials } from "@/lib/credentials/registry-credentials";
import { getDb } from "@/lib/db/client";

export const metadata: Metadata = { title: "Registry credentials" };

export default async function RegistryCredentialsPage() {
  const user = await requireUser();
  if (!hasRole(user.role, "admin")) {
    return (
      <AppShell current="/admin/credentials">
        <Forbidden need="admin" />
      </AppShell>
    );
  }
  const credentials = await listRegistryCredentials(getDb());
  return (
    <AppShell current="/admin/credentials">
      <h1 className="text-2xl font-semibold">Registry credentials</h1>
      <p className="mt-1 max-w-2xl text-sm text-slate-600 dark:text-slate-400">
        Credentials Signet uses to read signatures from private registries. Passwords and tokens are encrypted at rest and never
        shown again.
      </p>
      <table className="mt-6 w-full max-w-3xl text-left text-sm" data-testid="credentials-table">
        <thead className="text-xs uppercase tracking-wide text-slate-500">
          <tr>
            <th className="py-2">Host</th>
            <th>Username</th>
            <th>Secret</th>
            <th>Transport</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-200 dark:divide-slate-800">
          {credentials.length === 0 && (
            <tr>
              <td colSpan={5} className="py-3 text-slate-500">
                No registry credentials yet.
              </td>
            </tr>
          )}
          {credentials.map((c) => (
            <tr key={c.id} data-testid={`credential-${c.host}`}>
              <td className="py-2 font-mono">{c.host}</td>
              <td>{c.username ?? "—"}</td>
              <td>{c.hasSecret ? "stored (encrypted)" : "none"}</td>
              <td>{c.insecure ? "insecure" : c.hasCa ? "custom CA" : "TLS"}</td>
              <td className="text-right">
                <DeleteButton url={`/api/registry-credentials/${c.id}`} label={`Delete credentials for ${c.host}`} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2 className="mt-8 text-lg font-medium">Add credentials</h2>
      <div className="mt-2">
        <RegistryCredentialForm />
      </div>
    </AppShell>
  );
}
