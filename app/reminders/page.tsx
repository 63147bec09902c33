import type { Metadata } from "next";
import { AppShell } from "@/components/app-shell";
import { AddWebhookForm, DeleteWebhookButton, SettingsForm } from "@/components/trust/forms";
import { Section, SeverityBadge } from "@/components/trust/ui";
import { TextLink } from "@/components/ui";
import { requireUser } from "@/lib/auth/current-user";
import { hasRole } from "@/lib/auth/roles";
import { getDb } from "@/lib/db/client";
import { NOTIFICATION_EVENTS } from "@/lib/notify/format";
import { listWebhooks } from "@/lib/notify/webhooks";
import { getReminders } from "@/lib/trust/load-reminders";
import { getTrustSettings } from "@/lib/trust/settings";
import { links } from "@/lib/ui/links";

export const metadata: Metadata = { title: "Reminders" };
export const dynamic = "force-dynamic";

const ZONES = ["UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney"];
const KIND: Record<string, string> = {
  "rotate-by": "Rotation",
  "authority-expiry": "Key validity",
  "trust-root-expiry": "Trusted root",
  "certificate-expired-no-tlog": "Keyless certificate",
};

export default async function RemindersPage({ searchParams }: { searchParams: Promise<{ tz?: string }> }) {
  const user = await requireUser();
  const admin = hasRole(user.role, "admin");
  const { tz: raw } = await searchParams;
  const tz = raw && ZONES.includes(raw) ? raw : "UTC";
  const db = getDb();
  const [reminders, settings, webhooks] = await Promise.all([getReminders(db, { timeZone: tz }), getTrustSettings(db), admin ? listWebhooks(db) : Promise.resolve([])]);
  return (
    <AppShell current="/reminders">
      <h1 className="text-2xl font-semibold">Reminders</h1>
      <p className="mt-1 max-w-3xl text-sm text-slate-600 dark:text-slate-400">
        Keys due for rotation, keys and trusted-root material (Fulcio, Rekor, CT logs, timestamp authorities) that expire within{" "}
        {settings.reminderDays} days, and keyless certificates of running images that expired with no transparency-log time to vouch
        for them.
      </p>
      <form method="get" className="mt-4 flex items-end gap-2 text-sm" aria-label="Time zone">
        <label>
          Dates in
          <select name="tz" defaultValue={tz} className="ml-2 rounded border border-slate-300 px-2 py-1 dark:border-slate-700 dark:bg-slate-900">
            {ZONES.map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="rounded border border-slate-300 px-2 py-1 dark:border-slate-700">
          Show
        </button>
      </form>

      <table className="mt-4 w-full max-w-5xl text-left text-sm" data-testid="reminders-table">
        <thead className="text-xs uppercase tracking-wide text-slate-600 dark:text-slate-400">
          <tr>
            <th className="py-2">When</th>
            <th>Kind</th>
            <th>Subject</th>
            <th>Due ({tz})</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-200 dark:divide-slate-800">
          {reminders.length === 0 && (
            <tr>
              <td colSpan={5} className="py-3 text-slate-600 dark:text-slate-400">
                Nothing is due.
              </td>
            </tr>
          )}
          {reminders.map((r) => (
            <tr key={r.id} data-testid={`reminder-${r.id}`} className="align-top">
              <td className="py-2">
                <SeverityBadge severity={r.severity} />
              </td>
              <td>{KIND[r.kind] ?? r.kind}</td>
              <td className="font-mono text-xs">
                {/* the key's row on the Keys page; the trusted roots */}
                {r.kind === "rotate-by" || r.kind === "authority-expiry" ? (
                  <TextLink href={links.authority(r.subject)} testId="reminder-subject">
                    {r.subject}
                  </TextLink>
                ) : r.kind === "trust-root-expiry" ? (
                  <TextLink href="/trust-roots" testId="reminder-subject">
                    {r.subject}
                  </TextLink>
                ) : (
                  r.subject
                )}
              </td>
              <td>
                {r.dueDate} <span className="text-xs text-slate-600 dark:text-slate-400">({r.daysLeft >= 0 ? `in ${r.daysLeft} d` : `${-r.daysLeft} d ago`})</span>
              </td>
              <td>{r.message}</td>
            </tr>
          ))}
        </tbody>
      </table>

      {admin && (
        <>
          <Section title="Settings" id="settings">
            <SettingsForm {...settings} />
          </Section>
          <Section title="Notifications" id="webhooks">
            <p className="max-w-3xl text-sm text-slate-600 dark:text-slate-400">
              Webhooks receive new failures in enforce-mode policies, coverage dropping below the target (SIGNET_COVERAGE_TARGET), these reminders and
              revocations. Deliveries are retried with backoff and logged.
            </p>
            <table className="mt-2 w-full max-w-3xl text-left text-sm" data-testid="webhooks-table">
              <thead className="text-xs uppercase tracking-wide text-slate-600 dark:text-slate-400">
                <tr>
                  <th className="py-2">Name</th>
                  <th>Format</th>
                  <th>Endpoint</th>
                  <th>Events</th>
                  <th>Delivered · failed · pending</th>
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-200 dark:divide-slate-800">
                {webhooks.map((w) => (
                  <tr key={w.id} data-testid={`webhook-${w.name}`}>
                    <td className="py-2">{w.name}</td>
                    <td>{w.format}</td>
                    <td className="font-mono text-xs">{w.urlHint}</td>
                    <td className="text-xs">{w.events.length ? w.events.join(", ") : "all"}</td>
                    <td>
                      {w.deliveries.delivered} · {w.deliveries.failed} · {w.deliveries.pending}
                    </td>
                    <td className="text-right">
                      <DeleteWebhookButton id={w.id} name={w.name} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <div className="mt-4">
              <AddWebhookForm events={NOTIFICATION_EVENTS} />
            </div>
          </Section>
        </>
      )}
    </AppShell>
  );
}
