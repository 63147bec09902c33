import { NextRequest } from "next/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { spawnTs, waitFor, type Spawned } from "@/tests/support/process";
import { createBoss, ensureQueues, sendJob } from "@/lib/jobs/boss";
import { diagnosticsPing } from "@/lib/jobs/definitions/diagnostics";

/**
 * The health route, called as Next calls it, against a real database and a real worker process.
 */
describe("health route and worker process", () => {
  let db: TestDatabase;
  let GET: (req: NextRequest) => Promise<Response>;
  let worker: Spawned | undefined;

  const health = async () => {
    const res = await GET(new NextRequest("http://localhost/api/health"));
    return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, { ok: boolean; detail: string }> } };
  };
  const startWorker = () =>
    spawnTs("scripts/worker.ts", [], { DATABASE_URL: db.url, SIGNET_HEARTBEAT_SECONDS: "1", LOG_LEVEL: "warn" });

  beforeAll(async () => {
    db = await createTestDatabase();
    process.env.DATABASE_URL = db.url;
    process.env.SIGNET_HEARTBEAT_STALE_SECONDS = "3";
    // Modules imported above may have parsed the environment already.
    (await import("@/lib/env")).resetEnvCache();
    ({ GET } = await import("@/app/api/health/route"));
  });
  afterAll(async () => {
    worker?.proc.kill("SIGKILL");
    const { getDb } = await import("@/lib/db/client");
    await getDb().$disconnect();
    await db?.drop();
  });

  it("answers 503 naming the worker when no worker runs", async () => {
    const { status, body } = await health();
    expect(status).toBe(503);
    expect(body.status).toBe("unhealthy");
    expect(body.checks.database?.ok).toBe(true);
    expect(body.checks.migrations?.ok).toBe(true);
    expect(body.checks.worker).toEqual({ ok: false, workers: 0, lastBeatSecondsAgo: null, detail: "no worker has ever reported" });
  });

  it("answers 200 once a worker runs, and the worker processes an enqueued job", async () => {
    worker = startWorker();
    const ok = await waitFor(async () => ((await health()).status === 200 ? true : undefined), 30_000, "health 200");
    expect(ok).toBe(true);

    const boss = createBoss(db.url, { max: 2 });
    await boss.start();
    try {
      await ensureQueues(boss, [diagnosticsPing]);
      const id = await sendJob(boss, diagnosticsPing, { nonce: "integration-1" });
      expect(id).toBeTruthy();
      const job = await waitFor(
        async () => {
          const [j] = await boss.findJobs<{ nonce: string }>(diagnosticsPing.name, { id: id! });
          return j && ["completed", "failed"].includes(j.state) ? j : undefined;
        },
        30_000,
        "job completion",
      );
      expect(job.state).toBe("completed");
      expect(job.output).toMatchObject({ nonce: "integration-1", worker: worker.proc.pid });
      // the payload schema is enforced before anything reaches the queue
      await expect(sendJob(boss, diagnosticsPing, { nonce: "" })).rejects.toThrow();
    } finally {
      await boss.stop({ graceful: false });
    }
  });

  it("answers 503 again after the worker stops cleanly, and after it is killed", async () => {
    worker!.proc.kill("SIGTERM");
    const exit = await worker!.exited;
    expect(exit.code).toBe(0);
    const afterStop = await health();
    expect(afterStop.status).toBe(503);

    worker = startWorker();
    await waitFor(async () => ((await health()).status === 200 ? true : undefined), 30_000, "health 200 again");
    worker.proc.kill("SIGKILL");
    await worker.exited;
    // no clean shutdown: the heartbeat goes stale after SIGNET_HEARTBEAT_STALE_SECONDS
    const stale = await waitFor(async () => {
      const h = await health();
      return h.status === 503 ? h : undefined;
    }, 15_000, "stale heartbeat");
    expect(stale.body.checks.worker?.detail).toMatch(/no heartbeat for \d+ s/);
  });
});
