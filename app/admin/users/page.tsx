import type { Metadata } from "next";
import { AdminPage } from "@/components/admin/admin-page";
import { DeleteButton } from "@/components/admin/registry-credentials";
import { NewUserForm, RoleSelect } from "@/components/admin/users";
import { SimpleTable, td } from "@/components/ui";
import { listUsers } from "@/lib/auth/users";
import { getDb } from "@/lib/db/client";

export const metadata: Metadata = { title: "Users" };

export default async function UsersPage() {
  return (
    <AdminPage
      current="/admin/users"
      title="Users"
      description="viewer reads the dashboard; auditor also reads the audit log and exports; admin also changes policies, authorities, clusters, credentials and users. Roles of single sign-on users follow their groups at each sign-in."
      load={async (me) => {
        const users = await listUsers(getDb());
        return {
          addTitle: "Add a user",
          form: <NewUserForm />,
          list: (
            <SimpleTable head={["Name", "Email", "Sign-in", "Role", "Actions"]} caption="Users" testId="users-table">
              {users.map((u) => (
                <tr key={u.id} data-testid={`user-${u.email}`}>
                  <td className={td}>{u.name}</td>
                  <td className={`${td} break-all`}>{u.email}</td>
                  <td className={td}>{u.signIn.join(", ")}</td>
                  <td className={td}>{u.id === me.id ? u.role : <RoleSelect userId={u.id} role={u.role} label={`Role of ${u.email}`} />}</td>
                  <td className={`${td} text-right`}>{u.id !== me.id && <DeleteButton url={`/api/users/${u.id}`} label={`Delete ${u.email}`} />}</td>
                </tr>
              ))}
            </SimpleTable>
          ),
        };
      }}
    />
  );
}
