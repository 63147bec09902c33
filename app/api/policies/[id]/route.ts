import { z } from "zod";
import { ApiError } from "@/lib/api/errors";
import { route } from "@/lib/api/route";
import { getPolicyDetail } from "@/lib/data/policies";
import { getDb } from "@/lib/db/client";

export const dynamic = "force-dynamic";

/** One policy with its YAML, versions and their effect, and what enforcing it would break. */
export const GET = route({ access: "viewer", params: z.object({ id: z.uuid() }) }, async ({ params }) => {
  const p = await getPolicyDetail(getDb(), params.id);
  if (!p) throw new ApiError("not_found", "No such policy.");
  return p;
});
