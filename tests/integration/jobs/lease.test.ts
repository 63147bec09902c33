import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { createDb, type Db } from "@/lib/db/client";
import { withTransaction } from "@/lib/db/transaction";
import { fenceLease, LeaseLostError, listLeases, releaseLease, renewLease, tryAcquireLease } from "@/lib/jobs/lease";
import { startWatchOwner, type ClusterWatchLifecycle } from "@/lib/jobs/watch-owner";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { waitFor } from "@/tests/support/process";

/** Cluster watch leases on a real PostgreSQL: the database's clock decides, tokens fence stale holders. */
describe("cluster watch leases", () => {
  let tdb: TestDatabase;
  let db: Db;
  const log = pino({ level: "silent" });

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 6);
  }, 60_000);
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  const expire = (cluster: string) => db.$executeRaw`UPDATE "ClusterLease" SET "expiresAt" = now() - interval '1 hour' WHERE "cluster" = ${cluster}`;

  it("gives a free cluster to one of many contenders, and an expired one to the next with a new token", async () => {
    const contenders = Array.from({ length: 8 }, (_, i) => `w${i}`);
    const grants = await Promise.all(contenders.map((w) => tryAcquireLease(db, "c1", w, 60_000)));
    const winners = grants.filter((g) => g !== null);
    expect(winners).toHaveLength(1);
    const first = winners[0]!;
    expect(first.token).toBe(1n);
    // held: nobody else gets it, the holder renews it
    expect(await tryAcquireLease(db, "c1", "other", 60_000)).toBeNull();
    expect(await renewLease(db, first, 60_000)).toBe(true);

    await expire("c1");
    const again = await Promise.all(contenders.filter((w) => w !== first.holder).map((w) => tryAcquireLease(db, "c1", w, 60_000)));
    const next = again.filter((g) => g !== null);
    expect(next).toHaveLength(1);
    expect(next[0]!.token).toBe(2n);
    // the old holder's renewal fails: it must stop its watch
    expect(await renewLease(db, first, 60_000)).toBe(false);
    expect((await listLeases(db)).find((l) => l.cluster === "c1")).toMatchObject({ holder: next[0]!.holder, token: 2n, live: true });
  });

  it("an expired lease is not renewed, and a worker holding leases waits out its grace", async () => {
    const g = (await tryAcquireLease(db, "c2", "a", 60_000))!;
    await expire("c2");
    expect(await renewLease(db, g, 60_000)).toBe(false);
    // expired an hour ago: a grace of a few seconds does not hold it back
    expect(await tryAcquireLease(db, "c2", "b", 60_000, 3000)).not.toBeNull();
    await db.$executeRaw`UPDATE "ClusterLease" SET "expiresAt" = now() - interval '1 second' WHERE "cluster" = 'c2'`;
    // expired a second ago: a worker with a 3 s grace waits, an idle one takes it
    expect(await tryAcquireLease(db, "c2", "c", 60_000, 3000)).toBeNull();
    expect(await tryAcquireLease(db, "c2", "d", 60_000, 0)).toMatchObject({ holder: "d", token: 3n });
  });

  it("fences a write made under a lost lease, and makes a takeover wait for a write in progress", async () => {
    const g = (await tryAcquireLease(db, "c3", "a", 60_000))!;
    // a write under the current lease commits
    await withTransaction(db, async (tx) => fenceLease(tx, g), { timeout: 10_000 });

    // while a fenced write is open, a takeover of the (meanwhile expired) lease waits for it to end
    await db.$executeRaw`UPDATE "ClusterLease" SET "expiresAt" = now() + interval '1500 milliseconds' WHERE "cluster" = 'c3'`;
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    let fenced!: () => void;
    const inside = new Promise<void>((r) => (fenced = r));
    const write = withTransaction(
      db,
      async (tx) => {
        await fenceLease(tx, g);
        fenced();
        await hold;
      },
      { timeout: 30_000, attempts: 1 },
    );
    await inside;
    // the holder's renewals are not held up by its own long write
    expect(await renewLease(db, g, 1500)).toBe(true);
    await waitFor(async () => ((await listLeases(db)).find((l) => l.cluster === "c3")?.live === false ? true : undefined), 20_000, "the lease to expire");
    let tookOver = false;
    const takeover = tryAcquireLease(db, "c3", "b", 60_000).then((r) => ((tookOver = true), r));
    // the takeover is blocked on the row lock the write's fence holds
    await waitFor(
      async () => {
        const rows = await db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM "ClusterLease"%FOR UPDATE%'`;
        return rows[0]!.n > 0n ? true : undefined;
      },
      20_000,
      "the takeover to wait on the lease row",
    );
    expect(tookOver).toBe(false);
    release();
    await write;
    const b = await takeover;
    expect(b).toMatchObject({ holder: "b", token: 2n });

    // the old holder's next write is refused
    await expect(withTransaction(db, async (tx) => fenceLease(tx, g), { timeout: 10_000, attempts: 1 })).rejects.toBeInstanceOf(LeaseLostError);
    await withTransaction(db, async (tx) => fenceLease(tx, b!), { timeout: 10_000 });
  });

  it("a released lease is taken over at once", async () => {
    const g = (await tryAcquireLease(db, "c4", "a", 60_000))!;
    await releaseLease(db, g);
    expect(await tryAcquireLease(db, "c4", "b", 60_000)).toMatchObject({ holder: "b", token: 2n });
  });

  it("two owner loops: each cluster watched by exactly one; a stopped owner's clusters move to the other", async () => {
    const clusters = ["east", "west", "north", "south"];
    const events: string[] = [];
    const running = new Map<string, string>();
    const lifecycle = (who: string): ClusterWatchLifecycle => ({
      start(cluster) {
        events.push(`${who}+${cluster}`);
        expect(running.get(cluster)).toBeUndefined();
        running.set(cluster, who);
      },
      stop(cluster) {
        events.push(`${who}-${cluster}`);
        expect(running.get(cluster)).toBe(who);
        running.delete(cluster);
      },
    });
    const a = startWatchOwner({ db, holder: "loop-a", log, clusters: () => clusters, lifecycle: lifecycle("a"), ttlMs: 3000 });
    const b = startWatchOwner({ db, holder: "loop-b", log, clusters: () => clusters, lifecycle: lifecycle("b"), ttlMs: 3000 });
    try {
      await waitFor(async () => (running.size === clusters.length ? true : undefined), 30_000, "every cluster watched");
      // the grace for workers already holding leases spreads them over both loops
      expect(a.held().length + b.held().length).toBe(clusters.length);
      expect(new Set([...a.held(), ...b.held()]).size).toBe(clusters.length);
      // a few renewals later nothing moved
      const before = [...running.entries()].sort();
      await new Promise((r) => setTimeout(r, 3500));
      expect([...running.entries()].sort()).toEqual(before);

      await a.stop();
      expect(a.held()).toEqual([]);
      await waitFor(async () => (b.held().length === clusters.length ? true : undefined), 30_000, "b takes every cluster over");
      expect([...running.values()].every((w) => w === "b")).toBe(true);
      for (const c of clusters) expect(b.owns(c)).toBeDefined();
    } finally {
      await a.stop();
      await b.stop();
    }
    expect(running.size).toBe(0);
    // every start was followed by its stop, none twice
    for (const c of clusters) {
      const mine = events.filter((e) => e.endsWith(c));
      expect(mine.length % 2).toBe(0);
    }
  }, 90_000);

  it("a holder that cannot reach the database stops its watch before its lease expires for others", async () => {
    const started: string[] = [];
    const stopped: { cluster: string; at: number }[] = [];
    const lonely = createDb(tdb.url, 1);
    const owner = startWatchOwner({
      db: lonely,
      holder: "partitioned",
      log,
      clusters: () => ["p1"],
      lifecycle: { start: (c) => void started.push(c), stop: (c) => void stopped.push({ cluster: c, at: Date.now() }) },
      ttlMs: 3000,
    });
    try {
      await waitFor(async () => (started.length === 1 ? true : undefined), 20_000, "p1 watched");
      // a partition: from now on every renewal hangs (the lease table is locked by another session)
      const blocker = createDb(tdb.url, 1);
      const expiresAt = await withTransaction(
        blocker,
        async (tx) => {
          await tx.$executeRaw`LOCK TABLE "ClusterLease" IN ACCESS EXCLUSIVE MODE`;
          // no renewal can land any more: this is when the lease expires for every other worker
          const rows = await tx.$queryRaw<{ expiresAt: Date }[]>`SELECT "expiresAt" FROM "ClusterLease" WHERE "cluster" = 'p1'`;
          await waitFor(async () => (stopped.length ? true : undefined), 20_000, "the watch stopped");
          return rows[0]!.expiresAt;
        },
        { timeout: 30_000, attempts: 1 },
      );
      await blocker.$disconnect();
      // the watch stopped while the lease was still live for everyone else (same machine, same clock):
      // nobody could have taken the cluster over yet, so there never were two watches
      expect(stopped[0]!.cluster).toBe("p1");
      expect(stopped[0]!.at).toBeLessThan(expiresAt.getTime());
    } finally {
      await owner.stop();
      await lonely.$disconnect();
    }
  }, 60_000);
});
