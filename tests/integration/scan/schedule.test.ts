import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { createDb, type Db } from "@/lib/db/client";
import { scanStart, scanTick } from "@/lib/jobs/definitions/scan";
import type { JobContext } from "@/lib/jobs/registry";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";

/**
 * Several workers (or a tick that outlasts its minute) run scan.tick at the same time: the periodic
 * scan is decided under a lock, so exactly one is created and started.
 */
describe("scan.tick with several workers", () => {
  let tdb: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 10);
  }, 60_000);
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("eight ticks at once start one periodic scan", async () => {
    const sent: { job: string; payload: unknown }[] = [];
    const ctx = (i: number): JobContext => ({
      jobId: `tick-${i}`,
      retryCount: 0,
      db,
      log: pino({ level: "silent" }),
      signal: new AbortController().signal,
      enqueue: async (job, payload) => {
        sent.push({ job: job.name, payload });
        return `job-${sent.length}`;
      },
      enqueueMany: async (_job, payloads) => payloads.length,
    });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => scanTick.handler({}, ctx(i)) as Promise<{ started: string | null }>));
    const started = results.map((r) => r.started).filter((s) => s !== null);
    expect(started).toHaveLength(1);
    const scans = await db.scan.findMany();
    expect(scans).toHaveLength(1);
    expect(scans[0]).toMatchObject({ id: started[0], kind: "full", trigger: "schedule", status: "queued" });
    expect(sent).toEqual([{ job: scanStart.name, payload: { scanId: started[0] } }]);

    // the next ticks see it running: nothing new
    const again = (await scanTick.handler({}, ctx(9))) as { started: string | null };
    expect(again.started).toBeNull();
    expect(await db.scan.count()).toBe(1);
  });
});
