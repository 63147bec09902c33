import "server-only";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { cache } from "react";
import { ApiError } from "@/lib/api/errors";
import { hasRole, type Role } from "@/lib/auth/roles";
import { getSessionUser, type SessionUser } from "@/lib/auth/session";

/**
 * The session of the request being rendered, looked up once: a page's `requireUser` and the AppShell
 * it renders both ask, and the shell would otherwise wait for a second session read before the first
 * byte. React's `cache` lasts one server render (a new request reads the session again, so a role
 * change or a revoked session still takes effect on the next request); outside a render (server
 * actions) it does not memoise.
 */
const sessionOfThisRender = cache(async (): Promise<SessionUser | null> => getSessionUser(await headers()));

/** For server components: the current user, or null. */
export async function getCurrentUser(): Promise<SessionUser | null> {
  return sessionOfThisRender();
}

/** For pages: the current user, or a redirect to sign-in. Pages then show only what the role allows. */
export async function requireUser(): Promise<SessionUser> {
  const user = await getCurrentUser();
  if (!user) redirect("/sign-in");
  return user;
}

/**
 * For server actions, the counterpart of the route wrapper's `access`: every action starts with
 * `const user = await authorizeAction("admin")`. (Next checks a server action's Origin itself.)
 */
export async function authorizeAction(access: Role): Promise<SessionUser> {
  const user = await getCurrentUser();
  if (!user) throw new ApiError("unauthenticated", "Sign in to continue.");
  if (!hasRole(user.role, access)) throw new ApiError("forbidden", `This needs the ${access} role.`);
  return user;
}
