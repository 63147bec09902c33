import { describe, expect, it } from "vitest";
import { readPublicGoodSeedBytes } from "@/lib/sigstore/trusted-root";
import { calendarDate, computeReminders, daysUntil, type AuthorityDates } from "@/lib/trust/reminders";
import { trustRootItems } from "@/lib/trust/trust-roots";

const D = (s: string) => new Date(s);
const key = (rotateBy: string | null, extra: Partial<AuthorityDates> = {}): AuthorityDates => ({
  key: "stored:ci",
  name: "ci",
  status: "active",
  rotateBy: rotateBy ? D(rotateBy) : null,
  validUntil: null,
  ...extra,
});

describe("reminder dates across time zones", () => {
  // 23:00 UTC on Nov 29 is 18:00 in New York (Nov 29) and 08:00 in Tokyo (Nov 30)
  const now = D("2026-11-29T23:00:00Z");
  const due = D("2026-12-01T02:00:00Z"); // Nov 30 21:00 in New York, Dec 1 11:00 in Tokyo

  it("counts calendar days in the reader's zone", () => {
    expect(calendarDate(due, "UTC")).toBe("2026-12-01");
    expect(calendarDate(due, "America/New_York")).toBe("2026-11-30");
    expect(daysUntil(due, now, "UTC")).toBe(2);
    expect(daysUntil(due, now, "America/New_York")).toBe(1);
    expect(daysUntil(due, now, "Asia/Tokyo")).toBe(1);
    expect(daysUntil(due, now, "Pacific/Kiritimati")).toBe(1); // UTC+14: Nov 30 13:00 → Dec 1 16:00
  });

  it("reports the same instant with the zone's date and day count", () => {
    const at = (timeZone: string) => computeReminders({ now, timeZone, reminderDays: 30, authorities: [key(due.toISOString())] })[0]!;
    expect(at("UTC")).toMatchObject({ id: "rotate-by:stored:ci", kind: "rotate-by", severity: "due-soon", dueDate: "2026-12-01", daysLeft: 2, dueAt: due.toISOString() });
    expect(at("UTC").message).toBe("ci is due for rotation in 2 days (2026-12-01)");
    expect(at("America/New_York")).toMatchObject({ dueDate: "2026-11-30", daysLeft: 1 });
    expect(at("America/New_York").message).toBe("ci is due for rotation in 1 day (2026-11-30)");
  });

  it("honours the reminder window at its edge", () => {
    const n = D("2026-01-01T12:00:00Z");
    expect(computeReminders({ now: n, reminderDays: 30, authorities: [key("2026-01-31T09:00:00Z")] })).toHaveLength(1);
    expect(computeReminders({ now: n, reminderDays: 30, authorities: [key("2026-02-01T09:00:00Z")] })).toHaveLength(0);
    expect(computeReminders({ now: n, reminderDays: 31, authorities: [key("2026-02-01T09:00:00Z")] })).toHaveLength(1);
  });
});

describe("already expired items", () => {
  const now = D("2026-03-10T08:00:00Z");

  it("marks past rotate-by and validity dates overdue with negative days", () => {
    const r = computeReminders({ now, reminderDays: 14, authorities: [key("2026-03-07T10:00:00Z", { validUntil: D("2026-03-10T07:00:00Z") })] });
    expect(r.map((x) => [x.kind, x.severity, x.daysLeft])).toEqual([
      ["rotate-by", "overdue", -3],
      ["authority-expiry", "overdue", 0],
    ]);
    expect(r[0]!.message).toBe("ci was due for rotation 3 days ago (2026-03-07)");
    expect(r[1]!.message).toContain("stopped being valid today");
  });

  it("a few hours ahead today is still due soon, revoked authorities are not reminded", () => {
    expect(computeReminders({ now, reminderDays: 14, authorities: [key("2026-03-10T20:00:00Z")] })[0]).toMatchObject({ severity: "due-soon", daysLeft: 0 });
    expect(computeReminders({ now, reminderDays: 14, authorities: [key("2026-03-01T00:00:00Z", { status: "revoked" })] })).toEqual([]);
  });

  it("trusted-root material: expired and replaced is history, expired alone is overdue, soon is due", () => {
    const r = computeReminders({
      now,
      reminderDays: 30,
      trustRoots: [
        { root: "corp", kind: "fulcio", label: "old-ca", start: D("2024-01-01T00:00:00Z"), end: D("2025-01-01T00:00:00Z") },
        { root: "corp", kind: "fulcio", label: "new-ca", start: D("2025-01-01T00:00:00Z"), end: null },
        { root: "corp", kind: "tsa", label: "tsa-1", start: D("2024-01-01T00:00:00Z"), end: D("2026-02-01T00:00:00Z") },
        { root: "corp", kind: "rekor", label: "https://rekor.corp", start: D("2024-01-01T00:00:00Z"), end: D("2026-03-25T00:00:00Z") },
      ],
    });
    expect(r.map((x) => [x.subject, x.severity, x.daysLeft])).toEqual([
      ["corp: timestamp authority tsa-1", "overdue", -37],
      ["corp: Rekor log key https://rekor.corp", "due-soon", 15],
    ]);
  });

  it("keyless certificates that expired with no log time to vouch for them", () => {
    const cert = { imageName: "r.test/app", digest: `sha256:${"a".repeat(64)}`, identity: "ci@corp", issuer: "https://issuer", notAfter: D("2026-03-09T08:10:00Z") };
    const r = computeReminders({ now, reminderDays: 30, certificates: [{ ...cert, integratedTime: null }, { ...cert, identity: "logged@corp", integratedTime: D("2026-03-09T08:01:00Z") }, { ...cert, identity: "fresh@corp", notAfter: D("2026-03-10T08:05:00Z"), integratedTime: null }] });
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: "certificate-expired-no-tlog", severity: "overdue", daysLeft: -1 });
    expect(r[0]!.message).toContain("ci@corp");
  });

  it("the shipped public-good root yields Fulcio and Rekor items and nothing unreplaced overdue", () => {
    const items = trustRootItems("public-good", JSON.parse(readPublicGoodSeedBytes().toString("utf8")));
    expect(new Set(items.map((i) => i.kind))).toEqual(new Set(["fulcio", "rekor", "ctlog", "tsa"]));
    expect(items.some((i) => i.kind === "fulcio" && i.end !== null)).toBe(true);
    const r = computeReminders({ now: D("2026-06-01T00:00:00Z"), reminderDays: 30, trustRoots: items });
    expect(r.filter((x) => x.severity === "overdue")).toEqual([]);
  });
});
