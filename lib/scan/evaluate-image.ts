import "server-only";
import { createHash } from "node:crypto";
import { canonicalJson } from "@/lib/audit/chain";
import { appendAuditEvents, type NewAuditEvent } from "@/lib/audit/store";
import type { Db } from "@/lib/db/client";
import { createBudget } from "@/lib/concurrency";
import { insertRows, uuidList } from "@/lib/db/bulk";
import { withTransaction } from "@/lib/db/transaction";
import { Prisma } from "@/lib/generated/prisma/client";
import { evaluate, type Reason, type Verdict as PolicyVerdict } from "@/lib/policy/evaluate";
import type { DiscoveryFact, EvidenceFact } from "@/lib/policy/facts";
import { parseImageReference } from "@/lib/kube/image-ref";
import { policyApplies } from "@/lib/policy/scope";
import { lastKnownAfter, overallVerdict, type Verdict as CoverageVerdict } from "@/lib/coverage/compute";
import type { LoadedPolicy } from "@/lib/policy/store";

/**
 * Evaluates every applicable policy for every running container of one image and stores the result:
 * the latest Verdict per (container, policy) is inserted or updated, verdicts of policies that no longer
 * apply are removed, and each new or changed outcome appends a verification event — all in one
 * transaction, so verdicts and the audit log never disagree.
 */
export interface EvaluateImageInput {
  imageId: string;
  facts: EvidenceFact[];
  discovery: DiscoveryFact;
  policies: LoadedPolicy[];
  now: Date;
  /** Why this evaluation happens (scan, policy-change, revocation, …), recorded in events. */
  trigger: string;
  /** Append an event even when the outcome did not change (an explicitly requested re-verification). */
  recordUnchanged?: boolean;
}

export interface EvaluateImageResult {
  containers: number;
  verdicts: number;
  changed: number;
  /** Its evaluation inputs were those of its stored verdicts: they were kept (touched), not recomputed. */
  reused?: boolean;
}

type VerdictValue = "verified" | "failed" | "unsigned" | "error";

function policyErrorVerdict(error: string): PolicyVerdict {
  return { value: "error", reasons: [{ code: "evidence-error", message: `policy cannot be evaluated: ${error}` }], satisfiedBy: [], evidenceIds: [] };
}

/**
 * Reads the current verdicts, evaluates and writes in one transaction under per-image advisory locks:
 * two evaluations of the same image (a job re-sent by the sweep while the first is still running, a
 * scan check racing a re-verification) are serialized, so the second sees the first's verdicts and
 * neither duplicates a verdict event nor fails on the (container, policy) unique key.
 */
export async function evaluateImage(db: Db, input: EvaluateImageInput): Promise<EvaluateImageResult> {
  const [r] = await evaluateImages(db, [input]);
  return r!;
}

/**
 * evaluateImage for a batch of images in one transaction: one read of every container and verdict,
 * one write per kind of change, one append to the audit chain. Results are in input order.
 */
export async function evaluateImages(db: Db, inputs: readonly EvaluateImageInput[]): Promise<EvaluateImageResult[]> {
  if (inputs.length === 0) return [];
  const ids = [...new Set(inputs.map((i) => i.imageId))];
  if (ids.length !== inputs.length) throw new Error("evaluateImages: one input per image");
  return withTransaction(
    db,
    async (tx) => {
      // locks in a stable order: two batches sharing images cannot deadlock
      const keys = [...ids].sort().map((id) => `image:${id}`);
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest(${keys}::text[]) AS k ORDER BY k`;
      return evaluateImagesLocked(tx, inputs);
    },
    { timeout: 120_000, maxWait: 30_000 },
  );
}

/** An image with its running containers and their current verdicts, as evaluation reads them. */
interface LoadedImage {
  id: string;
  registry: string;
  repository: string;
  digest: string;
  verdict: CoverageVerdict | null;
  runningContainers: number;
  runningClusters: string[];
  signers: string[];
  policyVerdicts: string[];
  /** The containers' part of the evaluation digest (the same as the grouped read in evaluateImagesLocked makes). */
  containersDigest: string;
  containers: Array<{
    id: string;
    imageRef: string;
    pod: { name: string; namespace: { id: string; name: string; labels: unknown }; cluster: { id: string; name: string }; workload: { kind: string; name: string } | null };
    verdicts: Array<{ id: string; policyId: string; policyVersion: number; value: VerdictValue | "unmatched"; lastKnownValue: string | null; reasons: unknown; evidenceIds: string[] }>;
  }>;
}

/** Three flat queries (images, live containers with pod / namespace / cluster / workload, verdicts). */
async function loadImages(tx: Prisma.TransactionClient, ids: readonly string[]): Promise<LoadedImage[]> {
  const images = await tx.$queryRaw<Array<Omit<LoadedImage, "containers" | "containersDigest">>>`
    SELECT id, registry, repository, digest, verdict::text AS verdict, "runningContainers", COALESCE("runningClusters", '{}')::text[] AS "runningClusters", signers,
           COALESCE("policyVerdicts", '{}') AS "policyVerdicts"
    FROM "Image" WHERE id = ANY(${ids}::uuid[])`;
  const containers = await tx.$queryRaw<
    Array<{ id: string; imageId: string; imageRef: string; pod: string; namespaceId: string; namespace: string; labels: unknown; clusterId: string; cluster: string; workloadKind: string | null; workloadName: string | null; digest: string }>
  >`
    SELECT c.id, c."imageId", c."imageRef", p.name AS pod, ns.id::text AS "namespaceId", ns.name AS namespace, ns.labels, cl.id::text AS "clusterId", cl.name AS cluster,
           w.kind::text AS "workloadKind", w.name AS "workloadName",
           md5(string_agg(${CONTAINER_FINGERPRINT}, ',') OVER (PARTITION BY c."imageId" ORDER BY c.id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) AS digest
    ${LIVE_CONTAINERS}
    WHERE c."imageId" = ANY(${ids}::uuid[])
    ORDER BY c.id`;
  const verdicts = containers.length
    ? await tx.$queryRaw<Array<LoadedImage["containers"][number]["verdicts"][number] & { containerId: string }>>`
        SELECT id, "containerId", "policyId", "policyVersion", value::text AS value, "lastKnownValue"::text AS "lastKnownValue", reasons, "evidenceIds"
        FROM "Verdict" WHERE "containerId" = ANY(string_to_array(${uuidList(containers.map((c) => c.id))}, ',')::uuid[])`
    : [];
  const verdictsOf = new Map<string, LoadedImage["containers"][number]["verdicts"]>();
  for (const v of verdicts) verdictsOf.set(v.containerId, [...(verdictsOf.get(v.containerId) ?? []), v]);
  const byImage = new Map<string, LoadedImage["containers"]>();
  for (const c of containers) {
    const list = byImage.get(c.imageId) ?? [];
    list.push({
      id: c.id,
      imageRef: c.imageRef,
      pod: {
        name: c.pod,
        namespace: { id: c.namespaceId, name: c.namespace, labels: c.labels },
        cluster: { id: c.clusterId, name: c.cluster },
        workload: c.workloadKind && c.workloadName ? { kind: c.workloadKind, name: c.workloadName } : null,
      },
      verdicts: verdictsOf.get(c.id) ?? [],
    });
    byImage.set(c.imageId, list);
  }
  const digestOf = new Map(containers.map((c) => [c.imageId, c.digest]));
  // no live container: the part an empty set makes (the grouped read finds no row either)
  return images.map((i) => ({ ...i, containers: byImage.get(i.id) ?? [], containersDigest: digestOf.get(i.id) ?? "" }));
}

interface Plan {
  creates: Prisma.VerdictCreateManyInput[];
  updates: Map<string, { ids: string[]; data: Prisma.VerdictUpdateManyMutationInput }>;
  events: NewAuditEvent[];
  removals: string[];
  images: Array<{ id: string; verdict: CoverageVerdict | null; runningContainers: number; runningClusters: string[]; signers: string[]; policyVerdicts: string[] }>;
}

/** Every policy's verdict for the image's evidence (the same for all its containers). */
function policyResults(input: EvaluateImageInput): Map<string, PolicyVerdict> {
  const results = new Map<string, PolicyVerdict>();
  for (const p of input.policies) {
    results.set(p.id, p.policy ? evaluate(p.policy.spec, input.facts, { discovery: input.discovery, now: input.now }, p.policy.keys) : policyErrorVerdict(p.error));
  }
  return results;
}

/**
 * A digest of everything an image's stored verdicts, events and denormalized columns are computed
 * from: each policy's identity, version, mode, scope and result, the signers, and (from
 * `containersDigest`) its live containers with their pod, namespace labels, cluster and workload.
 * Equal digests mean a new evaluation would write exactly what is stored.
 */
function evaluationDigest(input: EvaluateImageInput, results: Map<string, PolicyVerdict>, containersDigest: string): string {
  const h = createHash("sha256").update("evaluation-v1\n").update(containersDigest).update("\n");
  for (const p of [...input.policies].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const r = results.get(p.id)!;
    h.update(
      `${canonicalJson(JSON.parse(JSON.stringify([p.id, p.name, p.version, p.mode, p.policy ? p.policy.spec.scope ?? null : p.error, r.value, r.reasons, r.evidenceIds, r.satisfiedBy])))}\n`,
    );
  }
  h.update(JSON.stringify(signerIds(input.facts)));
  return h.digest("hex");
}

/** One live container's part of its image's evaluation digest (over the aliases of LIVE_CONTAINERS). */
const CONTAINER_FINGERPRINT = Prisma.sql`concat_ws('|', c.id, c."imageRef", p.name, ns.name, ns.labels::text, cl.name, w.kind::text, w.name)`;
/** The live containers with their pod, namespace, cluster and workload (`c`, `p`, `ns`, `cl`, `w`). */
const LIVE_CONTAINERS = Prisma.sql`
  FROM "Container" c
  JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL
  JOIN "Namespace" ns ON ns.id = p."namespaceId"
  JOIN "Cluster" cl ON cl.id = p."clusterId"
  LEFT JOIN "Workload" w ON w.id = p."workloadId"`;

/**
 * Records, for the next evaluation of each image, the containers' part of its digest with the
 * visibility snapshot it was read under and the counts then (and the new evaluation digest when
 * `hash` is given), and drops the image's changes that snapshot saw: they are in what was read.
 */
async function recordEvaluation(
  tx: Prisma.TransactionClient,
  inputs: string,
  now: Date,
  rows: ReadonlyArray<{ id: string; hash: string | null; containers: string; containerCount: number; verdictCount: number }>,
): Promise<void> {
  if (rows.length === 0) return;
  await tx.$executeRaw`
    UPDATE "Image" i SET "evaluationHash" = COALESCE(u.hash, i."evaluationHash"), "evaluatedAt" = ${now},
      "containersDigest" = u.containers, "containersInputs" = ${inputs}, "evaluatedContainers" = u.n, "evaluatedVerdicts" = u.v
    FROM unnest(${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.hash)}::text[], ${rows.map((r) => r.containers)}::text[],
                ${rows.map((r) => r.containerCount)}::int[], ${rows.map((r) => r.verdictCount)}::int[]) AS u(id, hash, containers, n, v)
    WHERE i.id = u.id`;
  await tx.$executeRaw`
    DELETE FROM "ImageInventoryChange"
    WHERE "imageId" = ANY(${rows.map((r) => r.id)}::uuid[]) AND pg_visible_in_snapshot(xid::text::xid8, ${inputs}::pg_snapshot)`;
}

async function evaluateImagesLocked(tx: Prisma.TransactionClient, inputs: readonly EvaluateImageInput[]): Promise<EvaluateImageResult[]> {
  const ids = inputs.map((i) => i.imageId);
  // the visibility snapshot the containers below are read under, taken before any of them (a change
  // committing in between counts as unseen: read again next time, never taken as seen; ADR 0027)
  const [taken] = await tx.$queryRaw<{ inputs: string }[]>`SELECT pg_current_snapshot()::text AS inputs`;
  // the cheap check first: images whose evaluation inputs are those of their stored verdicts are not
  // read back and rewritten (a rescan with nothing changed); their verdicts are only touched. The
  // containers' part of the digest is the one recorded with the stored verdicts while no change of
  // the image's containers, pods or namespaces is unseen by it; otherwise it is read (one grouped
  // query over the batch's containers, not a subquery per image: a per-image plan rebuilds its hash
  // joins for every image). Images never evaluated are evaluated whatever it is: read with them below.
  const stored = await tx.$queryRaw<
    { id: string; stored: string | null; containers: string | null; containerCount: number | null; verdictCount: number | null; current: boolean; running: number }[]
  >`
    SELECT i.id, i."evaluationHash" AS stored, i."runningContainers" AS running, i."containersDigest" AS containers, i."evaluatedContainers" AS "containerCount", i."evaluatedVerdicts" AS "verdictCount",
           (i."containersInputs" IS NOT NULL AND i."containersDigest" IS NOT NULL AND i."evaluatedContainers" IS NOT NULL AND i."evaluatedVerdicts" IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM "ImageInventoryChange" ch
                            WHERE ch."imageId" = i.id AND NOT pg_visible_in_snapshot(ch.xid::text::xid8, i."containersInputs"::pg_snapshot))) AS current
    FROM "Image" i WHERE i.id = ANY(${ids}::uuid[])`;
  const toRead = stored.filter((s) => s.stored !== null && !s.current).map((s) => s.id);
  const live = toRead.length
    ? await tx.$queryRaw<{ id: string; containers: string; containerCount: number; verdictCount: number }[]>`
        SELECT c."imageId" AS id,
               md5(string_agg(${CONTAINER_FINGERPRINT}, ',' ORDER BY c.id)) AS containers,
               count(*)::int AS "containerCount",
               sum((SELECT count(*) FROM "Verdict" v WHERE v."containerId" = c.id))::int AS "verdictCount"
        ${LIVE_CONTAINERS}
        WHERE c."imageId" = ANY(${toRead}::uuid[])
        GROUP BY c."imageId"`
    : [];
  const liveOf = new Map(live.map((l) => [l.id, l]));
  const storedOf = new Map(stored.map((s) => [s.id, s]));
  /** The containers' part of each image's digest and its counts, as recorded or as read now (absent: never evaluated). */
  const partOf = new Map<string, { containers: string; containerCount: number; verdictCount: number; read: boolean }>();
  for (const s of stored) {
    if (s.current) partOf.set(s.id, { containers: s.containers!, containerCount: s.containerCount!, verdictCount: s.verdictCount!, read: false });
    else if (s.stored !== null) {
      const l = liveOf.get(s.id);
      partOf.set(s.id, { containers: l?.containers ?? "", containerCount: l?.containerCount ?? 0, verdictCount: l?.verdictCount ?? 0, read: true });
    }
  }
  const results = new Map<string, EvaluateImageResult>();
  const verdictsOf = new Map<string, Map<string, PolicyVerdict>>();
  const unchanged: string[] = [];
  for (const input of inputs) {
    const d = storedOf.get(input.imageId);
    if (!d) {
      results.set(input.imageId, { containers: 0, verdicts: 0, changed: 0 });
      continue;
    }
    const verdicts = policyResults(input);
    verdictsOf.set(input.imageId, verdicts);
    const part = partOf.get(input.imageId);
    if (part && !input.recordUnchanged && d.stored === evaluationDigest(input, verdicts, part.containers)) {
      unchanged.push(input.imageId);
      results.set(input.imageId, { containers: part.containerCount, verdicts: part.verdictCount, changed: 0, reused: true });
    }
  }
  const now = inputs[0]!.now;
  // their running containers' verdicts are confirmed as of now: one image row each, no verdict row
  // rewritten (Image.evaluatedAt; readers show the later of the two, ADR 0025); a part read now is
  // recorded for the next evaluation
  const kept = unchanged.filter((id) => !partOf.get(id)!.read);
  if (kept.length) await tx.$executeRaw`UPDATE "Image" SET "evaluatedAt" = ${now} WHERE id = ANY(${kept}::uuid[])`;
  const reread = unchanged.filter((id) => partOf.get(id)!.read);
  if (reread.length) await recordEvaluation(tx, taken!.inputs, now, reread.map((id) => ({ id, hash: null, ...partOf.get(id)! })));
  const toEvaluate = inputs.filter((i) => verdictsOf.has(i.imageId) && !unchanged.includes(i.imageId));
  if (toEvaluate.length === 0) return inputs.map((i) => results.get(i.imageId)!);

  // the heavy part — every container read, its verdict and event planned, written and appended — within
  // the process's evaluation budget: its working set grows with the containers (EVALUATION_BUDGET_CONTAINERS),
  // taken as the images' running containers when last recounted (by a scan before its checks, by a
  // watch's write after it): a bound of memory, read with the image rows above, not a count of every
  // container joined with its pod (at 100,000 pods 40 such counts cost PostgreSQL seconds)
  const counted = toEvaluate.reduce((n, i) => n + (storedOf.get(i.imageId)?.running ?? 0), 0);
  return evaluationBudget.run(counted, async () => {
    const { plan, before } = await planEvaluations(tx, toEvaluate, verdictsOf, results);
    if (plan.removals.length) await tx.verdict.deleteMany({ where: { id: { in: plan.removals } } });
    // (taken out of the plan: released once written)
    await insertVerdicts(tx, plan.creates.splice(0));
    for (const g of plan.updates.values()) await tx.verdict.updateMany({ where: { id: { in: g.ids } }, data: g.data });
    // verdicts whose outcome did not change are not rewritten: the image's evaluatedAt (below) confirms them
    // the denormalized image columns, for the images whose values changed, in one statement
    const changedImages = plan.images.filter((u) => {
      const prev = before.get(u.id)!;
      return (
        prev.verdict !== u.verdict ||
        prev.runningContainers !== u.runningContainers ||
        canonicalJson(prev.runningClusters) !== canonicalJson(u.runningClusters) ||
        canonicalJson(prev.signers) !== canonicalJson(u.signers) ||
        canonicalJson(prev.policyVerdicts) !== canonicalJson(u.policyVerdicts)
      );
    });
    if (changedImages.length) {
      await tx.$executeRaw`
        UPDATE "Image" i SET
          verdict = u.verdict::"VerdictValue",
          "runningContainers" = u.running,
          "runningClusters" = ARRAY(SELECT jsonb_array_elements_text(u.clusters::jsonb))::uuid[],
          signers = ARRAY(SELECT jsonb_array_elements_text(u.signers::jsonb)),
          "policyVerdicts" = ARRAY(SELECT jsonb_array_elements_text(u.verdicts::jsonb))
        FROM unnest(${changedImages.map((u) => u.id)}::uuid[], ${changedImages.map((u) => u.verdict)}::text[],
                    ${changedImages.map((u) => u.runningContainers)}::int[], ${changedImages.map((u) => JSON.stringify(u.runningClusters))}::text[],
                    ${changedImages.map((u) => JSON.stringify(u.signers))}::text[], ${changedImages.map((u) => JSON.stringify(u.policyVerdicts))}::text[])
          AS u(id, verdict, running, clusters, signers, verdicts)
        WHERE i.id = u.id`;
    }
    // what these verdicts were computed from, for the cheap check of the next evaluation, and when: the
    // containers as loaded for them (the verdicts written are theirs)
    await recordEvaluation(
      tx,
      taken!.inputs,
      now,
      toEvaluate.flatMap((input) => {
        const image = before.get(input.imageId);
        if (!image) return [];
        const r = results.get(input.imageId)!;
        return [{ id: image.id, hash: evaluationDigest(input, verdictsOf.get(input.imageId)!, image.containersDigest), containers: image.containersDigest, containerCount: r.containers, verdictCount: r.verdicts }];
      }),
    );
    // last: the chain lock is held from here to commit, so appends of concurrent batches wait the least
    await appendAuditEvents(tx, plan.events);
    return inputs.map((i) => results.get(i.imageId)!);
  });
}

/**
 * Containers whose evaluation one process reads, plans and writes at once, over its concurrent batches:
 * each holds ~2 KB of heap from its read to its batch's audit append (its row, its verdict, its event
 * and the statements they travel in). Eight job slots each evaluating a first batch of 250 images with
 * ten containers each (the 100,000-pod scan) held about 8 × 5 MB at once on top of the rest of the
 * worker's 192 MB heap and exhausted it (docs/decisions/0019); appends serialize on the audit chain's
 * lock anyway, so batches beyond the budget wait (FIFO) before their read instead of after their plan.
 * A batch larger than the budget runs alone. Evaluations whose inputs did not change take none of it.
 */
export const EVALUATION_BUDGET_CONTAINERS = 5000;
const evaluationBudget = createBudget(EVALUATION_BUDGET_CONTAINERS);

/** The containers this process is evaluating now, and the batches waiting for the budget. */
export function evaluationsInFlight(): { containers: number; waiting: number } {
  return { containers: evaluationBudget.inFlight, waiting: evaluationBudget.pending };
}

/** An image as read before its evaluation, without its containers. */
type ImageBefore = Omit<LoadedImage, "containers">;

/**
 * Reads the images' live containers and current verdicts and plans the batch's writes; returns the plan
 * and each image as it was read, without its containers: they are not held past the plan.
 */
async function planEvaluations(
  tx: Prisma.TransactionClient,
  toEvaluate: readonly EvaluateImageInput[],
  verdictsOf: ReadonlyMap<string, Map<string, PolicyVerdict>>,
  results: Map<string, EvaluateImageResult>,
): Promise<{ plan: Plan; before: Map<string, ImageBefore> }> {
  const loaded = await loadImages(tx, toEvaluate.map((i) => i.imageId));
  const byId = new Map(loaded.map((i) => [i.id, i]));
  const plan: Plan = { creates: [], updates: new Map(), events: [], removals: [], images: [] };
  for (const input of toEvaluate) {
    const image = byId.get(input.imageId);
    results.set(input.imageId, image ? planImage(image, input, verdictsOf.get(input.imageId)!, plan) : { containers: 0, verdicts: 0, changed: 0 });
  }
  const before = new Map<string, ImageBefore>();
  for (const i of loaded) {
    before.set(i.id, {
      id: i.id,
      registry: i.registry,
      repository: i.repository,
      digest: i.digest,
      verdict: i.verdict,
      runningContainers: i.runningContainers,
      runningClusters: i.runningClusters,
      signers: i.signers,
      policyVerdicts: i.policyVerdicts,
      containersDigest: i.containersDigest,
    });
  }
  return { plan, before };
}

function planImage(image: LoadedImage, input: EvaluateImageInput, results: Map<string, PolicyVerdict>, plan: Plan): EvaluateImageResult {
  const imageName = `${image.registry}/${image.repository}`;
  const evidenceSummary = (ids: string[]) =>
    input.facts
      .filter((f) => ids.includes(f.id))
      .map((f) => ({
        id: f.id,
        kind: f.kind,
        signer: f.signer?.kind === "key" ? { key: f.signer.fingerprints } : f.signer ? { identity: f.signer.identity, issuer: f.signer.issuer } : null,
        logIndex: f.tlog?.logIndex ?? null,
        integratedTime: f.tlog?.integratedTime?.toISOString() ?? null,
        predicateType: f.predicateType ?? null,
      }));
  // each policy's event evidence and details, built once and shared by the events of all the image's
  // containers (appendAuditEvents converts and hashes a shared object once)
  const eventParts = new Map<string, { evidence: ReturnType<typeof evidenceSummary>; details: { trigger: string; mode: string; satisfiedBy: unknown } }>();
  const partsOf = (p: LoadedPolicy, r: PolicyVerdict) => {
    let parts = eventParts.get(p.id);
    if (!parts) eventParts.set(p.id, (parts = { evidence: evidenceSummary(r.evidenceIds), details: { trigger: input.trigger, mode: p.mode, satisfiedBy: r.satisfiedBy } }));
    return parts;
  };

  // One evaluation per policy (the result depends on the image's evidence, not on the container,
  // computed by the caller), then scope decides which containers it applies to.
  // canonical forms of each policy's result, computed once for all containers
  const canonical = new Map([...results].map(([id, r]) => [id, { reasons: canonicalJson(JSON.parse(JSON.stringify(r.reasons))), evidenceIds: canonicalJson(r.evidenceIds) }]));

  // the image's advisory lock (held by the caller) makes "no verdict yet" stable until commit: plain inserts
  const { creates, updates, events, removals } = plan;
  let verdicts = 0;
  let changedCount = 0;
  const perContainer: CoverageVerdict[] = [];
  // the image list's policy and stale filters: "<policy id>", "<policy id>:<value>" and "<value>" of every verdict kept
  const policyVerdicts = new Set<string>();
  for (const c of image.containers) {
    const ns = c.pod.namespace;
    const ctx = {
      cluster: c.pod.cluster.name,
      namespace: ns.name,
      namespaceLabels: (ns.labels ?? {}) as Record<string, string>,
      imageName,
      imageRef: c.imageRef,
    };
    const applicable = input.policies.filter((p) => (p.policy ? policyApplies(p.policy.spec, ctx) : true));
    perContainer.push(overallVerdict(applicable.map((p) => results.get(p.id)!.value)));
    const applicableIds = new Set(applicable.map((p) => p.id));
    const existing = new Map(c.verdicts.map((v) => [v.policyId, v]));
    const eventBase = {
      kind: "verdict" as const,
      clusterName: ctx.cluster,
      namespace: ctx.namespace,
      workload: c.pod.workload ? `${c.pod.workload.kind}/${c.pod.workload.name}` : `Pod/${c.pod.name}`,
      containerId: c.id,
      imageDigest: image.digest,
      occurredAt: input.now,
    };
    for (const v of c.verdicts) {
      if (applicableIds.has(v.policyId)) continue;
      removals.push(v.id);
      changedCount++;
      events.push(outOfScopeEvent(eventBase, v, input.policies, input.trigger));
    }
    for (const p of applicable) {
      const r = results.get(p.id)!;
      verdicts++;
      const prev = existing.get(p.id);
      const value = r.value as VerdictValue;
      const lastKnownValue = lastKnownAfter(value, prev, p.version);
      policyVerdicts.add(p.id).add(`${p.id}:${value}`).add(value);
      const changed = !prev || prev.value !== value || prev.policyVersion !== p.version;
      const reasons = r.reasons as unknown as Prisma.InputJsonValue;
      const same =
        prev &&
        !changed &&
        prev.lastKnownValue === lastKnownValue &&
        canonicalJson(prev.reasons) === canonical.get(p.id)!.reasons &&
        canonicalJson(prev.evidenceIds) === canonical.get(p.id)!.evidenceIds;
      if (same) {
        // kept as it is (confirmed by the image's evaluatedAt)
      } else if (!prev) {
        creates.push({ containerId: c.id, namespaceId: c.pod.namespace.id, policyId: p.id, policyVersion: p.version, value, lastKnownValue, reasons, evidenceIds: r.evidenceIds, evaluatedAt: input.now, changedAt: input.now });
      } else {
        // the result is per (image, policy), so every container's update for it is the same: one statement each
        const valueChanged = prev.value !== value;
        const key = `${image.id}|${p.id}|${valueChanged}|${lastKnownValue}`;
        let g = updates.get(key);
        if (!g) {
          g = {
            ids: [],
            data: { policyVersion: p.version, value, lastKnownValue, reasons, evidenceIds: r.evidenceIds, evaluatedAt: input.now, ...(valueChanged ? { changedAt: input.now } : {}) },
          };
          updates.set(key, g);
        }
        g.ids.push(prev.id);
      }
      if (changed || input.recordUnchanged) {
        changedCount++;
        events.push({
          ...eventBase,
          policyName: p.name,
          policyVersion: p.version,
          verdict: value,
          previousVerdict: prev?.value ?? null,
          reasons: r.reasons satisfies Reason[],
          ...partsOf(p, r),
        });
      }
    }
  }
  plan.images.push({
    id: image.id,
    verdict: perContainer.length ? overallVerdict(perContainer) : null,
    runningContainers: image.containers.length,
    // sorted as updateRunningContainers sorts them (uuid order = the order of their lowercase text)
    runningClusters: [...new Set(image.containers.map((c) => c.pod.cluster.id))].sort(),
    signers: signerIds(input.facts),
    policyVerdicts: [...policyVerdicts].sort(),
  });
  return { containers: image.containers.length, verdicts, changed: changedCount };
}

const VERDICT_COLUMNS = ["containerId", "namespaceId", "policyId", "policyVersion", "value", "lastKnownValue", "reasons", "evidenceIds", "evaluatedAt", "changedAt"] as const;

/** New verdicts, as one JSON parameter per thousand (lib/db/bulk.ts: createMany's query compiler costs ~0.25 ms of CPU per row). */
async function insertVerdicts(tx: Prisma.TransactionClient, rows: readonly Prisma.VerdictCreateManyInput[]): Promise<void> {
  await insertRows(tx, "Verdict", VERDICT_COLUMNS, rows as unknown as Record<string, unknown>[]);
}

/** Ids of the signers of valid evidence, for filtering images by signer. */
export function signerIds(facts: readonly EvidenceFact[]): string[] {
  const ids = new Set<string>();
  for (const f of facts) {
    if (f.status !== "valid" || !f.signer) continue;
    if (f.signer.kind === "key") for (const fp of f.signer.fingerprints) ids.add(`key:${fp}`);
    else ids.add(`keyless:${f.signer.issuer}|${f.signer.identity}`);
  }
  return [...ids].sort();
}

/** A running container whose image digest is unknown (its tag could not be resolved), and why. */
export interface UnresolvedContainer {
  id: string;
  reason: string;
}

/**
 * Every running container gets a verdict for every policy that applies to it: one whose digest could
 * not be resolved (registry unreachable, tag missing, bad reference) gets `error` for each applicable
 * policy — Signet cannot tell what runs, which is never verified, failed, unsigned or unmatched —
 * with an event when that is new. Scope is matched on the reference as written (registry/repository
 * are known without a digest). Once the digest is known, the image's evaluation replaces them.
 */
export async function evaluateUnresolvedContainers(
  db: Db,
  input: { containers: readonly UnresolvedContainer[]; policies: LoadedPolicy[]; now: Date; trigger: string },
): Promise<{ verdicts: number; changed: number }> {
  // in parts of UNRESOLVED_CONTAINERS_A_TRANSACTION, each within the process's evaluation budget: a
  // registry outage leaves every container started by tag unresolved (100,000 at scale), and one
  // transaction reading them all with their pods and verdicts would not fit a worker's heap
  const total = { verdicts: 0, changed: 0 };
  for (let i = 0; i < input.containers.length; i += UNRESOLVED_CONTAINERS_A_TRANSACTION) {
    const part = input.containers.slice(i, i + UNRESOLVED_CONTAINERS_A_TRANSACTION);
    const r = await evaluationBudget.run(part.length, () => evaluateUnresolvedPart(db, { ...input, containers: part }));
    total.verdicts += r.verdicts;
    total.changed += r.changed;
  }
  return total;
}

/** Unresolved containers evaluated in one transaction (and read at once: their pods and verdicts). */
export const UNRESOLVED_CONTAINERS_A_TRANSACTION = 1000;

async function evaluateUnresolvedPart(
  db: Db,
  input: { containers: readonly UnresolvedContainer[]; policies: LoadedPolicy[]; now: Date; trigger: string },
): Promise<{ verdicts: number; changed: number }> {
  if (input.containers.length === 0) return { verdicts: 0, changed: 0 };
  const reasonOf = new Map(input.containers.map((c) => [c.id, c.reason]));
  return withTransaction(
    db,
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('unresolved-containers'))`;
      const rows = await tx.container.findMany({
        where: { id: { in: [...reasonOf.keys()] }, digest: null, pod: { deletedAt: null } },
        include: { pod: { include: { namespace: true, cluster: true, workload: true } }, verdicts: true },
      });
      const events: NewAuditEvent[] = [];
      const creates: Prisma.VerdictCreateManyInput[] = [];
      const removals: string[] = [];
      const updates = new Map<string, { ids: string[]; data: Prisma.VerdictUpdateManyMutationInput }>();
      const untouched: string[] = [];
      let verdicts = 0;
      for (const c of rows) {
        const parsed = parseImageReference(c.imageRef);
        const ns = c.pod.namespace;
        const ctx = {
          cluster: c.pod.cluster.name,
          namespace: ns.name,
          namespaceLabels: (ns.labels ?? {}) as Record<string, string>,
          imageName: parsed ? `${parsed.registry}/${parsed.repository}` : c.imageRef,
          imageRef: c.imageRef,
        };
        const applicable = input.policies.filter((p) => (p.policy ? policyApplies(p.policy.spec, ctx) : true));
        const ids = new Set(applicable.map((p) => p.id));
        const reasons: Reason[] = [{ code: "digest-unresolved", message: `the image digest could not be resolved: ${reasonOf.get(c.id)}` }];
        const reasonsJson = canonicalJson(JSON.parse(JSON.stringify(reasons)));
        const eventBase = {
          kind: "verdict" as const,
          clusterName: ctx.cluster,
          namespace: ctx.namespace,
          workload: c.pod.workload ? `${c.pod.workload.kind}/${c.pod.workload.name}` : `Pod/${c.pod.name}`,
          containerId: c.id,
          imageDigest: null,
          occurredAt: input.now,
        };
        for (const v of c.verdicts) {
          if (ids.has(v.policyId)) continue;
          removals.push(v.id);
          events.push(outOfScopeEvent(eventBase, v, input.policies, input.trigger));
        }
        for (const p of applicable) {
          verdicts++;
          const prev = c.verdicts.find((v) => v.policyId === p.id);
          const lastKnownValue = lastKnownAfter("error", prev, p.version);
          const changed = !prev || prev.value !== "error" || prev.policyVersion !== p.version;
          if (prev && !changed && prev.lastKnownValue === lastKnownValue && canonicalJson(prev.reasons) === reasonsJson && prev.evidenceIds.length === 0) untouched.push(prev.id);
          else if (!prev) {
            creates.push({ containerId: c.id, namespaceId: c.pod.namespaceId, policyId: p.id, policyVersion: p.version, value: "error", lastKnownValue, reasons: reasons as unknown as Prisma.InputJsonValue, evidenceIds: [], evaluatedAt: input.now, changedAt: input.now });
          } else {
            const key = `${p.id}|${reasonsJson}|${prev.value !== "error"}|${lastKnownValue}`;
            const g = updates.get(key) ?? {
              ids: [],
              data: { policyVersion: p.version, value: "error" as const, lastKnownValue, reasons: reasons as unknown as Prisma.InputJsonValue, evidenceIds: [], evaluatedAt: input.now, ...(prev.value !== "error" ? { changedAt: input.now } : {}) },
            };
            g.ids.push(prev.id);
            updates.set(key, g);
          }
          if (changed) {
            events.push({ ...eventBase, policyName: p.name, policyVersion: p.version, verdict: "error", previousVerdict: prev?.value ?? null, reasons, details: { trigger: input.trigger, mode: p.mode } });
          }
        }
      }
      if (removals.length) await tx.verdict.deleteMany({ where: { id: { in: removals } } });
      await insertVerdicts(tx, creates);
      for (const g of updates.values()) await tx.verdict.updateMany({ where: { id: { in: g.ids } }, data: g.data });
      for (let i = 0; i < untouched.length; i += 5000) await tx.verdict.updateMany({ where: { id: { in: untouched.slice(i, i + 5000) } }, data: { evaluatedAt: input.now } });
      await appendAuditEvents(tx, events);
      return { verdicts, changed: events.length };
    },
    { timeout: 120_000, maxWait: 30_000 },
  );
}

/** The event of a stored verdict whose policy no longer applies to its container (the verdict is removed). */
function outOfScopeEvent(
  base: Omit<NewAuditEvent, "policyName" | "policyVersion" | "verdict" | "previousVerdict" | "reasons" | "details">,
  v: { policyId: string; policyVersion: number; value: NewAuditEvent["previousVerdict"] },
  policies: readonly LoadedPolicy[],
  trigger: string,
): NewAuditEvent {
  const p = policies.find((x) => x.id === v.policyId);
  return {
    ...base,
    policyName: p?.name ?? null,
    policyVersion: p?.version ?? v.policyVersion,
    verdict: "unmatched",
    previousVerdict: v.value,
    reasons: [{ code: "out-of-scope", message: "the policy no longer applies to this container" }],
    details: { trigger },
  };
}
