import { z } from "zod";
import { ApiError } from "@/lib/api/errors";
import { route } from "@/lib/api/route";
import { getPolicyDetail } from "@/lib/data/policies";
import { getDb } from "@/lib/db/client";
import { policyDetailDto } from "@/lib/dto/dashboard";

export const dynamic = "force-dynamic";

/** One policy with its YAML, versions and their effect, and what enforcing it would break. */
export const GET = route({ access: "viewer", params: z.object({ id: z.uuid() }), responses: { 200: policyDetailDto } }, async ({ params }) => {
  const p = await getPolicyDetail(getDb(), params.id);
  if (!p) throw new ApiError("not_found", "No such policy.");
  return p;
});
