import "server-only";
import type { ArtifactKind, ArtifactSource, DiscoveredArtifact, DiscoveredLayer, DiscoveryErrorCode, DiscoveryResult, ImageAt } from "@/lib/evidence/types";
import type { Logger } from "pino";
import { childLogger } from "@/lib/log";
import { artifactTypeOf, classifyReferrer, shouldFetchLayer } from "@/lib/registry/classify";
import type { FetchedManifest, RegistryClient } from "@/lib/registry/client";
import { digestTag, isDigest } from "@/lib/registry/digest";
import type { DiscoverySession } from "@/lib/registry/discovery-session";
import { RegistryError } from "@/lib/registry/errors";
import { ManifestParseError, parseManifest, type Descriptor, type ParsedManifest } from "@/lib/registry/manifest";
import { formatRepository, normalizeRegistryHost, parseRepository, type RepositoryRef } from "@/lib/registry/reference";
import { storable } from "@/lib/text";

/** Options of discover(). */
export interface DiscoverOptions {
  client: RegistryClient;
  /**
   * Where signatures live when not next to the image (cosign's COSIGN_REPOSITORY), as
   * "host/path" or a RepositoryRef. Applies to the tags and to referrers.
   */
  signatureRepository?: string | RepositoryRef;
  /**
   * Shared by the images of one batch: a repository's tags are listed once and cosign tags missing
   * from the listing are not probed; a repository without the referrers API is not asked again.
   */
  session?: DiscoverySession;
}

const TAG_KINDS = [
  ["sig", "signature"],
  ["att", "attestation"],
  ["sbom", "sbom"],
] as const satisfies ReadonlyArray<readonly ["sig" | "att" | "sbom", ArtifactKind]>;

let cachedLog: Logger | undefined;
const logger = () => (cachedLog ??= childLogger("discover"));

const SOURCE_ORDER: Record<ArtifactSource, number> = { tag: 0, "referrers-api": 1, "referrers-tag": 2 };
const KIND_ORDER: Record<ArtifactKind, number> = { signature: 0, attestation: 1, sbom: 2, bundle: 3, other: 4 };

/**
 * Discovery for one image digest: every cosign / Sigstore artifact stored for it, fetched and
 * digest-checked but not verified. Looks at the cosign tags (sha256-<hex>.sig / .att / .sbom) and at
 * OCI referrers (the referrers API, or on its 404 the referrers tag sha256-<hex>). The outcome is
 * "none" only when every one of those answered an authoritative 404 (or the API an empty list, or,
 * with a session, a complete tag listing lacked the tag);
 * any other failure anywhere is "error", with whatever was fetched before it as `partial`.
 */
export async function discover(image: ImageAt, opts: DiscoverOptions): Promise<DiscoveryResult> {
  if (!isDigest(image.digest)) throw new TypeError(`discover needs an image digest, got ${JSON.stringify(image.digest)}`);
  const log = logger();
  const store = signatureStore(image, opts.signatureRepository);
  const where = formatRepository(store);
  const { client, session } = opts;
  const artifacts: DiscoveredArtifact[] = [];
  const checked: string[] = [];

  // Several signatures often share one payload blob; fetch each blob once.
  const blobs = new Map<string, Promise<Buffer>>();
  const getBlob = (l: Descriptor) => {
    const key = `${l.digest}/${l.size}`;
    let p = blobs.get(key);
    if (!p) blobs.set(key, (p = client.getBlob(store, l.digest, { expectedSize: l.size })));
    return p;
  };

  const fetchLayers = (kind: ArtifactKind, source: "tag" | "referrer", layers: Descriptor[]): Promise<DiscoveredLayer[]> =>
    Promise.all(
      layers.map(async (l): Promise<DiscoveredLayer> => {
        const layer: DiscoveredLayer = { digest: l.digest, mediaType: l.mediaType, size: l.size, annotations: { ...l.annotations } };
        if (!shouldFetchLayer(kind, source, l)) return { ...layer, skipped: `not downloaded: ${kind === "sbom" ? "SBOM documents are only recorded" : `media type ${l.mediaType}`}` };
        if (l.size > client.maxBlobBytes) return { ...layer, skipped: `not downloaded: ${l.size} bytes is over the ${client.maxBlobBytes}-byte blob limit` };
        return { ...layer, content: await getBlob(l) };
      }),
    );

  const tagArtifact = async (suffix: "sig" | "att" | "sbom", kind: ArtifactKind) => {
    const tag = digestTag(image.digest, suffix);
    if (session && !(await session.mayHaveTag(store, tag))) {
      checked.push(`${where}:${tag} (not in the tag list)`);
      return;
    }
    const fetched = await client.findManifest(store, tag);
    if (!fetched) {
      checked.push(`${where}:${tag} (404)`);
      return;
    }
    const parsed = parse(fetched, `${where}:${tag}`);
    if (parsed.kind !== "manifest") throw new RegistryError("bad-response", `${where}:${tag} is an image index, expected a cosign image manifest`);
    const m = parsed.manifest;
    const layers = await fetchLayers(kind, "tag", m.layers);
    artifacts.push({
      kind,
      source: "tag",
      tag,
      manifestDigest: fetched.digest,
      manifestMediaType: parsed.mediaType,
      ...optional("artifactType", artifactTypeOf(m)),
      ...optional("subjectDigest", m.subject?.digest),
      annotations: { ...m.annotations },
      layers,
    });
  };

  const referrer = async (entry: Descriptor, source: "referrers-api" | "referrers-tag", listedBy: string, tag?: string) => {
    const fetched = await client.findManifest(store, entry.digest);
    if (!fetched) throw new RegistryError("bad-response", `referrer ${entry.digest} listed by ${listedBy} does not exist (404)`);
    if (fetched.size !== entry.size) {
      throw new RegistryError("digest-mismatch", `referrer ${entry.digest} is ${fetched.size} bytes, ${listedBy} says ${entry.size}`);
    }
    const parsed = parse(fetched, `${where}@${entry.digest}`);
    const subject = parsed.kind === "manifest" ? parsed.manifest.subject : parsed.index.subject;
    if (subject?.digest !== image.digest) {
      throw new RegistryError(
        "bad-response",
        `referrer ${entry.digest} listed by ${listedBy} has ${subject ? `subject ${subject.digest}` : "no subject"}, not ${image.digest}`,
      );
    }
    const common = {
      source,
      ...(tag ? { tag } : {}),
      manifestDigest: fetched.digest,
      manifestMediaType: parsed.mediaType,
      subjectDigest: subject.digest,
    };
    if (parsed.kind === "index") {
      artifacts.push({ kind: "other", ...common, ...optional("artifactType", parsed.index.artifactType ?? entry.artifactType), annotations: { ...parsed.index.annotations }, layers: [] });
      return;
    }
    const m = parsed.manifest;
    const kind = classifyReferrer(m, entry);
    const layers = await fetchLayers(kind, "referrer", m.layers);
    artifacts.push({ kind, ...common, ...optional("artifactType", artifactTypeOf(m, entry)), annotations: { ...m.annotations }, layers });
  };

  const referrers = async () => {
    const ask = () => client.getReferrers(store, image.digest);
    const api = session ? await session.referrers(store, ask) : await ask();
    let entries: Descriptor[];
    let source: "referrers-api" | "referrers-tag";
    let listedBy: string;
    let tag: string | undefined;
    if (api.supported) {
      entries = api.descriptors;
      source = "referrers-api";
      listedBy = `the referrers API of ${where}`;
      if (entries.length === 0) checked.push(`${where} referrers API (empty)`);
    } else {
      checked.push(`${where} referrers API (404)`);
      tag = digestTag(image.digest);
      if (session && !(await session.mayHaveTag(store, tag))) {
        checked.push(`${where}:${tag} (not in the tag list)`);
        return;
      }
      const fetched = await client.findManifest(store, tag);
      if (!fetched) {
        checked.push(`${where}:${tag} (404)`);
        return;
      }
      const parsed = parse(fetched, `${where}:${tag}`);
      if (parsed.kind !== "index") throw new RegistryError("bad-response", `${where}:${tag} is not an image index (referrers tag schema)`);
      entries = parsed.index.manifests;
      source = "referrers-tag";
      listedBy = `${where}:${tag}`;
    }
    const seen = new Set<string>();
    const unique = entries.filter((e) => !seen.has(e.digest) && seen.add(e.digest));
    await settleAll(unique.map((e) => referrer(e, source, listedBy, tag)));
  };

  const outcomes = await Promise.allSettled([...TAG_KINDS.map(([suffix, kind]) => tagArtifact(suffix, kind)), referrers()]);
  artifacts.sort(
    (a, b) =>
      SOURCE_ORDER[a.source] - SOURCE_ORDER[b.source] || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.manifestDigest.localeCompare(b.manifestDigest),
  );
  const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
  if (failure) {
    const { code, reason } = describeFailure(failure.reason);
    log.debug({ image, code, reason, partial: artifacts.length }, "discovery failed");
    return { outcome: "error", image, code, reason, partial: artifacts };
  }
  if (artifacts.length === 0) return { outcome: "none", image, checked: checked.sort() };
  const manifestDigests = [...new Set(artifacts.map((a) => a.manifestDigest))];
  log.debug({ image, artifacts: artifacts.length }, "discovery found artifacts");
  return { outcome: "found", image, artifacts, manifestDigests };
}

function signatureStore(image: ImageAt, override: string | RepositoryRef | undefined): RepositoryRef {
  if (override === undefined) return { registry: normalizeRegistryHost(image.registry), repository: image.repository };
  if (typeof override === "string") return parseRepository(override);
  return { registry: normalizeRegistryHost(override.registry), repository: override.repository };
}

function parse(fetched: FetchedManifest, what: string): ParsedManifest {
  try {
    return parseManifest(fetched.bytes, fetched.mediaType);
  } catch (err) {
    if (err instanceof ManifestParseError) throw new RegistryError("bad-response", `${what}: ${err.message}`);
    throw err;
  }
}

/** Like Promise.all, but waits for every promise before rejecting with the first failure. */
async function settleAll(promises: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** The reason quotes what the registry answered (error bodies): without U+0000, as it is stored. */
function describeFailure(err: unknown): { code: DiscoveryErrorCode; reason: string } {
  if (err instanceof RegistryError) {
    // A 404 for something a manifest or index lists is a broken registry, not an absence.
    return { code: err.code === "not-found" ? "bad-response" : err.code, reason: storable(err.message) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: "bad-response", reason: storable(`unexpected failure: ${message}`.slice(0, 500)) };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
