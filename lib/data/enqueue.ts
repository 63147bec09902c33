import "server-only";
import { getDb } from "@/lib/db/client";
import { reevaluateAll } from "@/lib/jobs/definitions/scan";
import { sendFromWeb } from "@/lib/jobs/sender";
import { childLogger } from "@/lib/log";
import { createScan } from "@/lib/scan/pipeline";

const log = childLogger("enqueue");

/**
 * Asks the worker to re-evaluate every running image against the current policies and keys from
 * stored evidence (after a policy or key change), as a `reevaluate` scan created here, so the overview
 * shows "re-evaluating…" from the moment of the save until its coverage snapshot is written. A
 * re-evaluation still queued (not started) covers this change too: it reads the policies when it runs.
 * Returns false when the queue could not be reached: the save stands, the next scan re-evaluates.
 */
export async function enqueueReevaluation(reason: string): Promise<boolean> {
  const db = getDb();
  let scanId: string | null = null;
  try {
    if (await db.scan.findFirst({ where: { kind: "reevaluate", status: "queued" }, select: { id: true } })) return true;
    scanId = await createScan(db, { trigger: reason.slice(0, 200), kind: "reevaluate" });
    await sendFromWeb(reevaluateAll, { reason: reason.slice(0, 200), scanId });
    return true;
  } catch (err) {
    log.warn({ err }, "could not enqueue policy.reevaluate");
    if (scanId) {
      await db.scan
        .update({ where: { id: scanId }, data: { status: "failed", stage: "done", finishedAt: new Date(), errors: [{ stage: "enqueue", message: "the job queue could not be reached" }] as never } })
        .catch(() => undefined);
    }
    return false;
  }
}
