import { route } from "@/lib/api/route";
import { createLocalUser, listUsers, newUserSchema } from "@/lib/auth/users";
import { getDb } from "@/lib/db/client";

export const dynamic = "force-dynamic";

/** Users and their roles (admin). */
export const GET = route({ access: "admin" }, async () => ({ users: await listUsers(getDb()) }));

/** Creates a user who signs in with email + password (admin). */
export const POST = route({ access: "admin", body: newUserSchema }, async ({ body, user }) => ({
  user: await createLocalUser(getDb(), body, user.email),
}));
