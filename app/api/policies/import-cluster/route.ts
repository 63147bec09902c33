import { z } from "zod";
import { route } from "@/lib/api/route";
import { enqueueReevaluation } from "@/lib/data/enqueue";
import { getDb } from "@/lib/db/client";
import { clusterImportResultDto } from "@/lib/dto/dashboard";
import { listClusterImagePoliciesForClusters } from "@/lib/kube/cluster-policies";
import { importClusterImagePolicy, importKyvernoPolicy } from "@/lib/policy/import-cluster";
import { savePolicyDocument } from "@/lib/policy/store";
import { listClusterTargets } from "@/lib/scan/real-adapters";

export const dynamic = "force-dynamic";

/**
 * Imports the image policies the clusters enforce (sigstore ClusterImagePolicy, Kyverno verifyImages)
 * as read-only Signet policies (source cluster_import). Reading the clusters is read-only.
 */
export const POST = route({ access: "admin", body: z.object({ cluster: z.string().max(253).optional() }) }, async ({ body, user }) => {
  const targets = listClusterTargets().filter((t) => !body.cluster || t.name === body.cluster);
  const results = await listClusterImagePoliciesForClusters(targets, { timeoutMs: 15_000 });
  const db = getDb();
  const saved: { name: string; version: number; changed: boolean }[] = [];
  const problems: string[] = [];
  for (const r of results) {
    for (const obj of r.policies) {
      const imported = obj.engine === "kyverno" ? importKyvernoPolicy(obj.raw) : importClusterImagePolicy(obj.raw);
      for (const u of imported.unsupported) problems.push(`${r.cluster.name}/${obj.name}: ${u}`);
      for (const doc of imported.documents) {
        const s = await savePolicyDocument(db, doc, { actor: user.email, source: "cluster_import", readOnly: true, sourceCluster: r.cluster.name });
        saved.push({ name: doc.metadata.name, version: s.version, changed: s.changed });
      }
    }
  }
  const reevaluationQueued = saved.some((s) => s.changed) ? await enqueueReevaluation(`cluster policies imported by ${user.email}`) : false;
  return clusterImportResultDto.parse({
    clusters: results.map((r) => ({ cluster: r.cluster.name, error: r.error ? r.error.message : null, found: r.policies.length })),
    saved,
    problems,
    reevaluationQueued,
  });
});
