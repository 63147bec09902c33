import { parseArgs } from "node:util";
import { withDatabase } from "@/cli/commands/database";
import type { Command } from "@/cli/commands/types";
import { getInventory } from "@/lib/trust/inventory";
import { getReminders } from "@/lib/trust/load-reminders";

const HELP = `Lists every authority (stored keys and identities, and those embedded in policies) with its
status, owner, rotate-by date, live usage (running containers / images / namespaces verified through
it), the re-sign list of retiring keys, and the reminders due.

Options:
  --json        machine-readable output
  --tz ZONE     dates of reminders in this IANA time zone (default UTC)

Exit codes: 0 listed, 1 a reminder is overdue, 2 the database could not be read, 64 usage.`;

export const keys: Command = {
  name: "keys",
  usage: "keys [--json] [--tz ZONE]",
  summary: "authority inventory with usage, due dates and reminders",
  help: HELP,
  async run(args) {
    let opts: { json?: boolean; tz?: string };
    try {
      opts = parseArgs({ args, options: { json: { type: "boolean" }, tz: { type: "string" } }, strict: true }).values;
    } catch (err) {
      process.stderr.write(`signet keys: ${(err as Error).message}\n`);
      return 64;
    }
    return withDatabase("keys", async (db) => {
      const [inventory, reminders] = await Promise.all([getInventory(db), getReminders(db, { timeZone: opts.tz })]);
      const overdue = reminders.some((r) => r.severity === "overdue");
      if (opts.json) {
        process.stdout.write(JSON.stringify({ authorities: inventory, reminders }, null, 2) + "\n");
        return overdue ? 1 : 0;
      }
      const rows = inventory.map((e) => [
        e.name,
        e.kind,
        e.status,
        e.kind === "key" ? (e.fingerprint ?? "?").slice(0, 23) : e.identities.map((i) => i.subject).join(","),
        e.source,
        e.owner ?? "-",
        e.rotateBy?.slice(0, 10) ?? "-",
        `${e.usage.containers}/${e.usage.images}/${e.usage.namespaces}`,
        e.resign ? `${e.resign.list.length}${e.resign.safety.safe ? " (safe to retire)" : ""}` : "-",
      ]);
      const head = ["AUTHORITY", "KIND", "STATUS", "KEY / IDENTITY", "SOURCE", "OWNER", "ROTATE BY", "CONT/IMG/NS", "RE-SIGN"];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      for (const r of [head, ...rows]) process.stdout.write(r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd() + "\n");
      if (inventory.length === 0) process.stdout.write("(no authorities)\n");
      for (const e of inventory.filter((x) => x.resign && x.resign.list.length)) {
        process.stdout.write(`\nre-sign list of ${e.name}:\n`);
        for (const i of e.resign!.list) process.stdout.write(`  ${i.image}@${i.digest}  ${i.workloads.join(", ")}\n`);
      }
      if (reminders.length) {
        process.stdout.write(`\nreminders (${opts.tz ?? "UTC"}):\n`);
        for (const r of reminders) process.stdout.write(`  ${r.severity === "overdue" ? "OVERDUE " : "due soon"}  ${r.dueDate}  ${r.message}\n`);
      }
      return overdue ? 1 : 0;
    });
  },
};
