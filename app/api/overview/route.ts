import { z } from "zod";
import { route } from "@/lib/api/route";
import { getOverview } from "@/lib/data/coverage";
import { getDb } from "@/lib/db/client";
import { overviewDto } from "@/lib/dto/read";

export const dynamic = "force-dynamic";

/** Fleet coverage, clusters, worst namespaces, trend and newest failures. */
export const GET = route(
  { access: "viewer", query: z.object({ days: z.coerce.number().int().min(1).max(365).default(30) }), responses: { 200: overviewDto } },
  async ({ query }) => getOverview(getDb(), { trendDays: query.days }),
);
