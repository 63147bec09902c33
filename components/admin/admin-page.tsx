import type { ReactNode } from "react";
import { AppShell } from "@/components/app-shell";
import { Forbidden } from "@/components/auth/auth-frame";
import { Card, PageHeader } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { hasRole } from "@/lib/auth/roles";

type SessionUser = Awaited<ReturnType<typeof requireUser>>;

/**
 * The one scaffold of the admin pages (app/admin/*): the shell, the admin check (other roles see
 * Forbidden and nothing is read), a header, the list, and the form that adds to it.
 */
export async function AdminPage({
  current,
  title,
  description,
  load,
}: {
  current: string;
  title: string;
  description: ReactNode;
  /** Reads the page's data (only for an admin) and returns its list and its add form. */
  load: (me: SessionUser) => Promise<{ list: ReactNode; addTitle: string; form: ReactNode }>;
}) {
  const me = await requireUser();
  if (!hasRole(me.role, "admin")) {
    return (
      <AppShell current={current}>
        <Forbidden need="admin" />
      </AppShell>
    );
  }
  const { list, addTitle, form } = await load(me);
  return (
    <AppShell current={current}>
      <PageHeader title={title} description={description} />
      <Card className="mt-6">{list}</Card>
      <Card title={addTitle} className="mt-4">
        {form}
      </Card>
    </AppShell>
  );
}
