import { z } from "zod";
import { route } from "@/lib/api/route";
import { listScans } from "@/lib/data/scans";
import { getDb } from "@/lib/db/client";

export const dynamic = "force-dynamic";

export const GET = route(
  { access: "viewer", query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }) },
  async ({ query }) => ({ scans: await listScans(getDb(), query.limit) }),
);
