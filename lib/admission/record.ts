import "server-only";
import { createHash } from "node:crypto";
import { appendAuditEvents, type NewAuditEvent } from "@/lib/audit/store";
import type { Db } from "@/lib/db/client";
import { withTransaction } from "@/lib/db/transaction";
import { storable } from "@/lib/text";
import type { Logger } from "pino";
import { outcomeReason } from "@/lib/policy/admission";
import type { AdmissionAnswer } from "@/lib/admission/answer";
import type { Caller } from "@/lib/admission/caller-auth";

/**
 * Records every admission decision of Signet's webhook: one `admission` event in the audit log per
 * answered review (allowed, denied, warned, timed out; each image with its digest, where its facts
 * came from and every policy's verdict), and the denials, warnings and timeouts beside the other
 * controllers' rejections (AdmissionRejection, controller `signet`: one row per namespace, object,
 * image, policy and decision, its count and last time advanced like an aggregated Event's).
 *
 * Written behind the answer: decisions are queued and flushed in one transaction every `flushMs`
 * (or at `maxBatch`), so the API server never waits on the audit chain's lock. A process killed
 * between an answer and the next flush loses at most that window's records (docs/decisions/0017).
 *
 * Each record says who called: an authenticated caller (the API server's client certificate and/or
 * token, docs/decisions/0018) or not. A review from an unauthenticated caller may be forged, so its
 * audit event's actor says "(unauthenticated caller)", its details carry the source address, and its
 * rejection rows are kept apart from authenticated ones (`callerAuthenticated` false) — a forged
 * review never advances the count of a real rejection.
 */
export interface AdmissionRecord {
  uid: string;
  operation: string;
  kind: string;
  name: string;
  namespace: string;
  user: string | null;
  dryRun: boolean;
  answer: AdmissionAnswer;
  caller: Caller;
  at: Date;
}

/** The audit actor of a review: the requesting user as the review names it, marked when the caller did not authenticate. */
export function actorOf(r: Pick<AdmissionRecord, "user" | "caller">): string | null {
  if (r.caller.authenticated) return r.user ? `kube:${r.user}`.slice(0, 300) : null;
  return `${r.user ? `kube:${r.user}`.slice(0, 270) : "(no user)"} (unauthenticated caller)`;
}

const DECISION: Record<AdmissionAnswer["decision"], string> = { admit: "allowed", warn: "warned", deny: "denied", "timed-out": "timed-out" };
const SEVERITY = { failed: 4, unsigned: 3, error: 2, verified: 1 } as const;

export function auditEventOf(r: AdmissionRecord, cluster: string): NewAuditEvent {
  const outcomes = r.answer.images.flatMap((i) => i.outcomes);
  const deciding = r.answer.admission ? [...r.answer.admission.denied, ...r.answer.admission.warned][0] : undefined;
  const worst = outcomes.reduce<(typeof outcomes)[number] | undefined>((w, o) => (!w || SEVERITY[o.verdict] > SEVERITY[w.verdict] ? o : w), undefined);
  const first = deciding ?? worst;
  const digest = first ? (r.answer.images.find((i) => i.container === first.container)?.digest ?? null) : null;
  return {
    kind: "admission",
    occurredAt: r.at,
    actor: actorOf(r),
    clusterName: cluster,
    namespace: r.namespace,
    workload: `${r.kind}/${r.name}`,
    imageDigest: digest,
    policyName: first?.policy ?? null,
    verdict: r.answer.decision === "timed-out" ? "error" : (first?.verdict ?? "unmatched"),
    reasons: first ? [{ code: first.reasons[0]?.code ?? first.verdict, message: outcomeReason(first) }] : r.answer.decision === "timed-out" ? [{ code: "timeout", message: r.answer.message || r.answer.warnings[0] }] : [],
    details: {
      decision: DECISION[r.answer.decision],
      uid: r.uid,
      operation: r.operation,
      dryRun: r.dryRun,
      caller: r.caller.authenticated ? { authenticated: true, via: r.caller.via, subject: r.caller.subject } : { authenticated: false, source: r.caller.source },
      elapsedMs: Math.round(r.answer.elapsedMs * 10) / 10,
      images: r.answer.images.map((i) => ({
        container: i.container,
        image: i.image,
        digest: i.digest,
        source: i.source,
        policies: i.outcomes.map((o) => ({ policy: o.policy, mode: o.mode, verdict: o.verdict, reason: o.verdict === "verified" ? null : outcomeReason(o) })),
      })),
    },
  };
}

/** The rejection-history rows of one decision (none for a plain admit). */
export function rejectionRowsOf(r: AdmissionRecord): Array<{ key: string; image: string | null; policyName: string | null; decision: string; message: string }> {
  if (r.answer.decision === "timed-out") {
    return [{ key: "", image: r.answer.images[0]?.image ?? null, policyName: null, decision: "timed-out", message: r.answer.message || r.answer.warnings[0] || "timed out" }];
  }
  const a = r.answer.admission;
  if (!a) return [];
  const rows = [
    ...a.denied.map((o) => ({ o, decision: "denied", message: a.message })),
    ...a.warned.map((o) => ({ o, decision: "warned", message: `policy "${o.policy}" (warn): image ${o.image} is ${o.verdict}: ${outcomeReason(o)}` })),
  ];
  return rows.map(({ o, decision, message }) => ({ key: `${o.image}|${o.policy}`, image: o.image, policyName: o.policy, decision, message }));
}

export class AdmissionRecorder {
  private queue: AdmissionRecord[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private clusterId: string | undefined;

  constructor(
    private readonly db: Db,
    private readonly cluster: string,
    private readonly log: Logger,
    private readonly opts: { flushMs?: number; maxBatch?: number } = {},
  ) {
    this.timer = setInterval(() => void this.flush(), opts.flushMs ?? 250);
    this.timer.unref();
  }

  record(r: AdmissionRecord): void {
    // a review's strings (images, names, the user) may hold U+0000, which PostgreSQL refuses: one such
    // record would fail every flush it is retried in, and no decision would be recorded again
    this.queue.push(storable(r));
    if (this.queue.length >= (this.opts.maxBatch ?? 500)) void this.flush();
  }

  /** Writes what is queued (one transaction); concurrent calls run one after the other. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      try {
        await this.write(batch);
      } catch (err) {
        // kept for the next flush: a database that is away for a moment loses nothing
        this.queue = [...batch, ...this.queue].slice(-50_000);
        this.log.error({ err, decisions: batch.length }, "admission decisions not recorded yet");
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async write(batch: AdmissionRecord[]): Promise<void> {
    this.clusterId ??= (await this.db.cluster.upsert({ where: { name: this.cluster }, create: { name: this.cluster, source: "in_cluster" }, update: {}, select: { id: true } })).id;
    const clusterId = this.clusterId;
    // one row per (namespace, object, image, policy, decision): repeated attempts advance it
    const rows = new Map<string, { namespace: string; workloadKind: string; workloadName: string; image: string | null; policyName: string | null; decision: string; message: string; callerAuthenticated: boolean; count: number; first: Date; last: Date }>();
    for (const r of batch) {
      for (const row of rejectionRowsOf(r)) {
        // an unauthenticated caller's rows never share a key with an authenticated caller's
        const parts = [r.namespace, r.kind, r.name, row.key, row.decision, ...(r.caller.authenticated ? [] : ["unauthenticated"])];
        const uid = `signet:${createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 40)}`;
        const prev = rows.get(uid);
        if (prev) {
          prev.count++;
          prev.last = r.at;
          prev.message = row.message;
        } else rows.set(uid, { namespace: r.namespace, workloadKind: r.kind, workloadName: r.name, image: row.image, policyName: row.policyName, decision: row.decision, message: row.message, callerAuthenticated: r.caller.authenticated, count: 1, first: r.at, last: r.at });
      }
    }
    await withTransaction(
      this.db,
      async (tx) => {
        for (const [eventUid, v] of rows) {
          const message = v.message.slice(0, 4000);
          await tx.admissionRejection.upsert({
            where: { clusterId_eventUid: { clusterId, eventUid } },
            create: { clusterId, eventUid, namespace: v.namespace, workloadKind: v.workloadKind, workloadName: v.workloadName, image: v.image, controller: "signet", webhook: "validate.signet.dev", policyName: v.policyName, decision: v.decision, callerAuthenticated: v.callerAuthenticated, message, firstSeen: v.first, lastSeen: v.last, count: v.count },
            update: { message, lastSeen: v.last, count: { increment: v.count } },
          });
        }
        await appendAuditEvents(tx, batch.map((r) => auditEventOf(r, this.cluster)));
      },
      { timeout: 60_000 },
    );
  }
}
