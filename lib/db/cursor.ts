import "server-only";
import { randomBytes } from "node:crypto";
import type { Db } from "@/lib/db/client";
import { withTransaction, type Tx } from "@/lib/db/transaction";
import { Prisma } from "@/lib/generated/prisma/client";

/**
 * Reading a large result in bounded memory, from one consistent state of the database (exports,
 * docs/decisions/0015): `withSnapshot` opens a read-only REPEATABLE READ transaction, in which every
 * statement sees the database as of the first one; `cursorPages` reads a query's rows through a
 * server-side cursor, `pageSize` rows per round trip. PostgreSQL plans and sorts the query once; this
 * process holds one page at a time.
 */

/** Longest a snapshot may stay open: the time to write the largest export, not to download it. */
export const SNAPSHOT_TIMEOUT_MS = 15 * 60_000;

/**
 * Runs `fn` in a read-only REPEATABLE READ transaction. `fn` may run again if the transaction could
 * not start (withTransaction): it must start its output over (ExportSink.reset).
 */
export function withSnapshot<T>(db: Db, fn: (tx: Tx) => Promise<T>, timeoutMs = SNAPSHOT_TIMEOUT_MS): Promise<T> {
  return withTransaction(
    db,
    async (tx) => {
      await tx.$executeRaw`SET TRANSACTION READ ONLY`;
      return fn(tx);
    },
    { timeout: timeoutMs, isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead },
  );
}

/**
 * The rows of `query` in pages of at most `pageSize` (the last page may be shorter; an empty result
 * yields no page), through a cursor declared in `tx` (a cursor lives in its transaction). Stopping
 * early closes the cursor.
 */
export async function* cursorPages<T>(tx: Tx, query: Prisma.Sql, pageSize: number): AsyncGenerator<T[]> {
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new Error(`page size must be a positive integer, not ${pageSize}`);
  const name = Prisma.raw(`signet_cursor_${randomBytes(8).toString("hex")}`);
  await tx.$executeRaw`DECLARE ${name} NO SCROLL CURSOR FOR ${query}`;
  try {
    for (;;) {
      const rows = await tx.$queryRaw<T[]>`FETCH FORWARD ${Prisma.raw(String(pageSize))} FROM ${name}`;
      if (rows.length > 0) yield rows;
      if (rows.length < pageSize) return;
    }
  } finally {
    // the transaction may be over already (an error ended it): the cursor went with it
    await tx.$executeRaw`CLOSE ${name}`.catch(() => undefined);
  }
}
