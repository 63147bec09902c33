import type { NextRequest } from "next/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { apiRequest, sessionCookieFor, useAuthEnv } from "@/tests/support/auth";

type Handler = (req: NextRequest) => Promise<Response>;

/** POST /api/scans ("scan now"): admin only, creates the scan and enqueues scan.start for the worker. */
describe("POST /api/scans", () => {
  let tdb: TestDatabase;
  let POST: Handler;
  const getDb = async () => (await import("@/lib/db/client")).getDb();

  beforeAll(async () => {
    tdb = await createTestDatabase();
    await useAuthEnv(tdb.url);
    ({ POST } = (await import("@/app/api/scans/route")) as unknown as { POST: Handler });
  });
  afterAll(async () => {
    await (await import("@/lib/jobs/sender")).stopSender();
    await (await getDb()).$disconnect();
    await tdb?.drop();
  });

  it("creates a full scan and queues scan.start; a cluster scan names a known cluster", async () => {
    const { cookie } = await sessionCookieFor("admin");
    const res = await POST(apiRequest("/api/scans", { method: "POST", cookie, body: {} }));
    expect(res.status).toBe(202);
    const body = (await res.json()) as { scanId: string; enqueued: boolean };
    expect(body.enqueued).toBe(true);
    const db = await getDb();
    expect(await db.scan.findUniqueOrThrow({ where: { id: body.scanId } })).toMatchObject({ kind: "full", status: "queued" });
    const jobs = await db.$queryRaw<{ data: { scanId: string } }[]>`SELECT data FROM pgboss.job WHERE name = 'scan.start'`;
    expect(jobs.map((j) => j.data.scanId)).toEqual([body.scanId]);

    await db.cluster.create({ data: { name: "prod-eu" } });
    const one = await POST(apiRequest("/api/scans", { method: "POST", cookie, body: { cluster: "prod-eu" } }));
    expect(one.status).toBe(202);
    const scan = await db.scan.findUniqueOrThrow({ where: { id: ((await one.json()) as { scanId: string }).scanId }, include: { cluster: true } });
    expect(scan).toMatchObject({ kind: "cluster", cluster: { name: "prod-eu" } });

    const unknown = await POST(apiRequest("/api/scans", { method: "POST", cookie, body: { cluster: "nope" } }));
    expect(unknown.status).toBe(404);
    expect(await db.cluster.count({ where: { name: "nope" } })).toBe(0);
  });

  it("refuses auditors and viewers (it changes state)", async () => {
    for (const role of ["auditor", "viewer"] as const) {
      const { cookie } = await sessionCookieFor(role);
      const res = await POST(apiRequest("/api/scans", { method: "POST", cookie, body: {} }));
      expect(res.status).toBe(403);
    }
  });
});
