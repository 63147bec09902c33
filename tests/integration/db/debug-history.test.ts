import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { DEBUG_HISTORY_BYTES, parameterBytes } from "@/lib/db/debug-history";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { heapHolds, heapMarker } from "@/tests/support/heap";

/** Runs one statement whose only parameter is `mark` followed by `kb` KB of filler; keeps nothing of it. */
async function statementWith(db: Pick<Db, "$queryRaw">, mark: Buffer, kb: number): Promise<void> {
  const rows = await db.$queryRaw<{ n: number }[]>`SELECT length(${mark.toString("latin1") + "x".repeat(kb * 1024)}::text) AS n`;
  expect(rows[0]?.n).toBe(mark.length + kb * 1024);
}

/** Statements with DEBUG_HISTORY_BYTES of parameters in all, none of them a marker looked for. */
async function fill(db: Pick<Db, "$queryRaw">): Promise<void> {
  for (let i = 0; i < DEBUG_HISTORY_BYTES / (1024 * 1024); i++) await statementWith(db, heapMarker(), 1024);
}

describe("what the database client keeps of a statement (lib/db/debug-history.ts, lib/db/pool.ts)", () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await tdb?.drop();
  });
  /** A client with a pool of `size`, disconnected after `fn` whatever it does. */
  const withDb = async (size: number, fn: (db: Db) => Promise<void>) => {
    const db = createDb(tdb.url, size);
    try {
      await fn(db);
    } finally {
      await db.$disconnect();
    }
  };

  it("counts a statement's parameters: strings, byte arrays and lists", () => {
    expect(parameterBytes(["abc", new Uint8Array(5), ["de", "f"], 7])).toBe(3 + 5 + 3 + 8);
  });

  it("Prisma's debug histories keep a statement's parameter until the statements after it carried DEBUG_HISTORY_BYTES", async () => {
    await withDb(2, async (db) => {
      const mark = heapMarker();
      await db.$transaction((tx) => statementWith(tx, mark, 64));
      // Prisma keeps it (if this fails, Prisma no longer does and lib/db/debug-history.ts can go)
      expect(await heapHolds(mark)).toBe(true);
      await fill(db);
      expect(await heapHolds(mark)).toBe(false);
    });
  });

  it("the same for the statements of a transaction", async () => {
    await withDb(2, async (db) => {
      const mark = heapMarker();
      await db.$transaction(async (tx) => {
        await statementWith(tx, mark, 64);
        await fill(tx);
      });
      expect(await heapHolds(mark)).toBe(false);
    });
  });

  it("a pool connection does not keep the statement it was opened for", async () => {
    await withDb(1, async (db) => {
      const mark = heapMarker();
      await statementWith(db, mark, 64);
      await fill(db);
      expect(await heapHolds(mark)).toBe(false);
      // the connection is still the one the marked statement opened
      expect(await db.$queryRaw<{ one: number }[]>`SELECT 1 AS one`).toEqual([{ one: 1 }]);
    });
  });

  it("a failed statement fails, its connection is replaced and the next statement runs", async () => {
    await withDb(1, async (db) => {
      const pid = async () => (await db.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`)[0]?.pid;
      const before = await pid();
      await expect(db.$queryRaw`SELECT 1/0`).rejects.toThrow(/division by zero/);
      const after = await pid();
      expect(after).toBeTypeOf("number");
      // as pg-pool's own query: a connection whose statement failed is closed, not reused
      expect(after).not.toBe(before);
    });
  });
});
