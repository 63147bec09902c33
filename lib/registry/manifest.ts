/**
 * zod schemas for the untrusted JSON a registry returns: image manifests, indexes and their
 * descriptors (OCI image spec v1.1 and Docker v2 schema 2). Pure.
 */
import { z } from "zod";
import { isDigest } from "@/lib/registry/digest";
import { INDEX_MEDIA_TYPES, IMAGE_MANIFEST_MEDIA_TYPES, baseMediaType } from "@/lib/registry/media-types";
import { storable } from "@/lib/text";

const mediaTypeSchema = z.string().min(1).max(255);
const annotationsSchema = z.record(z.string().max(1 << 20), z.string());

export const descriptorSchema = z.object({
  mediaType: mediaTypeSchema,
  digest: z.string().refine(isDigest, "must be sha256:<64 hex> or sha512:<128 hex>"),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  annotations: annotationsSchema.optional(),
  artifactType: mediaTypeSchema.optional(),
  urls: z.array(z.string()).optional(),
  platform: z.record(z.string(), z.unknown()).optional(),
});
export type Descriptor = z.infer<typeof descriptorSchema>;

export const imageManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: mediaTypeSchema.optional(),
  artifactType: mediaTypeSchema.optional(),
  config: descriptorSchema,
  // cosign caps signatures per manifest at 1000 layers; leave room, refuse absurd lists.
  layers: z.array(descriptorSchema).max(10_000),
  subject: descriptorSchema.optional(),
  annotations: annotationsSchema.optional(),
});
export type ImageManifest = z.infer<typeof imageManifestSchema>;

export const imageIndexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: mediaTypeSchema.optional(),
  artifactType: mediaTypeSchema.optional(),
  manifests: z.array(descriptorSchema).max(100_000),
  subject: descriptorSchema.optional(),
  annotations: annotationsSchema.optional(),
});
export type ImageIndex = z.infer<typeof imageIndexSchema>;

export type ParsedManifest =
  | { kind: "manifest"; mediaType: string; manifest: ImageManifest }
  | { kind: "index"; mediaType: string; index: ImageIndex };

/** Thrown by parseManifest; discovery reports it as `bad-response`. */
export class ManifestParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManifestParseError";
  }
}

/**
 * Parses manifest bytes. The kind comes from the body's `mediaType` (authoritative when present),
 * else the response Content-Type, else the shape (`manifests` → index).
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw new ManifestParseError(`manifest is not valid JSON (${(err as Error).message.slice(0, 120)})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new ManifestParseError("manifest is not a JSON object");
  // annotations and media types are stored as they are (and re-verified from the store): a U+0000 or a
  // lone surrogate, which PostgreSQL cannot hold, makes the answer unusable rather than altered
  if (storable(json) !== json) throw new ManifestParseError("manifest contains a U+0000 character or a lone surrogate");
  const obj = json as Record<string, unknown>;
  const declared = typeof obj.mediaType === "string" ? baseMediaType(obj.mediaType) : contentType ? baseMediaType(contentType) : undefined;
  let kind: "manifest" | "index";
  if (declared && INDEX_MEDIA_TYPES.has(declared)) kind = "index";
  else if (declared && IMAGE_MANIFEST_MEDIA_TYPES.has(declared)) kind = "manifest";
  else if (declared && typeof obj.mediaType === "string") throw new ManifestParseError(`unsupported manifest media type ${JSON.stringify(declared)}`);
  else kind = Array.isArray(obj.manifests) ? "index" : "manifest";
  if (kind === "index") {
    const r = imageIndexSchema.safeParse(json);
    if (!r.success) throw new ManifestParseError(`invalid image index: ${describeIssues(r.error)}`);
    return { kind, mediaType: declared ?? "application/vnd.oci.image.index.v1+json", index: r.data };
  }
  const r = imageManifestSchema.safeParse(json);
  if (!r.success) throw new ManifestParseError(`invalid image manifest: ${describeIssues(r.error)}`);
  return { kind, mediaType: declared ?? "application/vnd.oci.image.manifest.v1+json", manifest: r.data };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
    .join("; ");
}
