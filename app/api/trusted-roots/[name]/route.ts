import { z } from "zod";
import { route } from "@/lib/api/route";
import { getDb } from "@/lib/db/client";
import { removeTrustedRoot } from "@/lib/trust/trusted-roots";

export const dynamic = "force-dynamic";

/** Removes a custom trusted root or a TUF repository with its root (admin); 409 while a policy names it. */
export const DELETE = route({ access: "admin", params: z.object({ name: z.string().min(1).max(63) }) }, async ({ params, user }) => {
  await removeTrustedRoot(getDb(), params.name, user.email);
  return { removed: params.name };
});
