import "server-only";
import type { Db } from "@/lib/db/client";
import { childLogger } from "@/lib/log";
import type { ScanAdapters } from "@/lib/scan/adapters";
import { checkImages, imageBatches } from "@/lib/scan/pipeline";
import { writeCoverageSnapshot } from "@/lib/scan/snapshot";

const log = childLogger("trust");

export interface ReverifyOptions {
  adapters: ScanAdapters;
  now?: Date;
  concurrency?: number;
}

/**
 * Re-verifies and re-evaluates images from stored evidence (no registry traffic), waiting for all;
 * then writes a coverage snapshot, so the overview's figures follow at once.
 */
export async function reverifyImages(db: Db, imageIds: string[], trigger: string, opts: ReverifyOptions): Promise<number> {
  const ids = [...new Set(imageIds)];
  const batches = imageBatches(ids, { mode: "reverify", trigger });
  let next = 0;
  const ctx = { db, adapters: opts.adapters, log, now: opts.now ? () => opts.now! : undefined, enqueueImageCheck: async () => undefined };
  await Promise.all(
    Array.from({ length: Math.min(opts.concurrency ?? 4, batches.length) }, async () => {
      while (next < batches.length) await checkImages(ctx, batches[next++]!);
    }),
  );
  if (ids.length) await writeCoverageSnapshot(db, opts.now ?? new Date());
  return ids.length;
}
