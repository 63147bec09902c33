import "server-only";
import { mapLimit } from "@/lib/concurrency";
import { z } from "zod";
import type { KubeTarget } from "@/lib/kube/clusters";
import { classifyKubeError, createKubeClients, listAll, toClusterError, KubeRequestError, type KubeClients } from "@/lib/kube/client";
import { clusterRecordOf, DEFAULT_PAGE_SIZE } from "@/lib/kube/inventory";
import { classifyClusterImagePolicy, classifyKyvernoPolicy, hasVerifyImages, type PolicyClassification } from "@/lib/kube/policy-rules";
import type { ClusterError, ClusterRecord } from "@/lib/kube/types";

/** One image policy object read from a cluster, untouched, with its classification. */
export interface ClusterImagePolicyObject {
  engine: "policy-controller" | "kyverno";
  apiVersion: string;
  kind: "ClusterImagePolicy" | "ClusterPolicy" | "Policy" | "ImageValidatingPolicy" | "NamespacedImageValidatingPolicy";
  name: string;
  namespace: string | null;
  uid: string | null;
  /** The object as the API server returned it (for lib/policy/import-cluster.ts). */
  raw: Record<string, unknown>;
  classification: PolicyClassification;
}

export interface EngineStatus {
  /** Whether the engine's CRD is served (a 404 means it is not installed). */
  installed: boolean;
  /** The API version the objects were read through. */
  version: string | null;
}

export interface ClusterImagePolicies {
  cluster: ClusterRecord;
  collectedAt: Date;
  error: ClusterError | null;
  policyController: EngineStatus;
  kyverno: EngineStatus;
  policies: ClusterImagePolicyObject[];
  warnings: string[];
}

const objectSchema = z
  .object({
    apiVersion: z.string(),
    kind: z.string(),
    metadata: z.object({ name: z.string(), namespace: z.string().optional(), uid: z.string().optional() }).loose(),
  })
  .loose();

const listSchema = z.object({ items: z.array(z.unknown()).default([]), metadata: z.object({ continue: z.string().optional() }).loose().optional() }).loose();

type Listed = z.infer<typeof objectSchema>;

async function listCustom(clients: KubeClients, group: string, version: string, plural: string, limit: number): Promise<Listed[]> {
  const out: Listed[] = [];
  await listAll(
    async (cont) => {
      const res: unknown = await clients.custom.listClusterCustomObject({ group, version, plural, limit, _continue: cont });
      const page = listSchema.parse(res);
      return { items: page.items, metadata: { _continue: page.metadata?.continue } };
    },
    (items) => {
      for (const item of items) {
        const parsed = objectSchema.safeParse(item);
        if (parsed.success) out.push(parsed.data);
      }
    },
    () => (out.length = 0),
  );
  return out;
}

/** Fatal for the cluster: nothing else will work either. Others (403 on one resource) are warnings. */
const isClusterFailure = (e: KubeRequestError) => ["unreachable", "timeout", "tls", "unauthorized", "config"].includes(e.kind);

/**
 * The image policies a cluster enforces itself: sigstore policy-controller ClusterImagePolicies
 * (v1beta1, else v1alpha1), Kyverno ClusterPolicies / Policies that have `verifyImages` rules and Kyverno
 * (Namespaced)ImageValidatingPolicies (policies.kyverno.io v1, else v1beta1, else v1alpha1),
 * returned raw with a supported/unsupported classification per rule. An engine whose CRD is absent
 * is reported `installed: false` (a 404 is expected, not an error).
 */
export async function listClusterImagePolicies(target: KubeTarget, opts: { pageSize?: number; timeoutMs?: number; now?: () => Date } = {}): Promise<ClusterImagePolicies> {
  const now = opts.now ?? (() => new Date());
  const cluster = clusterRecordOf(target);
  const base = { cluster, policyController: { installed: false, version: null }, kyverno: { installed: false, version: null }, policies: [], warnings: [] };
  const failed = (err: KubeRequestError): ClusterImagePolicies => ({ ...base, collectedAt: now(), error: toClusterError(err, now()) });
  if (!target.kubeConfig || target.configError) return failed(new KubeRequestError("config", target.configError ?? "no client configuration"));
  let clients: KubeClients;
  try {
    clients = createKubeClients(target.kubeConfig, { timeoutMs: opts.timeoutMs });
  } catch (err) {
    return failed(new KubeRequestError("config", (err as Error).message));
  }
  const limit = opts.pageSize ?? DEFAULT_PAGE_SIZE;
  const warnings: string[] = [];
  const policies: ClusterImagePolicyObject[] = [];
  let fatal: KubeRequestError | null = null;

  /** Lists the first served version; null when none is served (CRD absent). */
  const tryVersions = async (group: string, versions: string[], plural: string): Promise<{ version: string; items: Listed[] } | null> => {
    for (const version of versions) {
      try {
        return { version, items: await listCustom(clients, group, version, plural, limit) };
      } catch (err) {
        const e = classifyKubeError(err, `list ${plural}.${group}/${version}`, target.server);
        if (e.kind === "not_found") continue;
        if (isClusterFailure(e)) fatal ??= e;
        else warnings.push(e.message);
        return { version, items: [] };
      }
    }
    return null;
  };

  try {
    const ivpVersions = ["v1", "v1beta1", "v1alpha1"];
    const [cip, kyvernoCluster, kyvernoNs, ivp, ivpNs] = await Promise.all([
      tryVersions("policy.sigstore.dev", ["v1beta1", "v1alpha1"], "clusterimagepolicies"),
      tryVersions("kyverno.io", ["v1"], "clusterpolicies"),
      tryVersions("kyverno.io", ["v1"], "policies"),
      tryVersions("policies.kyverno.io", ivpVersions, "imagevalidatingpolicies"),
      tryVersions("policies.kyverno.io", ivpVersions, "namespacedimagevalidatingpolicies"),
    ]);
    if (fatal) return failed(fatal);
    for (const o of cip?.items ?? []) {
      policies.push({
        engine: "policy-controller",
        apiVersion: o.apiVersion,
        kind: "ClusterImagePolicy",
        name: o.metadata.name,
        namespace: null,
        uid: o.metadata.uid ?? null,
        raw: o,
        classification: classifyClusterImagePolicy(o),
      });
    }
    for (const o of [...(kyvernoCluster?.items ?? []), ...(kyvernoNs?.items ?? [])]) {
      if (!hasVerifyImages(o)) continue;
      policies.push({
        engine: "kyverno",
        apiVersion: o.apiVersion,
        kind: o.kind === "Policy" ? "Policy" : "ClusterPolicy",
        name: o.metadata.name,
        namespace: o.metadata.namespace ?? null,
        uid: o.metadata.uid ?? null,
        raw: o,
        classification: classifyKyvernoPolicy(o),
      });
    }
    for (const o of [...(ivp?.items ?? []), ...(ivpNs?.items ?? [])]) {
      policies.push({
        engine: "kyverno",
        apiVersion: o.apiVersion,
        kind: o.kind === "NamespacedImageValidatingPolicy" ? "NamespacedImageValidatingPolicy" : "ImageValidatingPolicy",
        name: o.metadata.name,
        namespace: o.metadata.namespace ?? null,
        uid: o.metadata.uid ?? null,
        raw: o,
        classification: classifyKyvernoPolicy(o),
      });
    }
    return {
      cluster,
      collectedAt: now(),
      error: null,
      policyController: { installed: cip !== null, version: cip?.version ?? null },
      kyverno: {
        installed: kyvernoCluster !== null || kyvernoNs !== null || ivp !== null || ivpNs !== null,
        version: kyvernoCluster?.version ?? kyvernoNs?.version ?? ivp?.version ?? ivpNs?.version ?? null,
      },
      policies,
      warnings,
    };
  } catch (err) {
    return failed(classifyKubeError(err, "list image policies", target.server));
  } finally {
    await clients.close();
  }
}

/** Image policies of several clusters; one cluster's failure never stops the others. */
export async function listClusterImagePoliciesForClusters(targets: readonly KubeTarget[], opts: { concurrency?: number; timeoutMs?: number } = {}): Promise<ClusterImagePolicies[]> {
  return mapLimit(targets, opts.concurrency ?? 4, (t) => listClusterImagePolicies(t, opts));
}
