import { z } from "zod";
import { route } from "@/lib/api/route";
import { getDb } from "@/lib/db/client";
import { deleteWebhook } from "@/lib/notify/webhooks";

export const dynamic = "force-dynamic";

export const DELETE = route({ access: "admin", params: z.object({ id: z.uuid() }) }, async ({ params, user }) => {
  await deleteWebhook(getDb(), params.id, user.email);
  return { deleted: params.id };
});
