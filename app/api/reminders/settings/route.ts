import { z } from "zod";
import { route } from "@/lib/api/route";
import { getDb } from "@/lib/db/client";
import { getTrustSettings, updateTrustSettings } from "@/lib/trust/settings";

export const dynamic = "force-dynamic";

export const GET = route({ access: "viewer" }, async () => ({ settings: await getTrustSettings(getDb()) }));

const patch = z
  .object({
    retireSafeDays: z.number().int().min(0).max(365).optional(),
    reminderDays: z.number().int().min(1).max(365).optional(),
  })
  .strict();

/** Days a re-sign list must stay empty before retiring, reminder lead time (admin). */
export const PATCH = route({ access: "admin", body: patch }, async ({ body, user }) => ({ settings: await updateTrustSettings(getDb(), body, user.email) }));
