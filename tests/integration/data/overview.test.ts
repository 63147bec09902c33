import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getOverview } from "@/lib/data/coverage";
import { createDb, type Db } from "@/lib/db/client";
import { writeCoverageSnapshot } from "@/lib/scan/snapshot";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { seedInventory } from "@/tests/support/inventory";

const d = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
const NOW = new Date("2026-12-07T12:00:00.000Z");
const ago = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);
type Value = "verified" | "failed" | "unsigned" | "error";

/**
 * The overview's lists beside its figures: the stale containers grouped by reason come from the same
 * coverage snapshot as the figures (not from the verdicts at read time), and the newest failures are
 * the newest failed / unsigned / unknown verdicts of running containers, merged from one read per value.
 */
describe("overview: stale groups from the snapshot, newest failures", () => {
  let tdb: TestDatabase;
  let db: Db;
  let east: Awaited<ReturnType<typeof seedInventory>>;
  let west: Awaited<ReturnType<typeof seedInventory>>;
  let policyId: string;

  const verdict = (containerId: string, value: Value, o: { lastKnown?: Value | null; reason?: string; changedAt: Date }) =>
    db.verdict.upsert({
      where: { containerId_policyId: { containerId, policyId } },
      create: {
        containerId,
        policyId,
        policyVersion: 1,
        value,
        lastKnownValue: o.lastKnown === undefined ? (value === "error" ? null : value) : o.lastKnown,
        reasons: o.reason ? [{ message: o.reason }] : [],
        changedAt: o.changedAt,
      },
      update: { value, lastKnownValue: o.lastKnown ?? null, reasons: o.reason ? [{ message: o.reason }] : [], changedAt: o.changedAt },
    });

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
    const pods = (prefix: string, n: number, from: number) =>
      Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i + 1}`, containers: [{ name: "app", image: `ghcr.io/acme/${prefix}${i + 1}@${d(from + i)}` }] }));
    east = await seedInventory(db, { cluster: "east", namespaces: [{ name: "a", pods: pods("p", 16, 1) }] });
    west = await seedInventory(db, { cluster: "west", namespaces: [{ name: "b", pods: pods("q", 2, 100) }] });
    policyId = (await db.policy.create({ data: { name: "release", mode: "enforce" } })).id;
    const c = (pod: string) => east.containers[`a/${pod}/app`]!;
    await verdict(c("p1"), "verified", { changedAt: ago(60) });
    await verdict(c("p2"), "failed", { reason: "signed by an untrusted key", changedAt: ago(5) });
    await verdict(c("p3"), "unsigned", { reason: "no signature", changedAt: ago(1) });
    // unknown: an error with nothing known before (listed among the failures, not stale)
    await verdict(c("p4"), "error", { reason: "registry unreachable", changedAt: ago(3) });
    // stale: errors with a last known value
    await verdict(c("p5"), "error", { lastKnown: "verified", reason: "network: ECONNREFUSED", changedAt: ago(10) });
    await verdict(c("p6"), "error", { lastKnown: "failed", reason: "network: ECONNREFUSED", changedAt: ago(20) });
    // p7..p15: failed at 7..15 minutes ago; p16: failed most recently, but its pod is deleted
    for (let i = 7; i <= 15; i++) await verdict(c(`p${i}`), "failed", { reason: "signed by an untrusted key", changedAt: ago(i + 0.5) });
    await verdict(c("p16"), "failed", { reason: "signed by an untrusted key", changedAt: ago(0.1) });
    await db.pod.updateMany({ where: { name: "p16" }, data: { deletedAt: ago(0.05) } });
    // west could not be listed: its containers are stale whatever their verdicts say
    await verdict(west.containers["b/q1/app"]!, "verified", { changedAt: ago(90) });
    await verdict(west.containers["b/q2/app"]!, "failed", { reason: "signed by an untrusted key", changedAt: ago(40) });
    await db.cluster.update({ where: { name: "west" }, data: { lastError: "connect ECONNREFUSED 10.0.0.1:6443", lastErrorAt: ago(30) } });
    await writeCoverageSnapshot(db, NOW);
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("groups the snapshot's stale containers by reason, adding up to its stale count", async () => {
    const o = await getOverview(db, { now: NOW });
    expect(o.fleet).toMatchObject({ containersTotal: 17, containersStale: 4, containersStaleVerified: 2, containersError: 1, containersVerified: 1 });
    expect(o.stale).toEqual([
      { reason: "connect ECONNREFUSED 10.0.0.1:6443", since: ago(30).toISOString(), containers: 2, lastKnown: { verified: 1, failed: 1 } },
      { reason: "network: ECONNREFUSED", since: ago(20).toISOString(), containers: 2, lastKnown: { verified: 1, failed: 1 } },
    ]);
    expect(o.stale.reduce((n, g) => n + g.containers, 0)).toBe(o.fleet!.containersStale);
  });

  it("keeps the groups of its snapshot until the next one (one evaluation state per view)", async () => {
    await verdict(east.containers["a/p1/app"]!, "error", { lastKnown: "verified", reason: "timeout", changedAt: ago(0.5) });
    const before = await getOverview(db, { now: NOW });
    expect(before.stale.map((g) => g.reason)).not.toContain("timeout");
    expect(before.fleet!.containersStale).toBe(4);
    const later = new Date(NOW.getTime() + 60_000);
    await writeCoverageSnapshot(db, later);
    const after = await getOverview(db, { now: later });
    expect(after.fleet!.containersStale).toBe(5);
    expect(after.stale.find((g) => g.reason === "timeout")).toEqual({ reason: "timeout", since: ago(0.5).toISOString(), containers: 1, lastKnown: { verified: 1 } });
    expect(after.stale.reduce((n, g) => n + g.containers, 0)).toBe(5);
  });

  it("a snapshot read in pages of 3 containers has the figures and stale groups of one read at once", async () => {
    const figuresAt = async (takenAt: Date) =>
      (await db.coverageSnapshot.findMany({ where: { takenAt }, orderBy: [{ scope: "asc" }, { clusterId: "asc" }, { namespace: "asc" }] })).map(
        ({ id: _id, takenAt: _t, ...rest }) => rest,
      );
    const whole = new Date(NOW.getTime() + 120_000);
    const paged = new Date(NOW.getTime() + 180_000);
    await writeCoverageSnapshot(db, whole);
    const r = await writeCoverageSnapshot(db, paged, { pageSize: 3 });
    // fleet, two clusters, two namespaces; 17 containers in 6 pages
    expect(r.rows).toBe(5);
    expect(r.fleet.containersTotal).toBe(17);
    expect(await figuresAt(paged)).toEqual(await figuresAt(whole));
  });

  it("lists the ten newest failed, unsigned and unknown verdicts of running containers, newest first", async () => {
    const o = await getOverview(db, { now: NOW });
    // p16 (deleted pod) and the stale errors are left out; west's failed verdict is older than the tenth
    expect(o.newestFailures.map((f) => `${f.workload}:${f.verdict}`)).toEqual([
      "Pod/p3:unsigned",
      "Pod/p4:error",
      "Pod/p2:failed",
      ...[7, 8, 9, 10, 11, 12, 13].map((i) => `Pod/p${i}:failed`),
    ]);
    expect(o.newestFailures[0]).toMatchObject({ cluster: "east", namespace: "a", image: `ghcr.io/acme/p3@${d(3)}`, policy: "release", mode: "enforce", reason: "no signature" });
  });
});
