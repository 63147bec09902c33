import type { Logger } from "pino";
import type { QueueOptions, QueuePolicy } from "pg-boss";
import type { z } from "zod";
import type { Db } from "@/lib/db/client";

/** What a handler receives besides its payload. */
export interface JobContext {
  jobId: string;
  /** 0 on the first attempt. */
  retryCount: number;
  db: Db;
  log: Logger;
  signal: AbortSignal;
  /** Enqueue follow-up work (validated against the target job's schema). */
  enqueue: <S extends z.ZodType>(job: JobDefinition<S>, payload: z.input<S>) => Promise<string | null>;
  /** Enqueue many jobs of one definition in one statement. */
  enqueueMany: <S extends z.ZodType>(job: JobDefinition<S>, payloads: ReadonlyArray<z.input<S>>) => Promise<number>;
}

/**
 * A job is data: a name, a zod payload schema, queue options and an idempotent handler. Handlers must
 * tolerate being run twice for the same payload (a worker can die after doing the work and before
 * acknowledging it), typically by skipping when the target row is already in the wanted state.
 */
export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  name: string;
  schema: S;
  queue?: QueueOptions & { policy?: QueuePolicy; notify?: boolean };
  /** Deterministic key. With queue policy "short", a send while a job with the same key is queued collapses into it. */
  key?: (payload: z.output<S>) => string;
  /** Every send waits this long before the job may start (a debounce, with a key and policy "short"). */
  startAfterSeconds?: number;
  /** Parallel executions per worker process. */
  concurrency?: number;
  /** Cron expression: the worker schedules the job (payload `{}`) once across all workers. */
  cron?: string;
  handler: (payload: z.output<S>, ctx: JobContext) => Promise<unknown>;
}

export function defineJob<S extends z.ZodType>(def: JobDefinition<S>): JobDefinition<S> {
  if (!/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/.test(def.name)) {
    throw new Error(`job name "${def.name}" must be dotted lower-case words`);
  }
  return def;
}
