import { z } from "zod";
import { dateInput } from "@/lib/dto/read";
import { route } from "@/lib/api/route";
import { enqueueReevaluation } from "@/lib/data/enqueue";
import { getDb } from "@/lib/db/client";
import { updateAuthority } from "@/lib/trust/authorities";

export const dynamic = "force-dynamic";

const params = z.object({ ref: z.string().min(1).max(300) });
const patch = z
  .object({
    owner: z.string().max(200).nullable().optional(),
    rotateBy: dateInput.nullable().optional(),
    status: z.enum(["active", "retiring"]).optional(),
  })
  .strict();

/** Changes a stored authority's owner, rotate-by date or status (revocation has its own route) (admin). */
export const PATCH = route({ access: "admin", params, body: patch }, async ({ params, body, user }) => {
  const name = params.ref.replace(/^stored:/, "");
  const row = await updateAuthority(getDb(), name, body, user.email);
  if (body.status !== undefined) await enqueueReevaluation(`key ${row.name} marked ${row.status} by ${user.email}`);
  return { authority: { name: row.name, status: row.status, owner: row.owner, rotateBy: row.rotateBy?.toISOString() ?? null } };
});
