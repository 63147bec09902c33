import "server-only";
import { createHash } from "node:crypto";
import type { Db } from "@/lib/db/client";
import type { DiscoveredArtifact, DiscoveryResult, ImageAt } from "@/lib/evidence/types";
import { parseImageReference } from "@/lib/kube/image-ref";
import { decideAdmission, type AdmissionOutcome, type ObjectAdmission, type PolicyMode } from "@/lib/policy/admission";
import { candidateKeys } from "@/lib/policy/compile";
import { evaluate, type Reason, type VerdictValue } from "@/lib/policy/evaluate";
import type { DiscoveryFact, EvidenceFact } from "@/lib/policy/facts";
import { policyApplies } from "@/lib/policy/scope";
import { loadActivePolicies, type LoadedPolicy } from "@/lib/policy/store";
import type { ScanAdapters } from "@/lib/scan/adapters";
import { loadStoredArtifacts, storeEvidenceBatch } from "@/lib/scan/evidence-store";
import { toEvidenceFact } from "@/lib/scan/facts";
import type { ReviewedContainer } from "@/lib/admission/review";

/**
 * Answers admission for the containers of one object from Signet's verified store (server side):
 * the policies in scope of each image (lib/policy/scope, the cluster and namespace the webhook serves),
 * the image's evidence facts — from memory, else from the stored evidence of a digest discovered within
 * `evidenceMaxAgeMs` (re-verified from the stored bytes: no registry request), else resolved,
 * discovered and verified now and stored for the scan to reuse — each policy evaluated
 * (lib/policy/evaluate), and the object's decision by lib/policy/admission `decideAdmission`, the
 * function the namespace page's dry run uses. The whole answer runs within `budgetMs`; work still
 * running at the budget's end finishes in the background (its result is stored) and the answer is
 * the configured failure policy's.
 */

/** What the answerer needs from the outside world: a subset of the scan's adapters (lib/scan/real-adapters). */
export type AdmissionAdapters = Pick<ScanAdapters, "resolveDigest" | "openDiscoveryBatch" | "verify">;

export interface AdmissionAnswererOptions {
  db: Db;
  adapters: AdmissionAdapters;
  /** The cluster this webhook serves, as policies' `scope.clusters` name it. */
  cluster: string;
  budgetMs: number;
  /** What an answer that overran its budget says: Fail denies, Ignore admits (with a warning). */
  failurePolicy: "Fail" | "Ignore";
  /** Stored evidence younger than this answers without the registry. */
  evidenceMaxAgeMs: number;
  /** How long policies, namespace labels and image facts are kept in memory. */
  policyTtlMs?: number;
  factsTtlMs?: number;
  /** A stored answer that is not verified is asked of the registry again once it is this old. */
  recheckMs?: number;
  now?: () => Date;
}

/** A container as the answerer needs it (lib/admission/review `ReviewedContainer` without its path). */
export type AnsweredContainer = Pick<ReviewedContainer, "name" | "kind" | "image">;

/** Where an image's facts came from. */
export type FactsSource = "memory" | "store" | "registry" | "unresolved";

/** One container image's result: its digest, where the facts came from, each applicable policy's verdict. */
export interface ImageAnswer {
  container: string;
  image: string;
  digest: string | null;
  source: FactsSource | null;
  outcomes: AdmissionOutcome[];
}

export interface AdmissionAnswer {
  /** admit / warn / deny as decided, or timed-out (the failure policy decided). */
  decision: "admit" | "warn" | "deny" | "timed-out";
  allowed: boolean;
  message: string;
  warnings: string[];
  images: ImageAnswer[];
  /** The decision function's result (absent when the budget ran out). */
  admission?: ObjectAdmission;
  elapsedMs: number;
}

interface ImageFacts {
  facts: EvidenceFact[];
  discovery: DiscoveryFact;
  source: FactsSource;
  /** When these facts entered memory. */
  at: number;
  /** When the registry was last asked about this digest (epoch ms). */
  checkedAt: number;
}

const MAX_CACHED = 20_000;

export class AdmissionAnswerer {
  private readonly db: Db;
  private readonly adapters: AdmissionAdapters;
  private readonly opts: Required<Omit<AdmissionAnswererOptions, "db" | "adapters">>;
  private policies: { at: number; list: LoadedPolicy[]; keys: Array<{ keyId: string; pem: string }>; fingerprint: string } | undefined;
  private policiesLoading: Promise<void> | undefined;
  private readonly labels = new Map<string, { at: number; labels: Record<string, string> }>();
  private readonly facts = new Map<string, ImageFacts>();
  private readonly inflight = new Map<string, Promise<ImageFacts>>();
  /** Background work still running after a budget overran (awaited by close()). */
  private readonly background = new Set<Promise<unknown>>();

  constructor(opts: AdmissionAnswererOptions) {
    this.db = opts.db;
    this.adapters = opts.adapters;
    this.opts = { policyTtlMs: 5_000, factsTtlMs: 60_000, recheckMs: 60_000, now: () => new Date(), ...opts };
  }

  /** The decision for the containers of one object in `namespace`. */
  async answer(namespace: string, containers: readonly AnsweredContainer[]): Promise<AdmissionAnswer> {
    const started = performance.now();
    const work = this.evaluate(namespace, containers);
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<"overrun">((resolve) => (timer = setTimeout(() => resolve("overrun"), this.opts.budgetMs)));
    const result = await Promise.race([work, overrun]).finally(() => clearTimeout(timer));
    const elapsedMs = performance.now() - started;
    if (result === "overrun") {
      const tracked = work.catch(() => undefined).finally(() => this.background.delete(tracked));
      this.background.add(tracked);
      const why = `Signet could not verify the images within its ${this.opts.budgetMs} ms budget (failure policy ${this.opts.failurePolicy})`;
      const images = containers.map((c) => ({ container: c.name, image: c.image, digest: null, source: null, outcomes: [] }));
      return this.opts.failurePolicy === "Fail"
        ? { decision: "timed-out", allowed: false, message: why, warnings: [], images, elapsedMs }
        : { decision: "timed-out", allowed: true, message: "", warnings: [`Signet: ${why}; admitted`], images, elapsedMs };
    }
    const admission = decideAdmission(result.flatMap((i) => i.outcomes));
    return {
      decision: admission.decision,
      allowed: admission.decision !== "deny",
      message: admission.message,
      warnings: admission.warnings,
      images: result,
      admission,
      elapsedMs,
    };
  }

  /**
   * The digests to pin the containers of a Pod to (the mutating half of admission; null: left as
   * written): each image named by a tag and in scope of at least one `enforce` policy is resolved
   * through the registry now, so the pod runs exactly the digest the validating half then decides on
   * — a tag moved between the decision and the kubelet's pull cannot run an image nobody verified.
   * Images under warn / audit policies only, or none, are not touched; a tag that cannot be resolved
   * within the budget is left as written (the validating half resolves it again and, under enforce,
   * denies what it cannot resolve).
   */
  async pinDigests(namespace: string, containers: readonly AnsweredContainer[]): Promise<(string | null)[]> {
    const work = (async () => {
      const [policies, namespaceLabels] = await Promise.all([this.currentPolicies(), this.namespaceLabels(namespace)]);
      return Promise.all(
        containers.map(async (c) => {
          const ref = parseImageReference(c.image);
          if (!ref || ref.digest || c.image.includes("@")) return null;
          const enforced = this.applicable(policies.list, namespace, namespaceLabels, ref.name, c.image).some((p) => p.mode === "enforce");
          if (!enforced) return null;
          const resolved = await this.adapters.resolveDigest(ref);
          return "error" in resolved ? null : resolved.digest;
        }),
      );
    })();
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), this.opts.budgetMs)));
    const pins = await Promise.race([work, overrun]).finally(() => clearTimeout(timer));
    return pins ?? containers.map(() => null);
  }

  private applicable(list: readonly LoadedPolicy[], namespace: string, namespaceLabels: Record<string, string>, imageName: string, imageRef: string): LoadedPolicy[] {
    return list.filter((p) => (p.policy ? policyApplies(p.policy.spec, { cluster: this.opts.cluster, namespace, namespaceLabels, imageName, imageRef }) : true));
  }

  /** Waits for verifications that outlived their budget (their results are being stored). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.background]);
  }

  private async evaluate(namespace: string, containers: readonly AnsweredContainer[]): Promise<ImageAnswer[]> {
    const [policies, namespaceLabels] = await Promise.all([this.currentPolicies(), this.namespaceLabels(namespace)]);
    const now = this.opts.now();
    return Promise.all(
      containers.map(async (c): Promise<ImageAnswer> => {
        const ref = parseImageReference(c.image);
        const imageName = ref ? ref.name : c.image;
        const applicable = this.applicable(policies.list, namespace, namespaceLabels, imageName, c.image);
        const base = { container: c.name, image: c.image };
        if (applicable.length === 0) return { ...base, digest: ref?.digest ?? null, source: null, outcomes: [] };
        const errorOutcomes = (reason: Reason): AdmissionOutcome[] =>
          applicable.map((p) => ({ ...base, policy: p.name, mode: p.mode as PolicyMode, verdict: "error", reasons: [reason] }));
        if (!ref) return { ...base, digest: null, source: "unresolved", outcomes: errorOutcomes({ code: "digest-unresolved", message: `"${c.image}" is not an image reference` }) };
        let digest = ref.digest;
        if (!digest) {
          const resolved = await this.adapters.resolveDigest(ref);
          if ("error" in resolved) {
            return { ...base, digest: null, source: "unresolved", outcomes: errorOutcomes({ code: "digest-unresolved", message: `the image digest could not be resolved: ${resolved.error}` }) };
          }
          digest = resolved.digest;
        }
        const at: ImageAt = { registry: ref.registry, repository: ref.repository, digest };
        const judge = (found: ImageFacts) =>
          applicable.map((p): AdmissionOutcome => {
            const verdict = p.policy
              ? evaluate(p.policy.spec, found.facts, { discovery: found.discovery, now }, p.policy.keys)
              : { value: "error" as VerdictValue, reasons: [{ code: "evidence-error" as const, message: `policy cannot be evaluated: ${p.error}` }] };
            return { ...base, policy: p.name, mode: p.mode as PolicyMode, verdict: verdict.value, reasons: verdict.reasons };
          });
        let found = await this.imageFacts(at, policies, false);
        let outcomes = judge(found);
        // a stored answer that is not "verified" may be out of date (signed since): asked of the registry
        // once it is older than the recheck interval, so a fix is seen at the next attempt
        if (found.source !== "registry" && outcomes.some((o) => o.verdict !== "verified") && Date.now() - found.checkedAt > this.opts.recheckMs) {
          found = await this.imageFacts(at, policies, true);
          outcomes = judge(found);
        }
        return { ...base, digest, source: found.source, outcomes };
      }),
    );
  }

  private async currentPolicies(): Promise<NonNullable<AdmissionAnswerer["policies"]>> {
    const fresh = this.policies && Date.now() - this.policies.at < this.opts.policyTtlMs;
    if (!fresh) {
      this.policiesLoading ??= (async () => {
        const list = await loadActivePolicies(this.db);
        const compiled = list.flatMap((p) => (p.policy ? [p.policy] : []));
        const keys = candidateKeys(compiled);
        // what verification depends on: the candidate keys (with their status) and each policy's version
        const fingerprint = createHash("sha256")
          .update(JSON.stringify([list.map((p) => [p.id, p.version, p.mode]), compiled.map((p) => p.keys.map((k) => [k.fingerprint, k.status, k.validFrom, k.validUntil]))]))
          .digest("hex");
        if (this.policies && this.policies.fingerprint !== fingerprint) this.facts.clear();
        this.policies = { at: Date.now(), list, keys, fingerprint };
      })().finally(() => (this.policiesLoading = undefined));
      // a stale list keeps answering while the next one loads; the first load is awaited
      if (!this.policies) await this.policiesLoading;
    }
    return this.policies!;
  }

  /** The namespace's labels as the last inventory stored them; unknown namespaces carry only their name label. */
  private async namespaceLabels(namespace: string): Promise<Record<string, string>> {
    const cached = this.labels.get(namespace);
    if (cached && Date.now() - cached.at < this.opts.policyTtlMs) return cached.labels;
    const row = await this.db.namespace.findFirst({ where: { name: namespace, deletedAt: null, cluster: { name: this.opts.cluster } }, select: { labels: true } });
    const labels = { "kubernetes.io/metadata.name": namespace, ...((row?.labels ?? {}) as Record<string, string>) };
    if (this.labels.size > MAX_CACHED) this.labels.clear();
    this.labels.set(namespace, { at: Date.now(), labels });
    return labels;
  }

  /** Facts of one digest: memory, else the store, else the registry (one lookup at a time per digest). */
  private async imageFacts(image: ImageAt, policies: NonNullable<AdmissionAnswerer["policies"]>, fromRegistry: boolean): Promise<ImageFacts> {
    const key = `${image.registry}/${image.repository}@${image.digest}`;
    const cached = this.facts.get(key);
    if (!fromRegistry && cached && Date.now() - cached.at < this.opts.factsTtlMs) return { ...cached, source: "memory" };
    const flight = `${fromRegistry}|${key}`;
    let pending = this.inflight.get(flight);
    if (!pending) {
      pending = this.lookup(image, policies.keys, fromRegistry).finally(() => this.inflight.delete(flight));
      this.inflight.set(flight, pending);
    }
    const found = await pending;
    // an answer that could not tell is asked again next time
    if (found.discovery.outcome !== "error" && this.policies?.fingerprint === policies.fingerprint) {
      if (this.facts.size > MAX_CACHED) this.facts.clear();
      this.facts.set(key, found);
    }
    return found;
  }

  private async lookup(image: ImageAt, keys: Array<{ keyId: string; pem: string }>, fromRegistry: boolean): Promise<ImageFacts> {
    const now = this.opts.now();
    const verifiable = (artifacts: readonly DiscoveredArtifact[]) => artifacts.filter((a) => a.kind === "signature" || a.kind === "attestation" || a.kind === "bundle");
    const stored = await this.db.image.findUnique({
      where: { registry_repository_digest: image },
      select: { id: true, discovery: true, discoveredAt: true, verificationHash: true },
    });
    if (
      !fromRegistry &&
      stored &&
      (stored.discovery === "found" || stored.discovery === "none") &&
      stored.discoveredAt &&
      now.getTime() - stored.discoveredAt.getTime() < this.opts.evidenceMaxAgeMs
    ) {
      const artifacts = verifiable(await loadStoredArtifacts(this.db, stored.id));
      const verified = artifacts.length ? await this.adapters.verify({ image, artifacts, keys, now }) : [];
      return { facts: verified.map(toEvidenceFact), discovery: { outcome: stored.discovery }, source: "store", at: Date.now(), checkedAt: stored.discoveredAt.getTime() };
    }
    // unknown or stale: discover and verify now, and store what was learned for the scan to reuse
    const batch = await this.adapters.openDiscoveryBatch();
    const result: DiscoveryResult = await batch.discover(image);
    const artifacts = verifiable(result.outcome === "found" ? result.artifacts : result.outcome === "error" ? result.partial : []);
    const verified = artifacts.length ? await this.adapters.verify({ image, artifacts, keys, now }) : [];
    const row = stored ?? (await this.db.image.upsert({ where: { registry_repository_digest: image }, create: image, update: {}, select: { id: true, verificationHash: true } }));
    await storeEvidenceBatch(this.db, [{ imageId: row.id, discovery: result, ...(result.outcome !== "error" ? { verified } : {}), storedHash: row.verificationHash }], now);
    const discovery: DiscoveryFact = result.outcome === "error" ? { outcome: "error", reason: `${result.code}: ${result.reason}` } : { outcome: result.outcome };
    return { facts: verified.map(toEvidenceFact), discovery, source: "registry", at: Date.now(), checkedAt: Date.now() };
  }
}
