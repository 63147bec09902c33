import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { writeCoverageSnapshot } from "@/lib/scan/snapshot";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { savePolicy } from "@/tests/support/policies";

/**
 * A coverage snapshot copies the latest one only when nothing it reads changed since (ADR 0023): a
 * scan's bookkeeping (evaluatedAt, lastSeen) is no change; a verdict's value, a pod gone, a cluster
 * that cannot be listed are; and a change made by a transaction still open while a snapshot was
 * read is found by the next one, even though it committed before that next one looked.
 */
describe("coverage snapshot reuse", () => {
  let tdb: TestDatabase;
  let db: Db;
  let verdictId: string;
  let podId: string;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
    const policy = await savePolicy(db, { authorities: [{ name: "ci", keyless: { identities: [{ issuer: "https://issuer.example", subject: "ci@example.test" }] } }] });
    const policyRow = await db.policy.findFirstOrThrow({ where: { name: "release" } });
    const cluster = await db.cluster.create({ data: { name: "prod" } });
    const ns = await db.namespace.create({ data: { clusterId: cluster.id, name: "payments" } });
    for (const n of [1, 2]) {
      const pod = await db.pod.create({ data: { clusterId: cluster.id, namespaceId: ns.id, uid: `u${n}`, name: `api-${n}` } });
      const digest = `sha256:${String(n).repeat(64)}`;
      const image = await db.image.create({ data: { registry: "registry.example", repository: "api", digest, discovery: "found" } });
      const c = await db.container.create({ data: { podId: pod.id, imageId: image.id, kind: "app", name: "app", imageRef: "registry.example/api:v1", digest, digestSource: "observed" } });
      const v = await db.verdict.create({ data: { containerId: c.id, policyId: policyRow.id, policyVersion: policy.version, value: "verified", lastKnownValue: "verified" } });
      if (n === 1) [verdictId, podId] = [v.id, pod.id];
    }
  }, 120_000);

  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  const at = (s: number) => new Date(Date.parse("2026-12-07T10:00:00Z") + s * 1000);
  const fleetAt = (takenAt: Date) => db.coverageSnapshot.findFirstOrThrow({ where: { scope: "fleet", takenAt } });

  it("is read the first time, copied while only bookkeeping changed, read again after a verdict changed", async () => {
    const first = await writeCoverageSnapshot(db, at(0));
    expect(first).toMatchObject({ reused: false, fleet: { containersTotal: 2, containersVerified: 2 } });

    await db.verdict.updateMany({ data: { evaluatedAt: at(5) } });
    await db.cluster.updateMany({ data: { lastInventoryAt: at(5), lastError: null } });
    const second = await writeCoverageSnapshot(db, at(10));
    expect(second).toMatchObject({ reused: true, rows: first.rows, fleet: first.fleet });
    // every scope's row written again with the new time (the trend draws a point per snapshot)
    expect(await db.coverageSnapshot.count({ where: { takenAt: at(10) } })).toBe(first.rows);
    expect((await fleetAt(at(10))).inputs).toBe((await fleetAt(at(0))).inputs);

    await db.verdict.update({ where: { id: verdictId }, data: { value: "unsigned", lastKnownValue: "unsigned" } });
    const third = await writeCoverageSnapshot(db, at(20));
    expect(third).toMatchObject({ reused: false, fleet: { containersTotal: 2, containersVerified: 1, containersUnsigned: 1 } });
    expect(await writeCoverageSnapshot(db, at(30))).toMatchObject({ reused: true, fleet: third.fleet });
  });

  it("a pod gone or a cluster that could not be listed is a change", async () => {
    await db.pod.update({ where: { id: podId }, data: { deletedAt: at(35) } });
    expect(await writeCoverageSnapshot(db, at(40))).toMatchObject({ reused: false, fleet: { containersTotal: 1 } });
    await db.cluster.updateMany({ data: { lastError: "inventory: connection refused", lastErrorAt: at(45) } });
    expect(await writeCoverageSnapshot(db, at(50))).toMatchObject({ reused: false, fleet: { containersTotal: 1, containersStale: 1 } });
    await db.cluster.updateMany({ data: { lastError: null, lastErrorAt: null } });
    await db.pod.update({ where: { id: podId }, data: { deletedAt: null } });
    expect(await writeCoverageSnapshot(db, at(60))).toMatchObject({ reused: false, fleet: { containersTotal: 2, containersStale: 0 } });
  });

  it("a change still uncommitted while a snapshot is read is found by the next one", async () => {
    expect(await writeCoverageSnapshot(db, at(70))).toMatchObject({ reused: true });
    const other = new pg.Client({ connectionString: tdb.url });
    await other.connect();
    try {
      await other.query("BEGIN");
      await other.query(`UPDATE "Verdict" SET value = 'failed', "lastKnownValue" = 'failed' WHERE id = $1`, [verdictId]);
      // a committed change meanwhile: this snapshot is read, without the uncommitted one
      await db.verdict.updateMany({ where: { id: { not: verdictId } }, data: { reasons: [{ code: "re-verified", message: "" }] } });
      const during = await writeCoverageSnapshot(db, at(80));
      expect(during).toMatchObject({ reused: false, fleet: { containersUnsigned: 1, containersFailed: 0 } });
      await other.query("COMMIT");
    } finally {
      await other.end();
    }
    const after = await writeCoverageSnapshot(db, at(90));
    expect(after).toMatchObject({ reused: false, fleet: { containersFailed: 1, containersUnsigned: 0 } });
    // and the change log holds nothing the latest snapshot has seen
    expect(await db.coverageInputChange.count()).toBe(0);
  });

  it("a refresh copying the snapshot of its own time bucket replaces it (one point per bucket)", async () => {
    const before = await writeCoverageSnapshot(db, at(100));
    const refreshed = await writeCoverageSnapshot(db, at(110), { replaceWithinMs: 5 * 60_000 });
    expect(refreshed).toMatchObject({ reused: true, rows: before.rows, fleet: before.fleet });
    // every earlier snapshot of the test lies in the bucket 10:00–10:05: only the refresh's rows are left
    const left = await db.coverageSnapshot.groupBy({ by: ["takenAt"], _count: true });
    expect(left).toEqual([{ takenAt: at(110), _count: before.rows }]);
  });
});
