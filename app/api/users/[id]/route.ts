import { z } from "zod";
import { ApiError } from "@/lib/api/errors";
import { route } from "@/lib/api/route";
import { roleSchema } from "@/lib/auth/roles";
import { deleteUser, setUserRole } from "@/lib/auth/users";
import { getDb } from "@/lib/db/client";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().min(1).max(100) });

/** Changes a user's role (admin). */
export const PATCH = route({ access: "admin", params, body: z.object({ role: roleSchema }) }, async ({ params, body, user }) => ({
  user: await setUserRole(getDb(), params.id, body.role, user.email),
}));

/** Deletes a user (admin; not yourself). */
export const DELETE = route({ access: "admin", params }, async ({ params, user }) => {
  if (params.id === user.id) throw new ApiError("conflict", "You cannot delete yourself.");
  await deleteUser(getDb(), params.id, user.email);
  return { deleted: params.id };
});
