import type { KeyObject } from "node:crypto";
import { GENESIS_HASH, hashEvent, type StoredLink } from "@/lib/audit/chain";
import { checkCheckpointSignature, sameCheckpoint, type Checkpoint, type StoredCheckpoint } from "@/lib/audit/checkpoint";

/**
 * Verification of the audit chain against its signed checkpoints, pure: the same walk checks the
 * database (lib/audit/store) and an exported file (`signet audit verify --file`).
 *
 * Events and checkpoints arrive in sequence order. Every event must link to the one before it and match
 * its own hash; every validly signed checkpoint must find the event it names with the hash it names;
 * every event must be covered by such a checkpoint (appends write one in the same transaction); and the
 * local witness (the last checkpoint this machine saw committed, lib/audit/witness) must still be in the
 * table. The first violation is reported with the range of sequence numbers it concerns.
 */

/** What went wrong, in the order the walk meets it. */
export type ChainProblemKind =
  /** an event's previous-hash does not match the event before it: events between were removed, or one changed */
  | "link"
  /** an event's content does not match its own hash: it was edited */
  | "content"
  /** a checkpoint names an event that is gone: the newest events were removed (truncation, a gap later filled by appends, everything deleted) */
  | "missing"
  /** the event a checkpoint names has another hash: the events up to it were rewritten and re-hashed */
  | "rewritten"
  /** a checkpoint's signature does not verify under the key it names: forged or altered */
  | "checkpoint-signature"
  /** events after the last checkpoint are covered by none: added or rewritten outside Signet (or by a version without checkpoints) */
  | "unanchored"
  /** the local witness's checkpoint is not in the table any more: checkpoints were removed or the database rolled back */
  | "witness-missing"
  /** the local witness file does not verify */
  | "witness-signature";

export interface ChainProblem {
  kind: ChainProblemKind;
  /** The last event before the affected range that still verifies (null: from the start). */
  afterSeq: string | null;
  /** The last sequence number the problem concerns. */
  throughSeq: string | null;
  /** The checkpoint that exposed it, when one did. */
  checkpoint: { id: string | null; seq: string; at: string } | null;
  message: string;
}

export interface ChainReport {
  ok: boolean;
  /** Events whose links and hashes verified before the first problem. */
  checked: number;
  head: { seq: string; hash: string } | null;
  /** The newest event vouched for by a validly signed checkpoint that matched. */
  anchoredThrough: { seq: string; at: string; keyId: string } | null;
  checkpoints: { valid: number; unknownKey: number };
  witness: "absent" | "matched" | "unknown-key" | "failed";
  problem: ChainProblem | null;
}

export interface VerifyInput {
  /** Pages of events in ascending sequence order. */
  events: AsyncIterable<StoredLink[]> | Iterable<StoredLink[]>;
  /** Checkpoints in ascending (seq, id) order. */
  checkpoints: AsyncIterable<StoredCheckpoint[]> | Iterable<StoredCheckpoint[]>;
  /** Public keys by fingerprint. */
  keys: ReadonlyMap<string, KeyObject>;
  /** The local witness, if any (checked like a checkpoint, and it must be one of `checkpoints`). */
  witness?: Checkpoint | null;
  /**
   * Start after an event a full walk verified (its hash checked by the caller): `events` and
   * `checkpoints` then hold only what follows `from.seq`. A witness at or before it was seen by that walk.
   */
  from?: { seq: bigint; hash: string; at: string; keyId: string } | null;
}

class Cursor<T> {
  private page: T[] = [];
  private i = 0;
  private readonly it: AsyncIterator<T[]> | Iterator<T[]>;
  constructor(source: AsyncIterable<T[]> | Iterable<T[]>) {
    this.it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (source as Iterable<T[]>)[Symbol.iterator]();
  }
  async peek(): Promise<T | undefined> {
    while (this.i >= this.page.length) {
      const r = await this.it.next();
      if (r.done) return undefined;
      this.page = r.value;
      this.i = 0;
    }
    return this.page[this.i];
  }
  take(): void {
    this.i++;
  }
}

const describeAfter = (afterSeq: bigint | null) => (afterSeq === null ? "from the first event" : `after event ${afterSeq}`);

export async function verifyChainWalk(input: VerifyInput): Promise<ChainReport> {
  const cps = new Cursor(input.checkpoints);
  const witness = input.witness ?? null;
  let witnessState: ChainReport["witness"] = "absent";
  let witnessPending: Checkpoint | null = null;
  let witnessInTable = false;
  if (witness) {
    const sig = checkCheckpointSignature(input.keys, witness);
    witnessState = sig === "valid" ? "matched" : sig === "unknown-key" ? "unknown-key" : "failed";
    if (sig === "valid") witnessPending = witness;
  }
  const from = input.from ?? null;
  let prevHash = from?.hash ?? GENESIS_HASH;
  let prevSeq: bigint | null = from?.seq ?? null;
  let checked = 0;
  let valid = 0;
  let unknownKey = 0;
  let anchored = from ? { seq: from.seq, at: from.at, keyId: from.keyId } : (null as { seq: bigint; at: string; keyId: string } | null);
  if (from && witnessPending && witnessPending.seq <= from.seq) {
    // the walk that verified the prefix met the checkpoint it names; its event is checked by the caller
    witnessPending = null;
    witnessInTable = true;
  }

  const report = (problem: ChainProblem | null): ChainReport => ({
    ok: problem === null,
    checked,
    head: prevSeq === null ? null : { seq: prevSeq.toString(), hash: prevHash },
    anchoredThrough: anchored ? { seq: anchored.seq.toString(), at: anchored.at, keyId: anchored.keyId } : null,
    checkpoints: { valid, unknownKey },
    witness: problem && (problem.kind === "witness-missing" || problem.kind === "witness-signature") ? "failed" : witnessState,
    problem,
  });
  const fail = (kind: ChainProblemKind, afterSeq: bigint | null, throughSeq: bigint | null, message: string, cp?: Checkpoint & { id?: string }) =>
    report({
      kind,
      afterSeq: afterSeq?.toString() ?? null,
      throughSeq: throughSeq?.toString() ?? null,
      checkpoint: cp ? { id: cp.id ?? null, seq: cp.seq.toString(), at: cp.at } : null,
      message,
    });
  const cpName = (cp: Checkpoint & { id?: string }) => (cp.id ? `checkpoint #${cp.id} (signed ${cp.at})` : `the local witness (signed ${cp.at})`);
  const lastAnchor = () => anchored?.seq ?? null;

  if (witness && witnessState === "failed") {
    return fail("witness-signature", null, witness.seq, `the local witness of checkpoint seq ${witness.seq} does not verify under the key it names: the file was altered`);
  }

  /** A checkpoint (or the witness) whose event the walk has passed without meeting it. */
  const missing = (cp: Checkpoint & { id?: string }) =>
    fail(
      "missing",
      prevSeq,
      cp.seq,
      prevSeq === null
        ? `no event remains of those ${cpName(cp)} vouched for, up to event ${cp.seq}: events were deleted`
        : `events ${describeAfter(prevSeq)} through ${cp.seq} are gone, though ${cpName(cp)} vouched for event ${cp.seq}: the newest events were deleted (later events, if any, were appended after the deletion)`,
      cp,
    );
  /** The event a checkpoint names has another hash. */
  const rewritten = (cp: Checkpoint & { id?: string }) =>
    fail(
      "rewritten",
      lastAnchor(),
      cp.seq,
      `event ${cp.seq} does not have the hash ${cpName(cp)} recorded: events ${describeAfter(lastAnchor())} through ${cp.seq} were rewritten (their hashes recomputed)`,
      cp,
    );

  /** Takes the checkpoints before `seq` (exclusive) or at it; returns a report to stop with, if any. */
  const takeCheckpoints = async (seq: bigint | null, at: "before" | "at", eventHash?: string): Promise<ChainReport | null> => {
    for (;;) {
      const cp = await cps.peek();
      if (!cp || (seq !== null && (at === "before" ? cp.seq >= seq : cp.seq !== seq))) return null;
      cps.take();
      const sig = checkCheckpointSignature(input.keys, cp);
      if (sig === "unknown-key") {
        unknownKey++;
        continue;
      }
      if (sig === "invalid") return fail("checkpoint-signature", null, cp.seq, `${cpName(cp)} for event ${cp.seq} has a signature that does not verify: it was forged or altered`, cp);
      valid++;
      if (witness && sameCheckpoint(cp, witness)) witnessInTable = true;
      if (at === "before") return missing(cp);
      if (cp.hash !== eventHash) return rewritten(cp);
      if (!anchored || cp.seq >= anchored.seq) anchored = { seq: cp.seq, at: cp.at, keyId: cp.keyId };
    }
  };

  for await (const page of input.events) {
    for (const ev of page) {
      let stop = await takeCheckpoints(ev.seq, "before");
      if (stop) return stop;
      if (witnessPending && witnessPending.seq < ev.seq) return missing(witnessPending);
      if (ev.prevHash !== prevHash) {
        const gap = prevSeq !== null && ev.seq > prevSeq + 1n;
        return fail(
          "link",
          prevSeq,
          ev.seq,
          prevSeq === null
            ? `event ${ev.seq}, the first, does not start the chain: the events before it were deleted`
            : `event ${ev.seq} does not link to event ${prevSeq}: ${gap ? `events between ${prevSeq} and ${ev.seq} were deleted, or ` : ""}event ${prevSeq} was changed or removed`,
        );
      }
      if (hashEvent(ev.prevHash, ev.content) !== ev.hash) return fail("content", prevSeq, ev.seq, `event ${ev.seq}'s content does not match its hash: it was edited`);
      prevHash = ev.hash;
      prevSeq = ev.seq;
      checked++;
      stop = await takeCheckpoints(ev.seq, "at", ev.hash);
      if (stop) return stop;
      if (witnessPending && witnessPending.seq === ev.seq) {
        if (witnessPending.hash !== ev.hash) return rewritten(witnessPending);
        witnessPending = null;
      }
    }
  }
  // checkpoints beyond the last event: the newest events were deleted
  const stop = await takeCheckpoints(null, "before");
  if (stop) return stop;
  if (witnessPending) return missing(witnessPending);
  if (prevSeq !== null && (!anchored || anchored.seq < prevSeq)) {
    return fail(
      "unanchored",
      lastAnchor(),
      prevSeq,
      `events ${describeAfter(lastAnchor())} through ${prevSeq} are covered by no signed checkpoint: they were added or rewritten outside Signet${anchored ? "" : " (or predate checkpoints: the next audit event anchors them)"}` +
        (unknownKey ? `; ${unknownKey} checkpoint(s) are signed with keys not configured here (is SIGNET_SECRET_KEY the server's, with SIGNET_SECRET_KEY_PREVIOUS?)` : ""),
    );
  }
  if (witness && witnessState === "matched" && !witnessInTable) {
    return fail(
      "witness-missing",
      null,
      witness.seq,
      `the checkpoint for event ${witness.seq} (signed ${witness.at}) that this machine saw committed is no longer in the checkpoint table: checkpoints were deleted or the database was rolled back`,
      witness,
    );
  }
  return report(null);
}
