import pLimit, { type LimitFunction } from "p-limit";

/**
 * The one concurrency helper (p-limit underneath): a limiter bounds how much async work is in flight
 * at once — requests per registry (lib/registry/transport.ts), clusters listed together, image
 * batches of an in-process scan — and `mapLimit` maps over a list with such a bound. Calls beyond the
 * limit wait their turn in FIFO order. Plain module: used by the server, the CLI, benchmarks and tests.
 */
export type Limiter = LimitFunction;

/** A limiter running at most `limit` functions at once (a positive integer). */
export function createLimiter(limit: number): Limiter {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer, not ${limit}`);
  return pLimit(limit);
}

/**
 * `fn` over every item with at most `limit` calls in flight; results in the items' order. Rejects with
 * the first failure (calls already started still settle; none is started after it).
 */
export async function mapLimit<T, R>(items: Iterable<T>, limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  let failed = false;
  return createLimiter(limit).map(items, async (item, index) => {
    if (failed) throw new Error("not started: an earlier item failed");
    try {
      return await fn(item, index);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
}
