import "server-only";
import type { Db } from "@/lib/db/client";
import type { Notification } from "@/lib/notify/format";
import { queueNotification } from "@/lib/notify/webhooks";
import { getEnv } from "@/lib/env";
import { getReminders } from "@/lib/trust/load-reminders";

/**
 * What is worth telling: new failures in enforce-mode policies (verification events since the last
 * look), fleet coverage dropping below SIGNET_COVERAGE_TARGET, and rotation / expiry reminders (each once per
 * severity). Returns the notifications; `runNotifier` queues them and moves the cursor.
 */
export async function detectNotifications(db: Db, now: Date): Promise<{ notifications: Notification[]; cursor: bigint }> {
  const settings = await db.trustSettings.upsert({ where: { id: "default" }, create: { id: "default" }, update: {} });
  const out: Notification[] = [];
  const at = now.toISOString();

  // 1. new failures in enforce mode
  const events = await db.verificationEvent.findMany({
    where: { seq: { gt: settings.notifyCursor }, kind: "verdict", verdict: "failed" },
    orderBy: { seq: "asc" },
    take: 1000,
  });
  const lastSeq =
    events.length === 1000
      ? events.at(-1)!.seq
      : ((await db.verificationEvent.findFirst({ orderBy: { seq: "desc" }, select: { seq: true } }))?.seq ?? settings.notifyCursor);
  const failures = events.filter((e) => e.previousVerdict !== "failed" && (e.details as { mode?: string } | null)?.mode === "enforce");
  if (failures.length) {
    const lines = failures.map((e) => {
      const reason = ((e.reasons as { code?: string }[]) ?? []).map((r) => r.code).filter(Boolean)[0] ?? "failed";
      return `${e.clusterName}/${e.namespace} ${e.workload} — ${e.policyName} (${reason})`;
    });
    out.push({
      event: "failure.enforce",
      dedupeKey: `failures:${failures[0]!.seq}-${failures.at(-1)!.seq}`,
      occurredAt: at,
      summary: `${failures.length} new failure${failures.length === 1 ? "" : "s"} in enforce-mode policies`,
      lines: [...new Set(lines)].slice(0, 50),
      data: { count: failures.length, firstSeq: String(failures[0]!.seq), lastSeq: String(failures.at(-1)!.seq) },
    });
  }

  // 2. coverage below target (on the crossing, and for the first snapshot already below)
  const target = getEnv().SIGNET_COVERAGE_TARGET / 100;
  const snaps = await db.coverageSnapshot.findMany({ where: { scope: "fleet" }, orderBy: { takenAt: "desc" }, take: 2 });
  const ratio = (s: { containersTotal: number; containersVerified: number }) => (s.containersTotal ? s.containersVerified / s.containersTotal : 1);
  const [latest, previous] = snaps;
  if (latest && ratio(latest) < target && (!previous || ratio(previous) >= target)) {
    out.push({
      event: "coverage.below-target",
      dedupeKey: `coverage:${latest.id}`,
      occurredAt: at,
      summary: `fleet coverage ${(ratio(latest) * 100).toFixed(1)}% is below the target of ${(target * 100).toFixed(0)}%`,
      data: { coverage: ratio(latest), target, containersTotal: latest.containersTotal, containersVerified: latest.containersVerified },
    });
  }

  // 3. reminders, once when due soon and once when overdue
  for (const r of await getReminders(db, { now })) {
    out.push({ event: "reminder", dedupeKey: `reminder:${r.id}:${r.severity}`, occurredAt: at, summary: r.message, data: { ...r } });
  }
  return { notifications: out, cursor: lastSeq };
}

/** Detects, queues a delivery per endpoint, advances the cursor; returns the new delivery ids. */
export async function runNotifier(db: Db, now: Date): Promise<string[]> {
  const { notifications, cursor } = await detectNotifications(db, now);
  const ids: string[] = [];
  for (const n of notifications) ids.push(...(await queueNotification(db, n)));
  await db.trustSettings.update({ where: { id: "default" }, data: { notifyCursor: cursor } });
  return ids;
}
