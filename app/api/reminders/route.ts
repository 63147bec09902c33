import { z } from "zod";
import { route } from "@/lib/api/route";
import { getDb } from "@/lib/db/client";
import { getReminders } from "@/lib/trust/load-reminders";

export const dynamic = "force-dynamic";

const query = z.object({
  tz: z
    .string()
    .max(64)
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat("en", { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, "an IANA time zone")
    .default("UTC"),
});

/** Rotation and expiry reminders, dates in the caller's time zone. */
export const GET = route({ access: "viewer", query }, async ({ query }) => ({ reminders: await getReminders(getDb(), { timeZone: query.tz }) }));
