import pg from "pg";
import type { Command } from "@/cli/commands/types";
import { databaseUrl } from "@/cli/commands/database";
import { applyMigrations, getMigrationStatus } from "@/lib/db/migrate";

export const db: Command = {
  name: "db",
  usage: "db <status|migrate>",
  summary: "show or apply database migrations",
  async run(args) {
    const url = await databaseUrl("db");
    if (url === undefined) return 2;
    if (args[0] === "migrate") {
      const applied = await applyMigrations(url);
      process.stdout.write(applied.length ? `applied: ${applied.join(", ")}\n` : "nothing to apply\n");
      return 0;
    }
    if (args[0] !== "status") {
      process.stderr.write("signet db: expected `status` or `migrate`\n");
      return 64;
    }
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const s = await getMigrationStatus(client);
      process.stdout.write(
        `applied: ${s.applied.length}\npending: ${s.pending.join(", ") || "none"}\nfailed: ${s.failed.join(", ") || "none"}\n` +
          (s.modified.length ? `modified or unknown: ${s.modified.join(", ")}\n` : ""),
      );
      return s.pending.length || s.failed.length ? 1 : 0;
    } finally {
      await client.end();
    }
  },
};
