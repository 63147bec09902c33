import { ApiError } from "@/lib/api/errors";
import { route } from "@/lib/api/route";
import { enqueueReevaluation } from "@/lib/data/enqueue";
import { listPolicies } from "@/lib/data/policies";
import { getDb } from "@/lib/db/client";
import { policiesPageDto, policySaveBody, policySaveResultDto } from "@/lib/dto/dashboard";
import { parsePolicyDocuments, PolicyValidationError } from "@/lib/policy/schema";
import { PolicyReadOnlyError, savePolicyDocument } from "@/lib/policy/store";

export const dynamic = "force-dynamic";

/** Policies and authorities. */
export const GET = route({ access: "viewer", responses: { 200: policiesPageDto } }, async () => listPolicies(getDb()));

/**
 * Creates or updates policies from YAML (one or more documents: the editor, or an uploaded file).
 * Each changed document becomes a new version with an audit event; then verdicts are re-evaluated.
 */
// a 256 Ki-character YAML document, JSON-escaped (up to 6 bytes a character), fits in 2 MiB
export const POST = route({ access: "admin", body: policySaveBody, maxBodyBytes: 2 * 1024 * 1024, responses: { 200: policySaveResultDto } }, async ({ body, user }) => {
  let docs;
  try {
    docs = parsePolicyDocuments(body.yaml);
  } catch (err) {
    if (err instanceof PolicyValidationError) throw new ApiError("validation_failed", "The policy is not valid.", err.problems);
    throw err;
  }
  if (docs.length === 0) throw new ApiError("validation_failed", "The file holds no policy document.");
  const db = getDb();
  const saved = [];
  for (const doc of docs) {
    try {
      const r = await savePolicyDocument(db, doc, { actor: user.email, source: "signet" });
      saved.push({ name: doc.metadata.name, ...r });
    } catch (err) {
      if (err instanceof PolicyReadOnlyError) throw new ApiError("conflict", err.message);
      if (err instanceof PolicyValidationError) throw new ApiError("validation_failed", "The policy is not valid.", err.problems);
      throw err;
    }
  }
  const changed = saved.some((s) => s.changed);
  const reevaluationQueued = changed ? await enqueueReevaluation(`policy saved by ${user.email}`) : false;
  return policySaveResultDto.parse({ saved, reevaluationQueued });
});
