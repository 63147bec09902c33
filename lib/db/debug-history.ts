import "server-only";
import { Debug as clientDebug } from "@prisma/client/runtime/client";
import { Debug as adapterDebug, type SqlDriverAdapter, type SqlDriverAdapterFactory, type SqlQuery, type SqlQueryable } from "@prisma/driver-adapter-utils";

/**
 * Prisma's debug module (`@prisma/debug`) keeps the arguments of its last 100 calls, logging on or
 * off (its `argsHistory`, for error reports). Two copies of it run in a process: the driver adapter's
 * (`@prisma/driver-adapter-utils`), which is given every statement with its parameters, and the one
 * bundled into the client runtime, which is given each raw statement with its parameters serialized
 * to JSON and each statement's query plan. A bulk statement's parameter is about a megabyte
 * (lib/db/bulk.ts): on a busy worker the two histories held tens of MB that nothing else used
 * (heap snapshots, ADR 0019).
 *
 * Neither history can be reached, only the debug functions: 100 calls of one that logs nothing push
 * everything else out of a history. `boundDebugHistories` does that once the statements run since
 * the last time have carried `DEBUG_HISTORY_BYTES` of parameters, after the statement that crossed
 * it: the histories hold at most the last few MB of parameters (and the client's copies of them),
 * besides those of statements still running, which are alive anyway. Nothing is pushed out while
 * the namespace is being logged (DEBUG=*): those 100 calls would be printed.
 *
 * The 100 is the module's MAX_ARGS_HISTORY (7.10): tests/integration/db/debug-history.test.ts fails
 * if a statement's parameter survives, so a Prisma upgrade that changes it is noticed.
 */
const HISTORY_LENGTH = 100;
/** Parameters run through the histories between two flushes. */
export const DEBUG_HISTORY_BYTES = 4 * 1024 * 1024;
const NAMESPACE = "signet:debug-history";

const debugFunctions = [clientDebug(NAMESPACE), adapterDebug(NAMESPACE)];

/** Pushes every earlier call out of both debug histories. */
export function flushDebugHistories(): void {
  if (clientDebug.enabled(NAMESPACE) || adapterDebug.enabled(NAMESPACE)) return;
  for (const debug of debugFunctions) for (let i = 0; i < HISTORY_LENGTH; i++) debug(0);
}

/** About how many bytes a statement's parameters take (strings, byte arrays, lists). */
export function parameterBytes(args: readonly unknown[]): number {
  let bytes = 0;
  for (const arg of args) {
    if (typeof arg === "string") bytes += arg.length;
    else if (arg instanceof Uint8Array) bytes += arg.byteLength;
    else if (Array.isArray(arg)) bytes += parameterBytes(arg);
    else bytes += 8;
  }
  return bytes;
}

/**
 * The adapter factory whose connections flush the debug histories (above) as their statements' parameters
 * add up: the same object, its `connect` and its adapters' statements and transactions wrapped.
 */
export function boundDebugHistories<F extends SqlDriverAdapterFactory>(factory: F): F {
  let bytes = 0;
  const counted = (queryable: SqlQueryable): void => {
    for (const method of ["queryRaw", "executeRaw"] as const) {
      const run = queryable[method].bind(queryable) as (query: SqlQuery) => Promise<never>;
      queryable[method] = async (query: SqlQuery) => {
        try {
          return await run(query);
        } finally {
          bytes += parameterBytes(query.args);
          if (bytes >= DEBUG_HISTORY_BYTES) {
            bytes = 0;
            flushDebugHistories();
          }
        }
      };
    }
  };
  const connect = factory.connect.bind(factory);
  factory.connect = async (): Promise<SqlDriverAdapter> => {
    const adapter = await connect();
    counted(adapter);
    const startTransaction = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (isolationLevel) => {
      const tx = await startTransaction(isolationLevel);
      counted(tx);
      return tx;
    };
    return adapter;
  };
  return factory;
}
