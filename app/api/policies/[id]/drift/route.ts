import { z } from "zod";
import { ApiError } from "@/lib/api/errors";
import { route } from "@/lib/api/route";
import { getPolicyDrift } from "@/lib/data/drift";
import { getDb } from "@/lib/db/client";
import { policyDriftDto } from "@/lib/dto/dashboard";

export const dynamic = "force-dynamic";

/** An imported policy's drift: the cluster's admission rejections beside Signet's verdicts. */
export const GET = route({ access: "viewer", params: z.object({ id: z.uuid() }), responses: { 200: policyDriftDto } }, async ({ params }) => {
  const d = await getPolicyDrift(getDb(), params.id);
  if (!d) throw new ApiError("not_found", "No such policy.");
  return d;
});
