import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, createScanDb, type Db } from "@/lib/db/client";
import { retryReason, withTransaction, type RetryReason } from "@/lib/db/transaction";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";

/** A promise to wait on and the function that settles it. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

/** Resolves once `n` callers arrived (both sides of a conflict hold their first lock). */
function barrier(n: number): () => Promise<void> {
  let arrived = 0;
  const all = gate();
  return async () => {
    if (++arrived >= n) all.open();
    await all.opened;
  };
}

describe("withTransaction against real PostgreSQL errors", () => {
  let tdb: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("retries a transaction that could not get a connection in time (P2028), once one is free", async () => {
    const one = createDb(tdb.url, 1);
    try {
      const release = gate();
      const holding = gate();
      // the pool's only connection is held by a transaction until `release`
      const holder = withTransaction(
        one,
        async (tx) => {
          await tx.$executeRaw`SELECT 1`;
          holding.open();
          await release.opened;
        },
        { timeout: 30_000 },
      );
      await holding.opened;
      const retries: RetryReason[] = [];
      const waiter = withTransaction(one, async (tx) => tx.$queryRaw<{ n: number }[]>`SELECT 7::int AS n`, {
        timeout: 5_000,
        maxWait: 200,
        attempts: 20,
        onRetry: ({ reason }) => {
          retries.push(reason);
          // free the connection after the first failed attempt
          release.open();
        },
      });
      await expect(waiter).resolves.toEqual([{ n: 7 }]);
      await holder;
      expect(retries[0]).toBe("connection-wait");

      // without retries the same wait is an error, and it is P2028's "unable to start"
      const again = gate();
      const held = gate();
      const blocker = withTransaction(
        one,
        async () => {
          held.open();
          await again.opened;
        },
        { timeout: 30_000 },
      );
      await held.opened;
      const failed = await withTransaction(one, async () => 1, { timeout: 1_000, maxWait: 100, attempts: 1 }).catch((e: unknown) => e);
      again.open();
      await blocker;
      expect(retryReason(failed)).toBe("connection-wait");
      expect(String(failed)).toMatch(/Unable to start a transaction in the given time/);
    } finally {
      await one.$disconnect();
    }
  });

  it("retries the victim of a deadlock (40P01) until both transactions commit", async () => {
    const [a, b] = await Promise.all([db.cluster.create({ data: { name: "deadlock-a" } }), db.cluster.create({ data: { name: "deadlock-b" } })]);
    const bothLocked = barrier(2);
    const retries: RetryReason[] = [];
    const runs = { ab: 0, ba: 0 };
    const lockInOrder = (first: string, second: string, label: keyof typeof runs) =>
      withTransaction(
        db,
        async (tx) => {
          runs[label]++;
          await tx.cluster.update({ where: { id: first }, data: { lastError: label } });
          await bothLocked();
          await tx.cluster.update({ where: { id: second }, data: { lastError: label } });
        },
        { timeout: 20_000, onRetry: ({ reason }) => retries.push(reason) },
      );
    await Promise.all([lockInOrder(a.id, b.id, "ab"), lockInOrder(b.id, a.id, "ba")]);
    expect(retries).toEqual(["deadlock"]);
    // the victim ran twice, the other once
    expect(runs.ab + runs.ba).toBe(3);
    const rows = await db.cluster.findMany({ where: { id: { in: [a.id, b.id] } }, select: { lastError: true } });
    // both clusters carry the label of whichever transaction committed last
    expect(new Set(rows.map((r) => r.lastError)).size).toBe(1);
  });

  it("retries a serialization failure (40001) of a raw statement under SERIALIZABLE", async () => {
    const bothRead = barrier(2);
    const retries: RetryReason[] = [];
    // write skew: each transaction reads the set, then inserts into it; one of the two must fail
    const insertIfFew = (name: string) =>
      withTransaction(
        db,
        async (tx) => {
          const [row] = await tx.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM "Cluster" WHERE name LIKE 'skew-%'`;
          await bothRead();
          await tx.$executeRaw`INSERT INTO "Cluster" (id, name, "createdAt", "updatedAt") VALUES (gen_random_uuid(), ${`${name}-${row!.n}`}, now(), now())`;
        },
        { timeout: 20_000, isolationLevel: "Serializable", onRetry: ({ reason }) => retries.push(reason) },
      );
    await Promise.all([insertIfFew("skew-x"), insertIfFew("skew-y")]);
    expect(retries).toEqual(["serialization"]);
    const names = (await db.cluster.findMany({ where: { name: { startsWith: "skew-" } }, select: { name: true } })).map((c) => c.name).sort();
    // the retried one saw the other's row
    expect(names.map((n) => n.slice(-1)).sort()).toEqual(["0", "1"]);
  });

  it("does not retry an error that would fail again, and gives up after the last attempt", async () => {
    await db.cluster.create({ data: { name: "unique-once" } });
    let runs = 0;
    const duplicate = await withTransaction(
      db,
      async (tx) => {
        runs++;
        await tx.cluster.create({ data: { name: "unique-once" } });
      },
      { timeout: 5_000 },
    ).catch((e: unknown) => e);
    expect(runs).toBe(1);
    expect(retryReason(duplicate)).toBeNull();
    expect(String(duplicate)).toMatch(/Unique constraint/i);

    // a deadlock every time: attempts are bounded
    let attempts = 0;
    const always = await withTransaction(
      db,
      async (tx) => {
        attempts++;
        await tx.$executeRaw`DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '40P01'; END $$`;
      },
      { timeout: 5_000, attempts: 3 },
    ).catch((e: unknown) => e);
    expect(attempts).toBe(3);
    expect(retryReason(always)).toBe("deadlock");
  });

  it("a scanning process's client names a failure by its query without capturing the call site (Prisma's errorFormat minimal), and its code is kept", async () => {
    const scanDb = createScanDb(tdb.url, 1);
    try {
      await db.cluster.create({ data: { name: "dup" } });
      const failure = (client: Db) => client.cluster.create({ data: { name: "dup" } }).then(() => null, (err: unknown) => err as Error & { code?: string });
      const [plain, scanning] = [await failure(db), await failure(scanDb)];
      // the default format (NODE_ENV is not production here) points at this file; the scanning client's does not
      expect(plain?.message).toContain("transaction.test.ts");
      expect(scanning?.message).not.toContain("transaction.test.ts");
      expect(scanning?.message).toMatch(/Unique constraint/);
      expect(scanning?.code).toBe("P2002");
    } finally {
      await scanDb.$disconnect();
      await db.cluster.deleteMany({ where: { name: "dup" } });
    }
  });
});
