import { generateKeyPairSync } from "node:crypto";
import type { Db } from "@/lib/db/client";
import { parsePolicyDocuments } from "@/lib/policy/schema";

/**
 * A fleet of `containers` running containers in one cluster (4 namespaces, one Deployment, pod and
 * image each), with a stored policy and one verdict per container (cycling verified / failed /
 * unsigned / error), written with set-based SQL so that thousands of rows take a moment. For export
 * tests: the verdicts are rows, not the result of a verification.
 */
export async function seedFleet(db: Db, o: { cluster: string; containers: number; policy?: string }): Promise<{ clusterId: string; policyId: string }> {
  const { savePolicyDocument } = await import("@/lib/policy/store");
  const policyName = o.policy ?? `fleet-${o.cluster}`;
  const pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
  if (!(await db.policy.findUnique({ where: { name: policyName } }))) {
    const doc = parsePolicyDocuments(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: ${policyName} }
spec:
  mode: enforce
  requireTlog: false
  authorities: [ { name: build, key: { pem: ${JSON.stringify(pem)} } } ]`)[0]!;
    await savePolicyDocument(db, doc, { actor: "test" });
  }
  const policy = await db.policy.findUniqueOrThrow({ where: { name: policyName } });
  const cluster = await db.cluster.create({ data: { name: o.cluster } });
  for (const ns of ["ns-a", "ns-b", "ns-c", "ns-d"]) await db.namespace.create({ data: { clusterId: cluster.id, name: ns } });
  const c = o.cluster;
  await db.$executeRaw`
    INSERT INTO "Image" ("id", "registry", "repository", "digest", "verdict", "runningContainers")
    SELECT gen_random_uuid(), 'ghcr.io', ${c} || '/app-' || lpad(g::text, 6, '0'), 'sha256:' || encode(sha256((${c} || g::text)::bytea), 'hex'),
           (ARRAY['verified','failed','unsigned','error'])[1 + g % 4]::"VerdictValue", 1
    FROM generate_series(1, ${o.containers}::int) g`;
  await db.$executeRaw`
    INSERT INTO "Workload" ("id", "clusterId", "namespaceId", "kind", "name")
    SELECT gen_random_uuid(), ${cluster.id}::uuid, n."id", 'Deployment', 'app-' || lpad(g::text, 6, '0')
    FROM generate_series(1, ${o.containers}::int) g
    JOIN "Namespace" n ON n."clusterId" = ${cluster.id}::uuid AND n."name" = (ARRAY['ns-a','ns-b','ns-c','ns-d'])[1 + g % 4]`;
  await db.$executeRaw`
    INSERT INTO "Pod" ("id", "clusterId", "namespaceId", "workloadId", "uid", "name")
    SELECT gen_random_uuid(), w."clusterId", w."namespaceId", w."id", ${c} || '-' || w."name", w."name" || '-0'
    FROM "Workload" w WHERE w."clusterId" = ${cluster.id}::uuid`;
  await db.$executeRaw`
    INSERT INTO "Container" ("id", "podId", "imageId", "kind", "name", "imageRef", "digest", "digestSource")
    SELECT gen_random_uuid(), p."id", i."id", 'app', 'app', i."registry" || '/' || i."repository" || '@' || i."digest", i."digest", 'observed'
    FROM "Pod" p JOIN "Image" i ON i."repository" = ${c} || '/' || left(p."name", -2)
    WHERE p."clusterId" = ${cluster.id}::uuid`;
  await db.$executeRaw`
    INSERT INTO "Verdict" ("id", "containerId", "policyId", "policyVersion", "value", "reasons")
    SELECT gen_random_uuid(), ct."id", ${policy.id}::uuid, ${policy.currentVersion}, i."verdict",
           CASE WHEN i."verdict" = 'verified' THEN '[]'::jsonb ELSE jsonb_build_array(jsonb_build_object('message', 'no signature by build')) END
    FROM "Container" ct JOIN "Pod" p ON p."id" = ct."podId" JOIN "Image" i ON i."id" = ct."imageId"
    WHERE p."clusterId" = ${cluster.id}::uuid`;
  // where each image runs (the image list's cluster filter), as a scan keeps it
  const { updateRunningContainers } = await import("@/lib/scan/persist-inventory");
  await updateRunningContainers(db);
  return { clusterId: cluster.id, policyId: policy.id };
}
