import { matchesAnyGlob } from "@/lib/glob";
import { imageInScope } from "@/lib/policy/image-scope";
import type { LabelSelector, PolicySpec } from "@/lib/policy/schema";

/** Where a container runs and what it runs, as scope matching sees it. */
export interface ScopeContext {
  cluster: string;
  namespace: string;
  namespaceLabels: Record<string, string>;
  /** Normalized "registry/repository" (e.g. index.docker.io/library/nginx). */
  imageName: string;
  /** The reference as written in the pod spec, normalized (may carry :tag or @digest). */
  imageRef?: string;
}

export function matchesLabelSelector(labels: Record<string, string>, selector: LabelSelector): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const value = labels[e.key];
    switch (e.operator) {
      case "In":
        if (!has || !(e.values ?? []).includes(value!)) return false;
        break;
      case "NotIn":
        if (has && (e.values ?? []).includes(value!)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
    }
  }
  return true;
}

/** Whether a policy applies to a container: cluster, namespace (names, exclusions, labels) and image. */
export function policyApplies(spec: Pick<PolicySpec, "scope">, ctx: ScopeContext): boolean {
  const s = spec.scope;
  if (s.clusters?.length && !matchesAnyGlob(ctx.cluster, s.clusters)) return false;
  if (s.namespaces?.length && !matchesAnyGlob(ctx.namespace, s.namespaces)) return false;
  if (s.excludeNamespaces?.length && matchesAnyGlob(ctx.namespace, s.excludeNamespaces)) return false;
  if (s.namespaceSelector && !matchesLabelSelector(ctx.namespaceLabels, s.namespaceSelector)) return false;
  return imageInScope(s.images, ctx.imageName, ctx.imageRef);
}

/** A running container without a verdict under a policy, as the stores read it (its image's name parts null while unresolved). */
export interface UnjudgedContainer {
  cluster: string;
  namespace: string;
  namespaceLabels: Record<string, string>;
  registry: string | null;
  repository: string | null;
  imageRef: string;
}

/**
 * Whether a running container with no verdict under a policy yet awaits one: its image is known and the
 * policy's current scope covers it. The namespace page counts it among the policy's containers (as not
 * verified) and the containers list by policy lists it as `pending`: one rule for both.
 */
export function awaitsVerdict(spec: Pick<PolicySpec, "scope"> | null, c: UnjudgedContainer): boolean {
  if (!spec || c.registry === null || c.repository === null) return false;
  return policyApplies(spec, { cluster: c.cluster, namespace: c.namespace, namespaceLabels: c.namespaceLabels, imageName: `${c.registry}/${c.repository}`, imageRef: c.imageRef });
}
