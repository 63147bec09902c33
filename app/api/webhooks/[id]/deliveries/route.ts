import { z } from "zod";
import { route } from "@/lib/api/route";
import { getDb } from "@/lib/db/client";
import { listDeliveries } from "@/lib/notify/webhooks";

export const dynamic = "force-dynamic";

/** The delivery log of one webhook: status, attempts, each attempt's HTTP status or error (admin). */
export const GET = route({ access: "admin", params: z.object({ id: z.uuid() }) }, async ({ params }) => ({ deliveries: await listDeliveries(getDb(), params.id) }));
