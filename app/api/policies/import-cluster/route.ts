import { z } from "zod";
import { route } from "@/lib/api/route";
import { enqueueReevaluation } from "@/lib/data/enqueue";
import { getDb } from "@/lib/db/client";
import { clusterImportResultDto } from "@/lib/dto/dashboard";
import { listClusterImagePoliciesForClusters } from "@/lib/kube/cluster-policies";
import { importClusterImagePolicy, importKyvernoPolicy } from "@/lib/policy/import-cluster";
import { PolicyValidationError } from "@/lib/policy/schema";
import { archiveMissingImports, savePolicyDocument } from "@/lib/policy/store";
import { listClusterTargets } from "@/lib/scan/real-adapters";

export const dynamic = "force-dynamic";

/**
 * Imports the image policies the clusters enforce (sigstore ClusterImagePolicy, Kyverno verifyImages)
 * as read-only Signet policies (source cluster_import). Reading the clusters is read-only. Imported
 * policies whose source object is gone from a cluster that answered completely are archived.
 */
export const POST = route({ access: "admin", body: z.object({ cluster: z.string().max(253).optional() }) }, async ({ body, user }) => {
  const targets = listClusterTargets().filter((t) => !body.cluster || t.name === body.cluster);
  const results = await listClusterImagePoliciesForClusters(targets, { timeoutMs: 15_000 });
  const db = getDb();
  const saved: { name: string; version: number; changed: boolean }[] = [];
  const problems: string[] = [];
  const archived: string[] = [];
  for (const r of results) {
    const names: string[] = [];
    for (const obj of r.policies) {
      const imported = obj.engine === "kyverno" ? importKyvernoPolicy(obj.raw) : importClusterImagePolicy(obj.raw);
      for (const u of imported.unsupported) problems.push(`${r.cluster.name}/${obj.name}: ${u}`);
      for (const doc of imported.documents) {
        const sourceObject = `${obj.kind}/${obj.namespace ? `${obj.namespace}/` : ""}${obj.name}`;
        // kept from archiving even when this save is refused: the source still exists
        names.push(doc.metadata.name);
        try {
          const s = await savePolicyDocument(db, doc, { actor: user.email, source: "cluster_import", readOnly: true, sourceCluster: r.cluster.name, sourceObject });
          saved.push({ name: doc.metadata.name, version: s.version, changed: s.changed });
        } catch (err) {
          // a document the store refuses (e.g. one key named by two authorities) is reported, not fatal to the import
          if (err instanceof PolicyValidationError) for (const p of err.problems) problems.push(`${r.cluster.name}/${obj.name}: not saved: ${p}`);
          else if (!(err instanceof Error) || err.name.startsWith("Prisma")) throw err;
          else problems.push(`${r.cluster.name}/${obj.name}: not saved: ${err.message.split("\n")[0]}`);
        }
      }
    }
    // A listing with warnings (e.g. 403 on one resource) may be incomplete: archive nothing then.
    if (!r.error && r.warnings.length === 0) {
      for (const name of await archiveMissingImports(db, r.cluster.name, names, user.email)) {
        archived.push(name);
        problems.push(`${r.cluster.name}/${name}: its source was deleted from the cluster; archived`);
      }
    }
  }
  const reevaluationQueued = saved.some((s) => s.changed) || archived.length ? await enqueueReevaluation(`cluster policies imported by ${user.email}`) : false;
  return clusterImportResultDto.parse({
    clusters: results.map((r) => ({ cluster: r.cluster.name, error: r.error ? r.error.message : null, found: r.policies.length })),
    saved,
    archived,
    problems,
    reevaluationQueued,
  });
});
