import "server-only";
import pg from "pg";

/**
 * A node-postgres pool whose `query` checks a connection out first, then runs the statement on it.
 *
 * pg-pool's own `query` passes the statement to `connect` in a callback. When that opens a new
 * connection, the callback stays reachable for as long as the connection is open (node-postgres's
 * `Client#_connect` registers listeners that outlive it and close over its connect callback, which
 * closes over pg-pool's pending request): each connection kept the statement that made the pool open
 * it — text, parameters and, through its promise, its result rows — until it closed (heap
 * snapshots, ADR 0019). With `connect()` first, the connection keeps only the promise of itself.
 *
 * Errors are pg-pool's: a statement that fails releases its connection with the error (the pool
 * closes it), and an `error` event on the connection during the statement fails the statement.
 * Prisma's driver adapter uses `query(config)` and `query(text)` only (lib/db/client.ts passes it
 * this pool).
 */
export function connectFirstPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  const query = async (statement: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult> => {
    const client = await pool.connect();
    return await new Promise<pg.QueryResult>((resolve, reject) => {
      let released = false;
      const release = (err?: Error) => {
        if (released) return;
        released = true;
        client.removeListener("error", onError);
        client.release(err);
      };
      const onError = (err: Error) => {
        release(err);
        reject(err);
      };
      client.once("error", onError);
      client.query(statement, values).then(
        (result) => {
          release();
          resolve(result);
        },
        (err: unknown) => {
          release(err instanceof Error ? err : new Error(String(err)));
          reject(err);
        },
      );
    });
  };
  pool.query = query as typeof pool.query;
  return pool;
}
