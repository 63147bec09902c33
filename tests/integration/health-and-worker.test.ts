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

  /** The full report, as a signed-in user and the log see it. */
  const details = async (workersSince?: Date) => {
    const [{ checkHealth }, { getDb }] = await Promise.all([import("@/lib/health/check"), import("@/lib/db/client")]);
    return checkHealth(getDb(), { staleSeconds: 3, workersSince });
  };

  it("answers 503 naming the worker when no worker runs, with the details only for signed-in users", async () => {
    const { status, body } = await health();
    expect(status).toBe(503);
    // anonymous callers see the verdicts only: no counts, migration names or error text
    expect(body).toEqual({ status: "unhealthy", checks: { database: { ok: true }, migrations: { ok: true }, worker: { ok: false } } });
    const report = await details();
    expect(report.checks.migrations).toMatchObject({ ok: true, pending: [] });
    expect(report.checks.worker).toEqual({ ok: false, workers: 0, lastBeatSecondsAgo: null, detail: "no worker has ever reported" });
  });

  it("does not count a heartbeat from before the web server started (a restart before the new worker runs)", async () => {
    const { getDb } = await import("@/lib/db/client");
    const db = getDb();
    const webStarted = new Date();
    // the stopped worker's last beat, one second before the restart: recent, but not since
    await db.workerHeartbeat.create({ data: { id: "previous-run", hostname: "h", pid: 1, startedAt: new Date(Date.now() - 60_000), beatAt: new Date(webStarted.getTime() - 1000) } });
    try {
      const before = await details(webStarted);
      expect(before.status).toBe("unhealthy");
      expect(before.checks.worker.detail).toMatch(/since this web server started/);
      // without the rule the same row would have passed
      expect((await details(new Date(0))).status).toBe("ok");
      await db.workerHeartbeat.update({ where: { id: "previous-run" }, data: { beatAt: new Date() } });
      expect((await details(webStarted)).status).toBe("ok");
    } finally {
      await db.workerHeartbeat.delete({ where: { id: "previous-run" } });
    }
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
    expect((await details()).checks.worker.detail).toMatch(/no heartbeat for \d+ s/);
  });
});
