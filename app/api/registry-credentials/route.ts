import { route } from "@/lib/api/route";
import { createRegistryCredential, listRegistryCredentials, newRegistryCredentialSchema } from "@/lib/credentials/registry-credentials";
import { getDb } from "@/lib/db/client";

export const dynamic = "force-dynamic";

/** Registry credentials without their secrets (admin). */
export const GET = route({ access: "admin" }, async () => ({ credentials: await listRegistryCredentials(getDb()) }));

/** Stores credentials for a registry; the secret is encrypted and never returned (admin). */
export const POST = route({ access: "admin", body: newRegistryCredentialSchema }, async ({ body, user }) => ({
  credential: await createRegistryCredential(getDb(), body, user.email),
}));
