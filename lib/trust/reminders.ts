/**
 * Reminders, pure: rotate-by dates and validity ends of authorities, expiry of trusted-root material
 * (Fulcio CAs, Rekor and CT log keys, TSAs), and keyless certificates of running images that expired
 * with no transparency-log time to vouch for them. The clock and the reader's time zone are passed in;
 * "days left" counts calendar days in that time zone.
 */

export type ReminderKind = "rotate-by" | "authority-expiry" | "trust-root-expiry" | "certificate-expired-no-tlog";
export type ReminderSeverity = "overdue" | "due-soon";

export interface Reminder {
  /** Stable id (the same item gives the same id on every run), e.g. "rotate-by:stored:ci". */
  id: string;
  kind: ReminderKind;
  severity: ReminderSeverity;
  subject: string;
  dueAt: string;
  /** The due date as a calendar date (YYYY-MM-DD) in the reader's time zone. */
  dueDate: string;
  /** Calendar days from today to the due date in the reader's time zone (negative: past). */
  daysLeft: number;
  message: string;
}

export interface AuthorityDates {
  key: string;
  name: string;
  status: "active" | "retiring" | "revoked";
  rotateBy: Date | null;
  validUntil: Date | null;
}

export interface TrustRootItem {
  root: string;
  kind: "fulcio" | "rekor" | "ctlog" | "tsa";
  /** e.g. the CA's common name or the log's URL. */
  label: string;
  start: Date | null;
  end: Date | null;
}

export interface KeylessCertificate {
  imageName: string;
  digest: string;
  identity: string;
  issuer: string;
  notAfter: Date;
  /** Transparency-log time (or a verified timestamp): proves signing inside the certificate's validity. */
  integratedTime: Date | null;
}

export interface ReminderInput {
  now: Date;
  /** IANA zone of the reader, e.g. "Europe/Berlin" (default UTC). */
  timeZone?: string;
  /** Remind this many days ahead. */
  reminderDays: number;
  authorities?: AuthorityDates[];
  trustRoots?: TrustRootItem[];
  certificates?: KeylessCertificate[];
}

/** The calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function calendarDate(at: Date, timeZone = "UTC"): string {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** Calendar days from `now` to `due` as seen in `timeZone` (0: due today, negative: past). */
export function daysUntil(due: Date, now: Date, timeZone = "UTC"): number {
  const d = (s: string) => Date.parse(`${s}T00:00:00Z`);
  return Math.round((d(calendarDate(due, timeZone)) - d(calendarDate(now, timeZone))) / 86_400_000);
}

function reminder(
  input: ReminderInput,
  base: { id: string; kind: ReminderKind; subject: string; due: Date },
  describe: (when: string, overdue: boolean) => string,
): Reminder | null {
  const tz = input.timeZone ?? "UTC";
  const overdue = base.due.getTime() <= input.now.getTime();
  const daysLeft = daysUntil(base.due, input.now, tz);
  if (!overdue && daysLeft > input.reminderDays) return null;
  const dueDate = calendarDate(base.due, tz);
  const when = overdue ? (daysLeft === 0 ? "today" : `${-daysLeft} day${daysLeft === -1 ? "" : "s"} ago (${dueDate})`) : daysLeft === 0 ? "today" : `in ${daysLeft} day${daysLeft === 1 ? "" : "s"} (${dueDate})`;
  return {
    id: base.id,
    kind: base.kind,
    severity: overdue ? "overdue" : "due-soon",
    subject: base.subject,
    dueAt: base.due.toISOString(),
    dueDate,
    daysLeft,
    message: describe(when, overdue),
  };
}

export function computeReminders(input: ReminderInput): Reminder[] {
  const out: Reminder[] = [];
  for (const a of input.authorities ?? []) {
    if (a.status === "revoked") continue;
    if (a.rotateBy) {
      const r = reminder(input, { id: `rotate-by:${a.key}`, kind: "rotate-by", subject: a.name, due: a.rotateBy }, (when, overdue) =>
        overdue ? `${a.name} was due for rotation ${when}` : `${a.name} is due for rotation ${when}`,
      );
      if (r) out.push(r);
    }
    if (a.validUntil) {
      const r = reminder(input, { id: `authority-expiry:${a.key}`, kind: "authority-expiry", subject: a.name, due: a.validUntil }, (when, overdue) =>
        overdue ? `${a.name} stopped being valid ${when}: signatures made after that fail` : `${a.name} stops being valid ${when}`,
      );
      if (r) out.push(r);
    }
  }
  // Trusted roots keep expired historical entries on purpose (old signatures still verify against them):
  // an expired entry is only a problem when nothing of its kind in that root is valid now.
  const roots = input.trustRoots ?? [];
  for (const item of roots) {
    if (!item.end) continue;
    const expired = item.end.getTime() <= input.now.getTime();
    if (expired) {
      const replaced = roots.some(
        (o) => o !== item && o.root === item.root && o.kind === item.kind && (o.start === null || o.start <= input.now) && (o.end === null || o.end > input.now),
      );
      if (replaced) continue;
    }
    const name = { fulcio: "Fulcio CA", rekor: "Rekor log key", ctlog: "CT log key", tsa: "timestamp authority" }[item.kind];
    const r = reminder(input, { id: `trust-root-expiry:${item.root}:${item.kind}:${item.label}`, kind: "trust-root-expiry", subject: `${item.root}: ${name} ${item.label}`, due: item.end }, (when, overdue) =>
      overdue ? `${name} ${item.label} in trusted root ${item.root} expired ${when} and nothing replaces it` : `${name} ${item.label} in trusted root ${item.root} expires ${when}`,
    );
    if (r) out.push(r);
  }
  for (const c of input.certificates ?? []) {
    if (c.integratedTime || c.notAfter.getTime() > input.now.getTime()) continue;
    const r = reminder(
      input,
      { id: `certificate-expired-no-tlog:${c.imageName}@${c.digest}:${c.identity}`, kind: "certificate-expired-no-tlog", subject: `${c.imageName}@${c.digest.slice(0, 19)}`, due: c.notAfter },
      (when) => `the signing certificate of ${c.imageName}@${c.digest.slice(0, 19)} (${c.identity}) expired ${when} and no transparency-log entry proves it was signed in time`,
    );
    if (r) out.push(r);
  }
  return out.sort((a, b) => Date.parse(a.dueAt) - Date.parse(b.dueAt) || a.id.localeCompare(b.id));
}
