import { spawn } from "node:child_process";
import { once } from "node:events";
import os from "node:os";
import v8 from "node:v8";
import type { Env } from "@/lib/env";

/**
 * How every process that scans runs: the worker (scripts/launch.ts starts it this way), an in-process
 * `signet scan` (it re-runs itself this way, rerunUnderScanRuntime) and both paths of
 * `npm run bench:scan`. A scan's live data is small (an inventory page, a batch of images), but V8
 * sizes its heap from the machine's memory and glibc keeps one malloc arena per thread: left alone, a
 * scanning process grows to several hundred MB of garbage and fragmentation on a big scan (the CLI
 * reached 860 MB where the capped worker stayed under 400 MB). Capping both keeps the RSS under
 * 400 MB for a 20,000-pod scan (npm run bench:scan). SIGNET_WORKER_HEAP_MB sets the heap cap.
 */
export function scanRuntimeFlags(heapMb: number): string[] {
  return [
    // a small young generation: inventory pages and registry bodies die young, in many small GCs
    "--max-semi-space-size=16",
    // collect the old generation before it grows far beyond the live set
    `--max-old-space-size=${heapMb}`,
  ];
}

/** Environment of a scanning process on top of its parent's. */
export const SCAN_RUNTIME_ENV: Readonly<Record<string, string>> = {
  // two malloc arenas instead of 8 per core: less fragmentation from the threads of libuv and wasm
  MALLOC_ARENA_MAX: "2",
  // marks the process as started this way (lib/env.ts SIGNET_SCAN_RUNTIME): it does not re-run itself
  SIGNET_SCAN_RUNTIME: "1",
};

/**
 * Whether this process already runs under the scan runtime: started by rerunUnderScanRuntime, or by
 * whoever started it with the same settings in its environment — both V8 flags are allowed in
 * NODE_OPTIONS (`NODE_OPTIONS="--max-semi-space-size=16 --max-old-space-size=192" MALLOC_ARENA_MAX=2
 * signet scan …`), MALLOC_ARENA_MAX is read by glibc at start — so a pipeline can run `signet scan`
 * as one process. Judged from what is in force: the V8 heap's limit (the old generation's cap plus
 * at most 64 MB of young generation) and the environment's arena limit.
 */
export function runsUnderScanRuntime(env: Pick<Env, "SIGNET_SCAN_RUNTIME" | "SIGNET_WORKER_HEAP_MB" | "MALLOC_ARENA_MAX">): boolean {
  if (env.SIGNET_SCAN_RUNTIME) return true;
  if (env.MALLOC_ARENA_MAX !== SCAN_RUNTIME_ENV.MALLOC_ARENA_MAX) return false;
  return v8.getHeapStatistics().heap_size_limit <= (env.SIGNET_WORKER_HEAP_MB + 64) * 1024 * 1024;
}

/**
 * Runs this command again in a child process under the scan runtime and returns the child's exit
 * code. A new process is the only way: glibc reads MALLOC_ARENA_MAX once at start, and V8 sizes its
 * heap at start. The child inherits stdin, stdout and stderr (its output is the command's output) and
 * this process's environment; SIGINT and SIGTERM sent to this process are passed on.
 */
export async function rerunUnderScanRuntime(heapMb: number): Promise<number> {
  // written, not read: the child inherits process.env
  Object.assign(process.env, SCAN_RUNTIME_ENV);
  const child = spawn(process.execPath, [...scanRuntimeFlags(heapMb), ...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit" });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  try {
    const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
    return code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0);
  } finally {
    process.off("SIGINT", forward);
    process.off("SIGTERM", forward);
  }
}
