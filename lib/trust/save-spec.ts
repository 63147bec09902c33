import "server-only";
import type { Db } from "@/lib/db/client";
import { policySpecSchema, type PolicySpec } from "@/lib/policy/schema";
import { savePolicyDocument } from "@/lib/policy/store";

/** Saves a changed spec as the policy's next version, keeping its name, description and source. */
export async function saveSpec(db: Db, policyName: string, spec: PolicySpec, actor: string) {
  const row = await db.policy.findUniqueOrThrow({ where: { name: policyName } });
  await savePolicyDocument(
    db,
    { apiVersion: "signet.dev/v1", kind: "Policy", metadata: { name: policyName, ...(row.description ? { description: row.description } : {}) }, spec: policySpecSchema.parse(spec) },
    { actor, source: row.source },
  );
}
