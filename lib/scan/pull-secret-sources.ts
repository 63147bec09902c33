import "server-only";
import type { Db } from "@/lib/db/client";
import type { PullSecretSource } from "@/lib/kube/types";

/**
 * Which pull secrets the live pods running an image (or a container's reference) name, per cluster
 * and namespace: the names persisted by the inventory (`Pod.pullSecrets`, `Pod.serviceAccount`),
 * for the registry adapters to read when SIGNET_PULL_SECRETS is on (lib/kube/pull-secrets.ts).
 */
interface Row {
  key: string;
  cluster: string;
  namespace: string;
  pullSecrets: string[] | null;
  serviceAccount: string | null;
}

function group(rows: readonly Row[]): Map<string, PullSecretSource[]> {
  const out = new Map<string, Map<string, { cluster: string; namespace: string; secrets: Set<string>; serviceAccounts: Set<string | null> }>>();
  for (const r of rows) {
    const byNs = out.get(r.key) ?? new Map();
    out.set(r.key, byNs);
    const k = `${r.cluster}\0${r.namespace}`;
    const s = byNs.get(k) ?? { cluster: r.cluster, namespace: r.namespace, secrets: new Set<string>(), serviceAccounts: new Set<string | null>() };
    byNs.set(k, s);
    for (const name of r.pullSecrets ?? []) s.secrets.add(name);
    s.serviceAccounts.add(r.serviceAccount);
  }
  return new Map(
    [...out].map(([key, byNs]) => [key, [...byNs.values()].map((s) => ({ cluster: s.cluster, namespace: s.namespace, secrets: [...s.secrets], serviceAccounts: [...s.serviceAccounts] }))]),
  );
}

/** imageId → the pull-secret sources of the live pods running it. */
export async function pullSecretSourcesOfImages(db: Db, imageIds: readonly string[]): Promise<Map<string, PullSecretSource[]>> {
  if (!imageIds.length) return new Map();
  const rows = await db.$queryRaw<Row[]>`
    SELECT DISTINCT c."imageId"::text AS key, cl.name AS cluster, n.name AS namespace, p."pullSecrets", p."serviceAccount"
    FROM "Container" c
    JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL
    JOIN "Namespace" n ON n.id = p."namespaceId"
    JOIN "Cluster" cl ON cl.id = p."clusterId"
    WHERE c."imageId" = ANY(${[...imageIds]}::uuid[])`;
  return group(rows);
}

/** containerId → the pull-secret sources of its pod. */
export async function pullSecretSourcesOfContainers(db: Db, containerIds: readonly string[]): Promise<Map<string, PullSecretSource[]>> {
  if (!containerIds.length) return new Map();
  const rows = await db.$queryRaw<Row[]>`
    SELECT c.id::text AS key, cl.name AS cluster, n.name AS namespace, p."pullSecrets", p."serviceAccount"
    FROM "Container" c
    JOIN "Pod" p ON p.id = c."podId"
    JOIN "Namespace" n ON n.id = p."namespaceId"
    JOIN "Cluster" cl ON cl.id = p."clusterId"
    WHERE c.id = ANY(${[...containerIds]}::uuid[])`;
  return group(rows);
}

/** The sources of several keys merged (one per cluster and namespace). */
export function mergeSources(lists: readonly (readonly PullSecretSource[] | undefined)[]): PullSecretSource[] {
  const rows: Row[] = [];
  for (const list of lists) for (const s of list ?? []) for (const sa of s.serviceAccounts) rows.push({ key: "", cluster: s.cluster, namespace: s.namespace, pullSecrets: [...s.secrets], serviceAccount: sa });
  return group(rows).get("") ?? [];
}
