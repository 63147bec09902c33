import { parseArgs } from "node:util";
import type { Command } from "@/cli/commands/types";
import { databaseUrl } from "@/cli/commands/database";
import { createBoss, ensureQueues, sendJob } from "@/lib/jobs/boss";
import { diagnosticsPing } from "@/lib/jobs/definitions/diagnostics";

export const jobs: Command = {
  name: "jobs",
  usage: "jobs ping [--timeout S]",
  summary: "send a diagnostic job and wait until a worker completes it",
  async run(args) {
    const { values, positionals } = parseArgs({ args, options: { timeout: { type: "string", default: "30" } }, allowPositionals: true });
    if (positionals[0] !== "ping") {
      process.stderr.write("signet jobs: expected `ping`\n");
      return 64;
    }
    const url = await databaseUrl("jobs");
    if (url === undefined) return 2;
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
