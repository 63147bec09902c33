/**
 * How the worker process runs (scripts/launch.ts starts it this way; bench/scan.ts measures it this
 * way). The worker's live data is small (an inventory page, a batch of images), but V8 sizes its
 * heap from the machine's memory and glibc keeps one malloc arena per thread: left alone, the worker
 * grows to several hundred MB of garbage and fragmentation on a big scan. Capping both keeps its RSS
 * under 400 MB for a 20,000-pod scan (npm run bench:scan).
 */
export function workerNodeFlags(heapMb: number): string[] {
  return [
    // a small young generation: inventory pages and registry bodies die young, in many small GCs
    "--max-semi-space-size=16",
    // collect the old generation before it grows far beyond the live set
    `--max-old-space-size=${heapMb}`,
  ];
}

/** Environment of the worker process on top of the parent's. */
export const WORKER_ENV: Readonly<Record<string, string>> = {
  // two malloc arenas instead of 8 per core: less fragmentation from the threads of libuv and wasm
  MALLOC_ARENA_MAX: "2",
};
