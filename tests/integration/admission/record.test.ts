import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AdmissionAnswer } from "@/lib/admission/answer";
import { AdmissionRecorder, type AdmissionRecord } from "@/lib/admission/record";
import { verifyAuditChain } from "@/lib/audit/store";
import { createDb, type Db } from "@/lib/db/client";
import { getLogger } from "@/lib/log";
import { decideAdmission, type AdmissionOutcome } from "@/lib/policy/admission";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";

/** A denied review of one container running `image`, as the answerer returns it. */
function denied(image: string, user: string, uid: string): AdmissionRecord {
  const outcome: AdmissionOutcome = { container: "app", image, policy: "release", mode: "enforce", verdict: "error", reasons: [{ code: "digest-unresolved", message: `"${image}" is not an image reference` }] };
  const admission = decideAdmission([outcome]);
  const answer: AdmissionAnswer = {
    decision: admission.decision,
    allowed: false,
    message: admission.message,
    warnings: admission.warnings,
    images: [{ container: "app", image, digest: null, source: "unresolved", outcomes: [outcome] }],
    admission,
    elapsedMs: 1,
  };
  return { uid, operation: "CREATE", kind: "Pod", name: "p", namespace: "team", user, dryRun: false, answer, caller: { authenticated: false, via: [], subject: null, source: "127.0.0.1" }, at: new Date() };
}

/**
 * The admission recorder keeps a batch that failed to write for the next flush. A review whose strings
 * hold U+0000 (an image, the user name: anyone who can reach the webhook without caller authentication
 * sends what they like) made every flush fail, so no decision was recorded again.
 */
describe("admission records", () => {
  let tdb: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 2);
  });

  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("a review holding U+0000 is recorded (with U+FFFD) and does not stop the records after it", async () => {
    const recorder = new AdmissionRecorder(db, "test", getLogger(), { flushMs: 60_000 });
    recorder.record(denied("registry.example/app\u0000:1", "mallory\u0000", "uid-1"));
    await recorder.flush();
    recorder.record(denied("registry.example/app:2", "alice", "uid-2"));
    await recorder.close();
    const events = await db.verificationEvent.findMany({ where: { kind: "admission" }, orderBy: { seq: "asc" } });
    expect(events.map((e) => (e.details as { uid: string }).uid)).toEqual(["uid-1", "uid-2"]);
    expect(events[0]!.actor).toBe("kube:mallory\uFFFD (unauthenticated caller)");
    const rejections = await db.admissionRejection.findMany({ orderBy: { image: "asc" } });
    expect(rejections.map((r) => r.image)).toEqual(["registry.example/app:2", "registry.example/app\uFFFD:1"]);
    expect((await verifyAuditChain(db)).ok).toBe(true);
  });
});
