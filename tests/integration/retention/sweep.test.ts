import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listScanItems } from "@/lib/data/scans";
import { createDb, type Db } from "@/lib/db/client";
import { scanItemsQuery } from "@/lib/dto/drilldown";
import { allJobs } from "@/lib/jobs/definitions";
import { loadActivePolicies } from "@/lib/policy/store";
import { sweepRetention } from "@/lib/retention/sweep";
import { evaluateImage } from "@/lib/scan/evaluate-image";
import { writeCoverageSnapshot } from "@/lib/scan/snapshot";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { seedInventory } from "@/tests/support/inventory";
import { saveKeyPolicy } from "@/tests/support/policies";

const PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const d = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
const DAY = 86_400_000;

/**
 * Retention (lib/retention, ADR 0028): the items of scans finished past the keep time and the pods gone
 * past theirs are removed, with the containers and verdicts of those pods; nothing live or recent is,
 * the audit log keeps every event, and the coverage of what runs does not move.
 */
describe("retention sweep", () => {
  let tdb: TestDatabase;
  let db: Db;
  const now = new Date("2026-12-07T12:00:00Z");
  let seeded: Awaited<ReturnType<typeof seedInventory>>;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
    seeded = await seedInventory(db, {
      cluster: "prod",
      namespaces: [
        {
          name: "pay",
          pods: [
            // two containers each: a pod's removal takes every container of it
            { name: "gone-long-ago", containers: [{ name: "a", image: `ghcr.io/acme/old@${d(1)}` }, { name: "b", image: `ghcr.io/acme/shared@${d(9)}` }] },
            { name: "gone-lately", containers: [{ name: "a", image: `ghcr.io/acme/late@${d(2)}` }] },
            { name: "live", containers: [{ name: "a", image: `ghcr.io/acme/shared@${d(9)}` }] },
          ],
        },
      ],
    });
    await saveKeyPolicy(db, PEM, { namespaces: ["pay"] });
    const policies = await loadActivePolicies(db);
    for (const imageId of seeded.images.values()) {
      await evaluateImage(db, { imageId, facts: [], discovery: { outcome: "none" }, policies, now: new Date(now.getTime() - 40 * DAY), trigger: "scan" });
    }
    await db.pod.update({ where: { id: (await db.pod.findFirstOrThrow({ where: { name: "gone-long-ago" } })).id }, data: { deletedAt: new Date(now.getTime() - 31 * DAY) } });
    await db.pod.update({ where: { id: (await db.pod.findFirstOrThrow({ where: { name: "gone-lately" } })).id }, data: { deletedAt: new Date(now.getTime() - 2 * DAY) } });
    const images = [...seeded.images.values()];
    const scan = async (status: "succeeded" | "failed" | "running", finishedDaysAgo: number | null, items: number) =>
      db.scan.create({
        data: {
          status,
          total: items,
          done: items,
          finishedAt: finishedDaysAgo === null ? null : new Date(now.getTime() - finishedDaysAgo * DAY),
          items: { create: images.slice(0, items).map((imageId) => ({ imageId, status: "done" })) },
        },
      });
    await scan("succeeded", 8, 3);
    await scan("failed", 7.5, 2);
    await scan("succeeded", 1, 3);
    // started long ago and never finished (a sweep re-sends its work): its items are its progress
    await scan("running", null, 1);
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("is a job every worker runs, hourly", () => {
    const job = allJobs.find((j) => j.name === "retention.sweep");
    expect(job?.cron).toBe("23 * * * *");
  });

  it("removes what is past its keep time, in bounded statements, and nothing else", async () => {
    const before = await writeCoverageSnapshot(db, new Date(now.getTime() - DAY));
    const events = await db.verificationEvent.count();
    const oldContainers = await db.container.findMany({ where: { pod: { name: "gone-long-ago" } }, select: { id: true } });
    expect(oldContainers).toHaveLength(2);
    expect(await db.verdict.count({ where: { containerId: { in: oldContainers.map((c) => c.id) } } })).toBe(2);

    // two rows a statement, at most two statements of each kind: the backlog is left to the next sweep
    const first = await sweepRetention(db, { now, scanItemsKeepDays: 7, gonePodsKeepDays: 30, chunk: 2, maxStatements: 2 });
    expect(first).toEqual({ scans: 1, scanItems: 3, pods: 1, more: true });
    const second = await sweepRetention(db, { now, scanItemsKeepDays: 7, gonePodsKeepDays: 30, chunk: 2, maxStatements: 2 });
    expect(second).toEqual({ scans: 1, scanItems: 2, pods: 0, more: false });
    expect(await sweepRetention(db, { now, scanItemsKeepDays: 7, gonePodsKeepDays: 30 })).toEqual({ scans: 0, scanItems: 0, pods: 0, more: false });

    const scans = await db.scan.findMany({ orderBy: { createdAt: "asc" }, include: { _count: { select: { items: true } } } });
    expect(scans.map((s) => [s.status, s._count.items, s.itemsRemovedAt?.toISOString() ?? null, s.total])).toEqual([
      ["succeeded", 0, now.toISOString(), 3],
      ["failed", 0, now.toISOString(), 2],
      ["succeeded", 3, null, 3],
      ["running", 1, null, 1],
    ]);
    // its page shows its figures and says the items went (no list behind the figures)
    const page = await listScanItems(db, scans[0]!.id, scanItemsQuery.parse({}));
    expect([page!.scan.itemsRemovedAt, page!.scan.total, page!.total]).toEqual([now.toISOString(), 3, 0]);
    // the pod gone 31 days ago went with its containers and their verdicts; the others stay
    expect((await db.pod.findMany({ orderBy: { name: "asc" } })).map((p) => p.name)).toEqual(["gone-lately", "live"]);
    expect(await db.container.count({ where: { id: { in: oldContainers.map((c) => c.id) } } })).toBe(0);
    expect(await db.verdict.count({ where: { containerId: { in: oldContainers.map((c) => c.id) } } })).toBe(0);
    expect(await db.verdict.count()).toBe(2);
    // its image (also run by the live pod) and the audit log stay
    expect(await db.image.count()).toBe(3);
    expect(await db.verificationEvent.count()).toBe(events);
    // what runs is covered as before
    const after = await writeCoverageSnapshot(db, now);
    expect(after.fleet).toMatchObject({ containersTotal: before.fleet.containersTotal, containersUnsigned: before.fleet.containersUnsigned });
    expect(after.fleet.containersTotal).toBe(1);
  });
});
