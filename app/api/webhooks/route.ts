import { route } from "@/lib/api/route";
import { getDb } from "@/lib/db/client";
import { createWebhook, listWebhooks, newWebhookSchema } from "@/lib/notify/webhooks";

export const dynamic = "force-dynamic";

/** Outgoing webhooks; URLs are shown as scheme://host/… only (admin). */
export const GET = route({ access: "admin" }, async () => ({ webhooks: await listWebhooks(getDb()) }));

/** Adds a webhook; its URL is encrypted at rest and never returned (admin). */
export const POST = route({ access: "admin", body: newWebhookSchema }, async ({ body, user }) => ({ webhook: await createWebhook(getDb(), body, user.email) }));
