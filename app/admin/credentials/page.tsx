import type { Metadata } from "next";
import { AdminPage } from "@/components/admin/admin-page";
import { DeleteButton, RegistryCredentialForm } from "@/components/admin/registry-credentials";
import { SimpleTable, td } from "@/components/ui";
import { listRegistryCredentials } from "@/lib/credentials/registry-credentials";
import { getDb } from "@/lib/db/client";

export const metadata: Metadata = { title: "Registry credentials" };

export default async function RegistryCredentialsPage() {
  return (
    <AdminPage
      current="/admin/credentials"
      title="Registry credentials"
      description="Credentials Signet uses to read signatures from private registries. Passwords and tokens are encrypted at rest and never shown again."
      load={async () => {
        const credentials = await listRegistryCredentials(getDb());
        return {
          addTitle: "Add credentials",
          form: <RegistryCredentialForm />,
          list: (
            <SimpleTable head={["Host", "Username", "Secret", "Transport", "Actions"]} caption="Registry credentials" testId="credentials-table">
              {credentials.length === 0 && (
                <tr>
                  <td colSpan={5} className={`${td} text-slate-600 dark:text-slate-400`}>
                    No registry credentials yet.
                  </td>
                </tr>
              )}
              {credentials.map((c) => (
                <tr key={c.id} data-testid={`credential-${c.host}`}>
                  <td className={`${td} break-all font-mono`}>{c.host}</td>
                  <td className={td}>{c.username ?? "—"}</td>
                  <td className={td}>{c.hasSecret ? "stored (encrypted)" : "none"}</td>
                  <td className={td}>{c.insecure ? "insecure" : c.hasCa ? "custom CA" : "TLS"}</td>
                  <td className={`${td} text-right`}>
                    <DeleteButton url={`/api/registry-credentials/${c.id}`} label={`Delete credentials for ${c.host}`} />
                  </td>
                </tr>
              ))}
            </SimpleTable>
          ),
        };
      }}
    />
  );
}
