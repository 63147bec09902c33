/**
 * Notifications and how each webhook format renders them. Pure.
 */
export const NOTIFICATION_EVENTS = ["failure.enforce", "failure.audit", "coverage.below-target", "reminder", "authority.revoked"] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

export interface Notification {
  event: NotificationEvent;
  /** The same notification twice collapses into one delivery per endpoint. */
  dedupeKey: string;
  occurredAt: string;
  /** One line for humans. */
  summary: string;
  /** Detail lines (workloads, reminders…), at most a few dozen. */
  lines?: string[];
  data?: Record<string, unknown>;
}

export type WebhookFormat = "generic" | "slack";

export function renderPayload(format: WebhookFormat, n: Notification): Record<string, unknown> {
  if (format === "slack") {
    const lines = (n.lines ?? []).slice(0, 20);
    const more = (n.lines?.length ?? 0) - lines.length;
    const text = [`*Signet* — ${n.summary}`, ...lines.map((l) => `• ${l}`), ...(more > 0 ? [`… and ${more} more`] : [])].join("\n");
    return { text, blocks: [{ type: "section", text: { type: "mrkdwn", text } }] };
  }
  return { source: "signet", event: n.event, occurredAt: n.occurredAt, summary: n.summary, lines: n.lines ?? [], data: n.data ?? {} };
}

/** What the API shows of a webhook URL: scheme and host, never the path or query (they hold tokens). */
export function urlHint(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}/…`;
}
