import type { Metadata } from "next";
import { DeleteButton } from "@/components/admin/registry-credentials";
import { NewUserForm, RoleSelect } from "@/components/admin/users";
import { AppShell } from "@/components/app-shell";
import { Forbidden } from "@/components/auth/auth-frame";
import { requireUser } from "@/lib/auth/current-user";
import { hasRole } from "@/lib/auth/roles";
import { listUsers } from "@/lib/auth/users";
import { getDb } from "@/lib/db/client";

export const metadata: Metadata = { title: "Users" };

export default async function UsersPage() {
  const me = await requireUser();
  if (!hasRole(me.role, "admin")) {
    return (
      <AppShell current="/admin/users">
        <Forbidden need="admin" />
      </AppShell>
    );
  }
  const users = await listUsers(getDb());
  return (
    <AppShell current="/admin/users">
      <h1 className="text-2xl font-semibold">Users</h1>
      <p className="mt-1 max-w-2xl text-sm text-slate-600 dark:text-slate-400">
        viewer reads the dashboard; auditor also reads the audit log and exports; admin also changes policies, authorities,
        clusters, credentials and users. Roles of single sign-on users follow their groups at each sign-in.
      </p>
      <table className="mt-6 w-full max-w-3xl text-left text-sm" data-testid="users-table">
        <thead className="text-xs uppercase tracking-wide text-slate-500">
          <tr>
            <th className="py-2">Name</th>
            <th>Email</th>
            <th>Sign-in</th>
            <th>Role</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-200 dark:divide-slate-800">
          {users.map((u) => (
            <tr key={u.id} data-testid={`user-${u.email}`}>
              <td className="py-2">{u.name}</td>
              <td>{u.email}</td>
              <td>{u.signIn.join(", ")}</td>
              <td>{u.id === me.id ? u.role : <RoleSelect userId={u.id} role={u.role} label={`Role of ${u.email}`} />}</td>
              <td className="text-right">{u.id !== me.id && <DeleteButton url={`/api/users/${u.id}`} label={`Delete ${u.email}`} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2 className="mt-8 text-lg font-medium">Add a user</h2>
      <div className="mt-2">
        <NewUserForm />
      </div>
    </AppShell>
  );
}
