import "server-only";
import { appendAuditEvents } from "@/lib/audit/store";
import type { Db } from "@/lib/db/client";
import { TX_ADMIN_TIMEOUT_MS, withTransaction } from "@/lib/db/transaction";

/** The trust lifecycle's two settings: how long a retiring key must be unused, how early reminders start. */
export interface TrustSettingsDto {
  retireSafeDays: number;
  reminderDays: number;
}

export async function getTrustSettings(db: Db): Promise<TrustSettingsDto> {
  const s = await db.trustSettings.findUnique({ where: { id: "default" } });
  return { retireSafeDays: s?.retireSafeDays ?? 7, reminderDays: s?.reminderDays ?? 30 };
}

export async function updateTrustSettings(db: Db, patch: Partial<TrustSettingsDto>, actor: string): Promise<TrustSettingsDto> {
  await withTransaction(db, async (tx) => {
    const before = await tx.trustSettings.findUnique({ where: { id: "default" } });
    await tx.trustSettings.upsert({ where: { id: "default" }, create: { id: "default", ...patch }, update: { ...patch, updatedAt: new Date() } });
    const was = { retireSafeDays: before?.retireSafeDays ?? 7, reminderDays: before?.reminderDays ?? 30 };
    const from = Object.fromEntries(Object.keys(patch).map((k) => [k, was[k as keyof TrustSettingsDto]]));
    await appendAuditEvents(tx, [{ kind: "admin", actor, details: { action: "trust.settings", ...patch, from } }]);
  }, { timeout: TX_ADMIN_TIMEOUT_MS });
  return getTrustSettings(db);
}
