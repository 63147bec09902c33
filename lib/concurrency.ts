import pLimit, { type LimitFunction } from "p-limit";

/**
 * The one concurrency helper (p-limit underneath): a limiter bounds how much async work is in flight
 * at once — requests per registry (lib/registry/transport.ts), clusters listed together, image
 * batches of an in-process scan — and `mapLimit` maps over a list with such a bound; a budget
 * (createBudget) bounds it by weight: the containers of the evaluations a process plans at once.
 * Calls beyond the limit wait their turn in FIFO order. Plain module: used by the server, the CLI, benchmarks and tests.
 */
export type Limiter = LimitFunction;

/** A limiter running at most `limit` functions at once (a positive integer). */
export function createLimiter(limit: number): Limiter {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer, not ${limit}`);
  return pLimit(limit);
}

/** A budget shared by async work of different sizes (see createBudget). */
export interface Budget {
  /** Runs `fn` once `weight` fits in what is left of the budget; the weight is returned when it settles. */
  run<T>(weight: number, fn: () => Promise<T>): Promise<T>;
  /** The weight of the work running now. */
  readonly inFlight: number;
  /** Pieces of work waiting their turn. */
  readonly pending: number;
}

/**
 * A limiter by weight instead of count: work of weight `w` starts once the weights in flight plus `w`
 * are at most `total` — or at once when nothing is in flight, so a piece larger than the budget runs
 * alone — in FIFO order (a large piece waiting is not overtaken by small ones). For work whose memory
 * grows with its size (a batch's containers), where a count of pieces bounds nothing.
 */
export function createBudget(total: number): Budget {
  if (!(total > 0)) throw new RangeError(`budget must be positive, not ${total}`);
  let inFlight = 0;
  const waiting: { weight: number; start: () => void }[] = [];
  const admit = () => {
    while (waiting.length > 0 && (inFlight === 0 || inFlight + waiting[0]!.weight <= total)) {
      const next = waiting.shift()!;
      inFlight += next.weight;
      next.start();
    }
  };
  return {
    async run(weight, fn) {
      const w = Math.max(0, weight);
      await new Promise<void>((start) => {
        waiting.push({ weight: w, start });
        admit();
      });
      try {
        return await fn();
      } finally {
        inFlight -= w;
        admit();
      }
    },
    get inFlight() {
      return inFlight;
    },
    get pending() {
      return waiting.length;
    },
  };
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
