import { z } from "zod";
import { dateInput } from "@/lib/dto/read";
import { route } from "@/lib/api/route";
import { getDb } from "@/lib/db/client";
import { getScanAdapters } from "@/lib/scan/real-adapters";
import { rotateAuthority } from "@/lib/trust/rotate-authority";

export const dynamic = "force-dynamic";

const params = z.object({ ref: z.string().min(1).max(300) });
const body = z
  .object({
    newName: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "lower-case letters, digits and dashes"),
    publicKeyPem: z.string().max(20_000).regex(/-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----/, "a PEM public key"),
    owner: z.string().max(200).optional(),
    rotateBy: dateInput.optional(),
  })
  .strict();

/** Staged rotation: store the new key, mark the old one retiring, trust both in its policies, re-evaluate (admin). */
export const POST = route({ access: "admin", params, body }, async ({ params, body, user }) => {
  const name = params.ref.replace(/^stored:/, "");
  return rotateAuthority(getDb(), name, body, user.email, { adapters: getScanAdapters() });
});
