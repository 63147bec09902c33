import "server-only";
import { reevaluateAll } from "@/lib/jobs/definitions/scan";
import { sendFromWeb } from "@/lib/jobs/sender";
import { childLogger } from "@/lib/log";

const log = childLogger("enqueue");

/**
 * Asks the worker to re-evaluate every running image against the current policies (after a policy
 * save or import), so verdicts follow. Returns false when the queue could not be reached: the save
 * stands, and the next scheduled scan re-evaluates anyway.
 */
export async function enqueueReevaluation(reason: string): Promise<boolean> {
  try {
    await sendFromWeb(reevaluateAll, { reason: reason.slice(0, 200) });
    return true;
  } catch (err) {
    log.warn({ err }, "could not enqueue policy.reevaluate");
    return false;
  }
}
