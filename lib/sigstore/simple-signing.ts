/** cosign simple-signing payloads (sigstore/sigstore pkg/signature/payload). */
import { z } from "zod";
import { LIMITS } from "./limits";
import { parseJson, parseWith } from "./encoding";

export const SIMPLE_SIGNING_TYPE = "cosign container image signature";
export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";

const simpleSigningSchema = z.object({
  critical: z.object({
    identity: z.object({ "docker-reference": z.string().max(LIMITS.factChars).optional() }).loose().optional(),
    image: z.object({ "docker-manifest-digest": z.string().max(256) }).loose(),
    type: z.string().max(256),
  }).loose(),
  optional: z.record(z.string(), z.unknown()).nullable().optional(),
}).loose();

export interface SimpleSigningPayload {
  type: string;
  dockerManifestDigest: string;
  dockerReference: string | null;
  /** `optional` (cosign `-a` annotations, or c/image creator/timestamp); null when absent. */
  optional: Record<string, unknown> | null;
}

/** Parses the payload bytes. The caller compares `type` and `dockerManifestDigest`; docker-reference is informational. */
export function parseSimpleSigningPayload(bytes: Buffer): SimpleSigningPayload {
  const json = parseWith(simpleSigningSchema, parseJson(bytes, "payload", LIMITS.layerBytes), "payload");
  return {
    type: json.critical.type,
    dockerManifestDigest: json.critical.image["docker-manifest-digest"],
    dockerReference: json.critical.identity?.["docker-reference"] ?? null,
    optional: json.optional ?? null,
  };
}
