import "server-only";
import type { KeyObject } from "node:crypto";
import type { Logger } from "pino";
import { checkCheckpointSignature, type StoredCheckpoint } from "@/lib/audit/checkpoint";
import { latestCheckpoint } from "@/lib/audit/store";
import { writeWitness } from "@/lib/audit/witness";
import type { Db } from "@/lib/db/client";

/**
 * The worker's heartbeat advances the local witness: each beat reads the newest checkpoint and
 * witnesses the one read on the previous beat if the table still holds it. Waiting one beat keeps
 * the witness to checkpoints whose commit is on disk (job transactions commit asynchronously, and
 * PostgreSQL flushes them within 3 × wal_writer_delay), so a database crash never looks like a
 * rollback. One indexed read per beat; nothing on the append path.
 */
export function createWitnessTick(opts: { db: Db; dataDir: string; databaseUrl: string; keys: ReadonlyMap<string, KeyObject>; log: Logger }) {
  let pending: StoredCheckpoint | null = null;
  return async function witnessTick(): Promise<void> {
    try {
      const latest = await latestCheckpoint(opts.db);
      if (pending) {
        if (!latest || BigInt(latest.id) < BigInt(pending.id)) {
          opts.log.error({ checkpoint: pending.id, seq: pending.seq.toString() }, "audit checkpoint vanished from the table before it was witnessed: checkpoints were deleted or the database rolled back");
        } else if (checkCheckpointSignature(opts.keys, pending) === "valid") {
          writeWitness(opts.dataDir, opts.databaseUrl, pending);
        }
      }
      pending = latest;
    } catch (err) {
      opts.log.warn({ err }, "audit witness not updated");
    }
  };
}
