import { z } from "zod";
import { ApiError } from "@/lib/api/errors";
import { route } from "@/lib/api/route";
import { getImageDetail } from "@/lib/data/images";
import { getDb } from "@/lib/db/client";
import { imageDetailDto } from "@/lib/dto/dashboard";

export const dynamic = "force-dynamic";

/** One image's trust chain, where it runs, verdicts per policy and verdict history. */
export const GET = route({ access: "viewer", params: z.object({ id: z.uuid() }), responses: { 200: imageDetailDto } }, async ({ params }) => {
  const image = await getImageDetail(getDb(), params.id);
  if (!image) throw new ApiError("not_found", "No such image.");
  return image;
});
