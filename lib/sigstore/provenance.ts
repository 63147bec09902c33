/** Build provenance facts from SLSA v0.2 and v1 predicates (best effort: absent fields are null). */
import { LIMITS } from "./limits";
import { boundedDigests, clip, wholeFact } from "./encoding";
import type { Provenance } from "./types";

export const SLSA_V02 = "https://slsa.dev/provenance/v0.2";
export const SLSA_V1 = new Set(["https://slsa.dev/provenance/v1", "https://slsa.dev/provenance/v1.0", "https://slsa.dev/provenance/v1.1"]);

type Json = unknown;

function at(value: Json, ...path: string[]): Json {
  let cur = value;
  for (const key of path) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, Json>)[key];
  }
  return cur;
}

/** A provenance field attestation conditions may match on: whole, or the attestation is malformed. */
function str(value: Json, field = "provenance"): string | null {
  return typeof value === "string" ? wholeFact(value, LIMITS.factChars, field) : null;
}

function digestMap(value: Json): Record<string, string> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return {};
  return boundedDigests(value as Record<string, unknown>);
}

function materials(value: Json): Provenance["materials"] {
  if (!Array.isArray(value)) return [];
  return value.slice(0, LIMITS.materialsKept).map((m: Json) => {
    // informative only (no condition reads materials): cut, not refused
    const uri = at(m, "uri");
    return { uri: typeof uri === "string" ? clip(uri, 1024) : null, digest: digestMap(at(m, "digest")) };
  });
}

/** Returns null for predicate types that are not SLSA provenance. */
export function extractProvenance(predicateType: string, predicate: Json): Provenance | null {
  if (predicateType === SLSA_V02) {
    const configSource = at(predicate, "invocation", "configSource");
    const env = at(predicate, "invocation", "environment");
    const digest = digestMap(at(configSource, "digest"));
    return {
      slsaVersion: "v0.2",
      builderId: str(at(predicate, "builder", "id")),
      buildType: str(at(predicate, "buildType")),
      sourceRepository: str(at(configSource, "uri")),
      sourceCommit: digest.sha1 ?? digest.gitCommit ?? null,
      sourceRef: str(at(env, "github_ref")),
      entryPoint: str(at(configSource, "entryPoint")),
      workflowRepository: null,
      trigger: str(at(env, "github_event_name")),
      // The v0.2 spec spells it buildInvocationID; some writers use buildInvocationId.
      invocationId: str(at(predicate, "metadata", "buildInvocationID")) ?? str(at(predicate, "metadata", "buildInvocationId")),
      actor: str(at(env, "github_actor")),
      materials: materials(at(predicate, "materials")),
    };
  }
  if (SLSA_V1.has(predicateType)) {
    const def = at(predicate, "buildDefinition");
    const deps = at(def, "resolvedDependencies");
    const first = Array.isArray(deps) ? (deps[0] as Json) : undefined;
    const digest = digestMap(at(first, "digest"));
    const workflow = at(def, "externalParameters", "workflow");
    return {
      slsaVersion: "v1",
      builderId: str(at(predicate, "runDetails", "builder", "id")),
      buildType: str(at(def, "buildType")),
      sourceRepository: str(at(first, "uri")),
      sourceCommit: digest.gitCommit ?? digest.sha1 ?? null,
      sourceRef: str(at(workflow, "ref")),
      entryPoint: str(at(workflow, "path")),
      workflowRepository: str(at(workflow, "repository")),
      trigger: str(at(def, "internalParameters", "github", "event_name")),
      invocationId: str(at(predicate, "runDetails", "metadata", "invocationId")),
      actor: null,
      materials: materials(deps),
    };
  }
  return null;
}
