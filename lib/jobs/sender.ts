import "server-only";
import type { PgBoss } from "pg-boss";
import type { z } from "zod";
import { getEnv } from "@/lib/env";
import { createBoss, ensureQueues, sendJob } from "@/lib/jobs/boss";
import type { JobDefinition } from "@/lib/jobs/registry";
import { childLogger } from "@/lib/log";

const log = childLogger("job-sender");
let boss: Promise<PgBoss> | undefined;
const ensured = new Set<string>();

/**
 * One small pg-boss client per process (the web), for sending jobs only; started on first use, and
 * started again on the next send if starting failed. The worker processes what it sends.
 */
function getSenderBoss(): Promise<PgBoss> {
  boss ??= (async () => {
    const url = getEnv().DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set");
    const b = createBoss(url, { max: 2 });
    b.on("error", (err) => log.warn({ err }, "pg-boss client error"));
    await b.start();
    return b;
  })().catch((err: unknown) => {
    boss = undefined;
    throw err;
  });
  return boss;
}

/** Sends a job (creating its queue first if no worker has yet), with the job's deterministic key. */
export async function sendFromWeb<S extends z.ZodType>(job: JobDefinition<S>, payload: z.input<S>): Promise<string | null> {
  const b = await getSenderBoss();
  if (!ensured.has(job.name)) {
    await ensureQueues(b, [job as unknown as JobDefinition]);
    ensured.add(job.name);
  }
  return sendJob(b, job, payload);
}

/** Stops the sender's pg-boss client (tests, shutdown). */
export async function stopSender(): Promise<void> {
  const b = boss;
  boss = undefined;
  ensured.clear();
  if (b) await (await b.catch(() => undefined))?.stop({ graceful: false });
}
