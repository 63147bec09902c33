import "server-only";
import { getAuth } from "@/lib/auth/auth";
import { hasSessionCookie } from "@/lib/auth/cookie";
import { roleSchema, type Role } from "@/lib/auth/roles";

/** The signed-in user as route handlers and pages see them. */
export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: Role;
}


/**
 * Resolves the session of a request from its cookie. The role is read from the user row on every
 * request (no cookie cache), so a role change or a deleted user takes effect immediately.
 */
export async function getSessionUser(h: Headers): Promise<SessionUser | null> {
  if (!hasSessionCookie(h)) return null;
  const result = await getAuth().api.getSession({ headers: h });
  if (!result) return null;
  const role = roleSchema.safeParse(result.user.role);
  if (!role.success) return null;
  return { id: result.user.id, email: result.user.email, name: result.user.name, role: role.data };
}
