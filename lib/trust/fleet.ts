import type { CompiledKey } from "@/lib/policy/compile";
import { evaluate, type Verdict } from "@/lib/policy/evaluate";
import type { DiscoveryFact, EvidenceFact } from "@/lib/policy/facts";
import type { PolicyAuthority, PolicySpec } from "@/lib/policy/schema";
import { policyApplies } from "@/lib/policy/scope";

/**
 * Pure fleet-level evaluation over stored evidence facts: the same `evaluate` the scan uses, run for
 * every running container × applicable policy, optionally with some authorities marked revoked. The
 * blast radius of a revocation, the usage of each authority and the re-sign list of a retiring key
 * are all read off these results. Nothing here touches the database or the clock.
 */

export interface FleetContainer {
  containerId: string;
  name: string;
  cluster: string;
  namespace: string;
  namespaceLabels: Record<string, string>;
  /** "Kind/name" of the owning workload (or "Pod/<name>"). */
  workload: string;
  pod: string;
  imageRef: string;
}

export interface FleetImage {
  imageId: string;
  /** registry/repository */
  imageName: string;
  digest: string;
  discovery: DiscoveryFact;
  facts: EvidenceFact[];
  containers: FleetContainer[];
}

export interface FleetPolicy {
  id: string;
  name: string;
  mode: string;
  spec: PolicySpec;
  /** The compiled policy's keys (an authority with `keys:` has several). */
  keys: CompiledKey[];
}

/** Which authorities a preview marks revoked: a stored authority (by name), a key (by fingerprint), or one policy's authority. */
/**
 * `identity` (lib/policy/compile `publicKeyIdentity`): the key whatever its encoding — a copy written
 * with a compressed EC point has another fingerprint but is the same key, and is the target too.
 */
export type AuthorityTarget =
  | { kind: "stored"; name: string; fingerprint?: string | null; identity?: string | null }
  | { kind: "fingerprint"; fingerprint: string; identity?: string | null }
  | { kind: "policy"; policy: string; authority: string };

/** Whether a key is (or is backed by) a stored / fingerprint target. */
export function keyIsTarget(target: AuthorityTarget, key: CompiledKey): boolean {
  if (target.kind === "policy") return false;
  if (target.kind === "stored" && key.ref === target.name) return true;
  return (!!target.fingerprint && key.fingerprint === target.fingerprint) || (!!target.identity && key.identity === target.identity);
}

/** Whether `authority` of `policy` is (or is backed by, through one of its keys) the target. */
export function targetMatches(target: AuthorityTarget, policy: Pick<FleetPolicy, "name" | "keys">, authority: PolicyAuthority): boolean {
  if (target.kind === "policy") return policy.name === target.policy && authority.name === target.authority;
  return policy.keys.some((k) => k.authority === authority.name && keyIsTarget(target, k));
}

/**
 * The policy with the target revoked: a key target revokes that key only (an authority holding a
 * rotation's old and new key keeps the other), a policy authority target the whole authority.
 */
export function withRevoked(policy: FleetPolicy, target: AuthorityTarget): FleetPolicy {
  if (target.kind !== "policy") return { ...policy, keys: policy.keys.map((k) => (keyIsTarget(target, k) ? { ...k, status: "revoked" as const } : k)) };
  const authorities = policy.spec.authorities.map((a) => (targetMatches(target, policy, a) ? { ...a, status: "revoked" as const } : a));
  const keys = policy.keys.map((k) => (k.authority === target.authority && policy.name === target.policy ? { ...k, status: "revoked" as const } : k));
  return { ...policy, keys, spec: { ...policy.spec, authorities } };
}

export interface ContainerVerdict {
  image: FleetImage;
  container: FleetContainer;
  policy: FleetPolicy;
  verdict: Verdict;
}

/** Stored keyless facts carry trustedRoot "*" (not recorded): read it as the root the policy trusts. */
function factsFor(facts: EvidenceFact[], policy: FleetPolicy): EvidenceFact[] {
  const roots = [...new Set(policy.spec.authorities.flatMap((a) => (a.keyless ? [a.keyless.trustedRoot] : [])))];
  if (roots.length !== 1) return facts;
  return facts.map((f) => (f.signer?.kind === "keyless" && f.signer.trustedRoot === "*" ? { ...f, signer: { ...f.signer, trustedRoot: roots[0]! } } : f));
}

/** Every (running container × applicable policy) verdict of the fleet. */
export function evaluateFleet(images: readonly FleetImage[], policies: readonly FleetPolicy[], now: Date): ContainerVerdict[] {
  const out: ContainerVerdict[] = [];
  for (const image of images) {
    const results = new Map<string, Verdict>();
    for (const container of image.containers) {
      for (const policy of policies) {
        const ctx = { cluster: container.cluster, namespace: container.namespace, namespaceLabels: container.namespaceLabels, imageName: image.imageName, imageRef: container.imageRef };
        if (!policyApplies(policy.spec, ctx)) continue;
        let verdict = results.get(policy.id);
        if (!verdict) {
          verdict = evaluate(policy.spec, factsFor(image.facts, policy), { discovery: image.discovery, now }, policy.keys);
          results.set(policy.id, verdict);
        }
        out.push({ image, container, policy, verdict });
      }
    }
  }
  return out;
}

export interface AffectedContainer {
  containerId: string;
  container: string;
  cluster: string;
  namespace: string;
  workload: string;
  pod: string;
  imageId: string;
  image: string;
  digest: string;
  policy: string;
  mode: string;
  before: Verdict["value"];
  after: Verdict["value"];
}

export interface BlastRadius {
  affected: AffectedContainer[];
  containers: number;
  images: number;
  workloads: number;
  namespaces: number;
  byPolicy: { policy: string; mode: string; containers: number; images: number }[];
  /** Image ids whose verdicts change (the ones to re-evaluate). */
  imageIds: string[];
}

const uniq = <T>(xs: T[]) => [...new Set(xs)];

/**
 * What revoking `target` would do: every (container, policy) verified now and not verified with the
 * target marked revoked, with counts per policy and mode.
 */
export function blastRadius(images: readonly FleetImage[], policies: readonly FleetPolicy[], target: AuthorityTarget, now: Date): BlastRadius {
  const before = evaluateFleet(images, policies, now);
  const after = evaluateFleet(images, policies.map((p) => withRevoked(p, target)), now);
  const key = (v: ContainerVerdict) => `${v.container.containerId}|${v.policy.id}`;
  const afterBy = new Map(after.map((v) => [key(v), v.verdict.value]));
  const affected: AffectedContainer[] = [];
  for (const b of before) {
    const a = afterBy.get(key(b));
    if (b.verdict.value !== "verified" || a === undefined || a === "verified") continue;
    affected.push({
      containerId: b.container.containerId,
      container: b.container.name,
      cluster: b.container.cluster,
      namespace: b.container.namespace,
      workload: b.container.workload,
      pod: b.container.pod,
      imageId: b.image.imageId,
      image: b.image.imageName,
      digest: b.image.digest,
      policy: b.policy.name,
      mode: b.policy.mode,
      before: b.verdict.value,
      after: a,
    });
  }
  affected.sort((x, y) => `${x.cluster}/${x.namespace}/${x.workload}/${x.policy}`.localeCompare(`${y.cluster}/${y.namespace}/${y.workload}/${y.policy}`));
  const byPolicy = uniq(affected.map((a) => a.policy)).map((policy) => {
    const rows = affected.filter((a) => a.policy === policy);
    return { policy, mode: rows[0]!.mode, containers: uniq(rows.map((r) => r.containerId)).length, images: uniq(rows.map((r) => r.imageId)).length };
  });
  return {
    affected,
    containers: uniq(affected.map((a) => a.containerId)).length,
    images: uniq(affected.map((a) => a.imageId)).length,
    workloads: uniq(affected.map((a) => `${a.cluster}/${a.namespace}/${a.workload}`)).length,
    namespaces: uniq(affected.map((a) => `${a.cluster}/${a.namespace}`)).length,
    byPolicy,
    imageIds: uniq(affected.map((a) => a.imageId)),
  };
}

export interface Usage {
  containers: number;
  images: number;
  namespaces: number;
}

/**
 * The (running container × policy) verdicts the target's usage counts: verified, with the target's
 * signatures counted toward it. The Keys page's figures (`usageOf`) and the list behind them
 * (`/containers?signer=`, lib/trust/inventory `authorityUsage`) are both read off these.
 */
export function usageHits(verdicts: readonly ContainerVerdict[], target: AuthorityTarget): ContainerVerdict[] {
  return verdicts.filter(
    (v) =>
      v.verdict.value === "verified" &&
      v.verdict.satisfiedBy.some((name) => {
        if (target.kind === "policy") return v.policy.name === target.policy && name === target.authority;
        // a key target: that key's own signatures counted (not another key of the same authority)
        return v.policy.keys.some((k) => k.authority === name && keyIsTarget(target, k) && (v.verdict.keys ?? []).includes(k.fingerprint));
      }),
  );
}

/** Live usage of the target: running containers / images / namespaces with a verified verdict its signatures counted toward. */
export function usageOf(verdicts: readonly ContainerVerdict[], target: AuthorityTarget): Usage {
  const hits = usageHits(verdicts, target);
  return {
    containers: uniq(hits.map((h) => h.container.containerId)).length,
    images: uniq(hits.map((h) => h.image.imageId)).length,
    namespaces: uniq(hits.map((h) => `${h.container.cluster}/${h.container.namespace}`)).length,
  };
}

export interface ResignEntry {
  imageId: string;
  image: string;
  digest: string;
  workloads: string[];
  policies: string[];
}

/** Running images still verified only through the (retiring) target: revoking it would leave them unverified. */
export function resignList(images: readonly FleetImage[], policies: readonly FleetPolicy[], target: AuthorityTarget, now: Date): ResignEntry[] {
  const radius = blastRadius(images, policies, target, now);
  const byImage = new Map<string, ResignEntry>();
  for (const a of radius.affected) {
    const e = byImage.get(a.imageId) ?? { imageId: a.imageId, image: a.image, digest: a.digest, workloads: [], policies: [] };
    const w = `${a.cluster}/${a.namespace}/${a.workload}`;
    if (!e.workloads.includes(w)) e.workloads.push(w);
    if (!e.policies.includes(a.policy)) e.policies.push(a.policy);
    byImage.set(a.imageId, e);
  }
  return [...byImage.values()].sort((a, b) => `${a.image}@${a.digest}`.localeCompare(`${b.image}@${b.digest}`));
}

export interface RetireSafety {
  safe: boolean;
  /** Since when the re-sign list has been empty (null: it is not). */
  emptySince: Date | null;
  /** When it becomes (or became) safe to retire the key. */
  safeAt: Date | null;
}

/**
 * A retiring key can be retired once its re-sign list has stayed empty for `safeDays`: measured from
 * the first snapshot of the current run of empty snapshots (or from now, when no snapshot says so yet).
 */
export function retireSafety(snapshots: readonly { takenAt: Date; resignImages: number }[], current: number, now: Date, safeDays: number): RetireSafety {
  if (current > 0) return { safe: false, emptySince: null, safeAt: null };
  const sorted = [...snapshots].filter((s) => s.takenAt <= now).sort((a, b) => a.takenAt.getTime() - b.takenAt.getTime());
  let emptySince: Date = now;
  for (let i = sorted.length - 1; i >= 0; i--) {
    if (sorted[i]!.resignImages > 0) break;
    emptySince = sorted[i]!.takenAt;
  }
  const safeAt = new Date(emptySince.getTime() + safeDays * 86_400_000);
  return { safe: now.getTime() >= safeAt.getTime(), emptySince, safeAt };
}
