import "server-only";
import { coverage } from "@/lib/coverage/compute";
import type { Db } from "@/lib/db/client";
import { withTransaction } from "@/lib/db/transaction";
import type { Notification } from "@/lib/notify/format";
import { queueNotification } from "@/lib/notify/webhooks";
import { getEnv } from "@/lib/env";
import { getReminders } from "@/lib/trust/load-reminders";

/** Verdicts that are failures to notify: a bad signature and no signature alike. */
const FAILING_VERDICTS = ["failed", "unsigned"] as const;
const FAILING: ReadonlySet<string> = new Set(FAILING_VERDICTS);

/**
 * What is worth telling: new failures (failed or unsigned) in enforce-mode policies (and in warn /
 * audit ones per SIGNET_NOTIFY_FAILURE_MODES) (verification events since the last
 * look), fleet coverage dropping below SIGNET_COVERAGE_TARGET, and rotation / expiry reminders (each once per
 * severity). Returns the notifications; `runNotifier` queues them and moves the cursor.
 */
export async function detectNotifications(db: Db, now: Date): Promise<{ notifications: Notification[]; cursor: bigint }> {
  const settings = await db.trustSettings.upsert({ where: { id: "default" }, create: { id: "default" }, update: {} });
  const out: Notification[] = [];
  const at = now.toISOString();

  // 1. new failures (failed or unsigned) in enforce mode, and in warn / audit mode when configured.
  // The chain's head is read first and the events up to it after: appends are serialized and commit in
  // sequence order (lib/audit/store.ts), so every event up to the head is readable, and an event
  // appended meanwhile is above the new cursor, left for the next run (reading the head after the
  // events moved the cursor past failures committed between the two reads: they were never told).
  const head = (await db.verificationEvent.findFirst({ orderBy: { seq: "desc" }, select: { seq: true } }))?.seq ?? settings.notifyCursor;
  const events = await db.verificationEvent.findMany({
    where: { seq: { gt: settings.notifyCursor, lte: head }, kind: "verdict", verdict: { in: [...FAILING_VERDICTS] } },
    orderBy: { seq: "asc" },
    take: 1000,
  });
  const lastSeq = events.length === 1000 ? events.at(-1)!.seq : head;
  const modes: ReadonlySet<string> = new Set(getEnv().SIGNET_NOTIFY_FAILURE_MODES);
  const fresh = events.filter((e) => !FAILING.has(e.previousVerdict ?? "") && modes.has((e.details as { mode?: string } | null)?.mode ?? ""));
  const groups = [
    { event: "failure.enforce" as const, label: "enforce-mode policies", list: fresh.filter((e) => (e.details as { mode?: string }).mode === "enforce") },
    { event: "failure.audit" as const, label: "warn- and audit-mode policies", list: fresh.filter((e) => (e.details as { mode?: string }).mode !== "enforce") },
  ];
  for (const { event, label, list } of groups) {
    if (!list.length) continue;
    const lines = list.map((e) => {
      const reason = ((e.reasons as { code?: string }[]) ?? []).map((r) => r.code).filter(Boolean)[0] ?? e.verdict;
      return `${e.clusterName}/${e.namespace} ${e.workload} — ${e.policyName} (${reason})`;
    });
    out.push({
      event,
      dedupeKey: `${event === "failure.enforce" ? "failures" : event}:${list[0]!.seq}-${list.at(-1)!.seq}`,
      occurredAt: at,
      summary: `${list.length} new failure${list.length === 1 ? "" : "s"} in ${label}`,
      lines: [...new Set(lines)].slice(0, 50),
      data: { count: list.length, firstSeq: String(list[0]!.seq), lastSeq: String(list.at(-1)!.seq) },
    });
  }

  // 2. coverage below target (on the crossing, and for the first snapshot already below)
  const target = getEnv().SIGNET_COVERAGE_TARGET / 100;
  const snaps = await db.coverageSnapshot.findMany({ where: { scope: "fleet" }, orderBy: { takenAt: "desc" }, take: 2 });
  // the coverage ratio (ADR 0013): Signet's own inability to look neither raises nor drops it
  const ratio = (s: Parameters<typeof coverage>[0]) => (coverage(s) ?? 100) / 100;
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

/**
 * Detects, queues a delivery per endpoint, advances the cursor; returns the new delivery ids. One
 * run at a time across every worker: several workers (or an image check's tick next to the minute's)
 * can run `notify.tick` at once, and two runs reading the same cursor would each tell the same new
 * failures under a different dedupe key. Detection, the deliveries and the cursor commit together
 * under a transaction-scoped advisory lock, so a second run waits and starts from the first one's
 * cursor.
 */
export async function runNotifier(db: Db, now: Date): Promise<string[]> {
  return withTransaction(
    db,
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('signet-notify'))`;
      const t = tx as unknown as Db;
      const { notifications, cursor } = await detectNotifications(t, now);
      const ids: string[] = [];
      for (const n of notifications) ids.push(...(await queueNotification(t, n)));
      await t.trustSettings.update({ where: { id: "default" }, data: { notifyCursor: cursor } });
      return ids;
    },
    { timeout: 120_000 },
  );
}
