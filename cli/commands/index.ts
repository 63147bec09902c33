import { parseArgs } from "node:util";
import { getEnv } from "@/lib/env";
import { locateDatabaseUrl } from "@/lib/db/locate";
import { applyMigrations, getMigrationStatus } from "@/lib/db/migrate";
import { checkDatabase } from "@/lib/db/preflight";
import { createBoss, ensureQueues, sendJob } from "@/lib/jobs/boss";
import { diagnosticsPing } from "@/lib/jobs/definitions/diagnostics";
import pg from "pg";

export interface Command {
  name: string;
  usage: string;
  summary: string;
  help?: string;
  run(args: string[]): Promise<number>;
}

const db: Command = {
  name: "db",
  usage: "db <status|migrate>",
  summary: "show or apply database migrations",
  async run(args) {
    const url = await locateDatabaseUrl(getEnv());
    await checkDatabase(url);
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

const jobs: Command = {
  name: "jobs",
  usage: "jobs ping [--timeout S]",
  summary: "send a diagnostic job and wait until a worker completes it",
  async run(args) {
    const { values, positionals } = parseArgs({ args, options: { timeout: { type: "string", default: "30" } }, allowPositionals: true });
    if (positionals[0] !== "ping") {
      process.stderr.write("signet jobs: expected `ping`\n");
      return 64;
    }
    const url = await locateDatabaseUrl(getEnv());
    const boss = createBoss(url, { max: 2 });
    boss.on("error", () => undefined);
    await boss.start();
    try {
      await ensureQueues(boss, [diagnosticsPing]);
      const nonce = `cli-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      const id = await sendJob(boss, diagnosticsPing, { nonce });
      if (!id) throw new Error("the job was not accepted");
      const deadline = Date.now() + Number(values.timeout) * 1000;
      while (Date.now() < deadline) {
        const [job] = await boss.findJobs(diagnosticsPing.name, { id });
        if (job?.state === "completed") {
          process.stdout.write(`completed by a worker: ${JSON.stringify(job.output)}\n`);
          return 0;
        }
        if (job?.state === "failed") {
          process.stderr.write(`the job failed: ${JSON.stringify(job.output)}\n`);
          return 1;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      process.stderr.write(`no worker completed the job within ${values.timeout} s (is a worker running?)\n`);
      return 1;
    } finally {
      await boss.stop({ graceful: false });
    }
  },
};

export const commands: Command[] = [db, jobs];
