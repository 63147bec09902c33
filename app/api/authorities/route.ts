import { z } from "zod";
import { dateInput } from "@/lib/dto/read";
import { route } from "@/lib/api/route";
import { enqueueReevaluation } from "@/lib/data/enqueue";
import { getDb } from "@/lib/db/client";
import { createKeyAuthority } from "@/lib/trust/authorities";
import { getInventory } from "@/lib/trust/inventory";

export const dynamic = "force-dynamic";

/** The authority inventory: stored keys and identities, and those embedded in policies, with live usage and due dates. */
export const GET = route({ access: "viewer" }, async () => ({ authorities: await getInventory(getDb()) }));

const newKey = z
  .object({
    name: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "lower-case letters, digits and dashes"),
    publicKeyPem: z.string().max(20_000).regex(/-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----/, "a PEM public key"),
    owner: z.string().max(200).optional(),
    rotateBy: dateInput.optional(),
    source: z.enum(["manual", "file", "cosign.pub", "cluster"]).default("manual"),
  })
  .strict();

/** Stores a public key as an authority policies can reference (`key: { ref: <name> }`) (admin). */
export const POST = route({ access: "admin", body: newKey }, async ({ body, user }) => {
  const row = await createKeyAuthority(getDb(), body, user.email);
  // a policy may name this key (`key: { ref }`): verdicts follow at once, from stored evidence
  await enqueueReevaluation(`key ${row.name} added by ${user.email}`);
  return { authority: { name: row.name, fingerprint: `sha256:${row.fingerprint}`, status: row.status } };
});
