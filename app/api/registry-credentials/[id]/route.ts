import { z } from "zod";
import { route } from "@/lib/api/route";
import { deleteRegistryCredential, registryCredentialUpdateSchema, updateRegistryCredential } from "@/lib/credentials/registry-credentials";
import { getDb } from "@/lib/db/client";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.uuid() });

/** Changes a registry credential; `secret: null` clears it (admin). */
export const PATCH = route({ access: "admin", params, body: registryCredentialUpdateSchema }, async ({ params, body, user }) => ({
  credential: await updateRegistryCredential(getDb(), params.id, body, user.email),
}));

/** Deletes a registry credential (admin). */
export const DELETE = route({ access: "admin", params }, async ({ params, user }) => {
  await deleteRegistryCredential(getDb(), params.id, user.email);
  return { deleted: params.id };
});
