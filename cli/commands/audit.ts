import type { Command } from "@/cli/commands/types";
import { verifyAuditChain } from "@/lib/audit/store";
import { createDb } from "@/lib/db/client";
import { locateDatabaseUrl } from "@/lib/db/locate";
import { checkDatabase } from "@/lib/db/preflight";
import { getEnv } from "@/lib/env";

export const audit: Command = {
  name: "audit",
  usage: "audit verify",
  summary: "check the audit log's hash chain and name the first broken row",
  help: "Exit codes: 0 the chain is intact, 1 it is broken (the first broken row is named), 2 the database could not be read.",
  async run(args) {
    if (args[0] !== "verify") {
      process.stderr.write("signet audit: expected `verify`\n");
      return 64;
    }
    let url: string;
    try {
      url = await locateDatabaseUrl(getEnv());
      await checkDatabase(url);
    } catch (err) {
      process.stderr.write(`signet audit: ${(err as Error).message}\n`);
      return 2;
    }
    const db = createDb(url, 2);
    try {
      const result = await verifyAuditChain(db);
      if (result.ok) {
        process.stdout.write(`audit chain intact: ${result.checked} events, head ${result.lastHash}\n`);
        return 0;
      }
      const why = result.reason === "prev-hash" ? "its previous-hash link does not match the row before it" : "its content does not match its hash";
      process.stdout.write(`audit chain BROKEN at event seq ${result.brokenAt}: ${why} (${result.checked} events before it verified)\n`);
      return 1;
    } finally {
      await db.$disconnect();
    }
  },
};
