import "server-only";
import { PgBoss } from "pg-boss";
import type { z } from "zod";
import type { JobDefinition } from "@/lib/jobs/registry";

export const BOSS_SCHEMA = "pgboss";

export function createBoss(url: string, opts: { supervise?: boolean; schedule?: boolean; max?: number; listen?: boolean } = {}): PgBoss {
  return new PgBoss({
    connectionString: url,
    schema: BOSS_SCHEMA,
    application_name: "signet",
    max: opts.max ?? 5,
    supervise: opts.supervise ?? false,
    schedule: opts.schedule ?? false,
    // workers LISTEN: a job sent to a `notify` queue from any process wakes them at once
    useListenNotify: opts.listen ?? false,
    migrate: true,
    // An idle worker's background statements (docs/decisions/0020-idle-worker.md): Signet's cron
    // schedules are per minute or hour, so the cron occurrences are sent within 15 s (default 5 s);
    // Signet sends no flows (dependent jobs), so their resolution pass runs every minute (default 5 s).
    cronWorkerIntervalSeconds: 15,
    flowIntervalSeconds: 60,
  });
}

/**
 * Creates (or updates) the queue of each job with its declared options. Every queue announces new
 * jobs (`notify`: a NOTIFY in the sending transaction wakes the workers that LISTEN), so that idle
 * workers can poll rarely (lib/jobs/worker.ts); a queue created before this is switched over.
 */
export async function ensureQueues(boss: PgBoss, jobs: JobDefinition[]): Promise<void> {
  const existing = new Map((await boss.getQueues()).map((q) => [q.name, q]));
  for (const job of jobs) {
    const { policy, ...declared } = job.queue ?? {};
    const options = { notify: true, ...declared };
    const queue = existing.get(job.name);
    if (!queue) {
      await boss.createQueue(job.name, { policy: policy ?? "standard", ...options });
    } else if (Object.entries(options).some(([k, v]) => (queue as unknown as Record<string, unknown>)[k] !== v)) {
      await boss.updateQueue(job.name, options);
    }
  }
}

/** Validates the payload against the job's schema, then sends it with the job's deterministic key. */
export async function sendJob<S extends z.ZodType>(
  boss: PgBoss,
  job: JobDefinition<S>,
  payload: z.input<S>,
  options: { startAfter?: number | Date } = {},
): Promise<string | null> {
  const data = job.schema.parse(payload) as object;
  return boss.send(job.name, data, {
    singletonKey: job.key?.(data as z.output<S>),
    startAfter: options.startAfter ?? job.startAfterSeconds,
  });
}

/**
 * Sends many jobs of one definition in one statement (pg-boss `insert`, ON CONFLICT DO NOTHING):
 * each payload is validated and keyed as sendJob does, so a job whose key is already queued under a
 * "short" policy collapses into it just the same. Returns how many were sent.
 */
export async function sendJobs<S extends z.ZodType>(boss: PgBoss, job: JobDefinition<S>, payloads: ReadonlyArray<z.input<S>>): Promise<number> {
  if (payloads.length === 0) return 0;
  const jobs = payloads.map((payload) => {
    const data = job.schema.parse(payload) as object;
    const singletonKey = job.key?.(data as z.output<S>);
    const startAfter = job.startAfterSeconds ? new Date(Date.now() + job.startAfterSeconds * 1000) : undefined;
    return { data, ...(singletonKey ? { singletonKey } : {}), ...(startAfter ? { startAfter } : {}) };
  });
  for (let i = 0; i < jobs.length; i += 500) await boss.insert(job.name, jobs.slice(i, i + 500));
  return jobs.length;
}
