import { z } from "zod";
import { ApiError } from "@/lib/api/errors";
import { route } from "@/lib/api/route";
import { getScan } from "@/lib/data/scans";
import { getDb } from "@/lib/db/client";
import { scanDto } from "@/lib/dto/read";

export const dynamic = "force-dynamic";

export const GET = route({ access: "viewer", params: z.object({ id: z.uuid() }), responses: { 200: scanDto } }, async ({ params }) => {
  const scan = await getScan(getDb(), params.id);
  if (!scan) throw new ApiError("not_found", "No such scan.");
  return scan;
});
