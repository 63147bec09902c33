import "server-only";
import { z } from "zod";
import { childLogger } from "@/lib/log";
import { RegistryAuth } from "@/lib/registry/auth";
import { chainCredentials, type CredentialProvider } from "@/lib/registry/credentials";
import { computeDigest, isDigest, parseDigest } from "@/lib/registry/digest";
import { RegistryError, safeUrl } from "@/lib/registry/errors";
import { parseManifest, type Descriptor, ManifestParseError } from "@/lib/registry/manifest";
import { MANIFEST_MEDIA_TYPES, MEDIA, baseMediaType } from "@/lib/registry/media-types";
import { normalizeRegistryHost, type ImageReference, type RepositoryRef } from "@/lib/registry/reference";
import { Transport, type RawResponse, type SendOptions, type TransportOptions, type TransportStats } from "@/lib/registry/transport";

export type { RegistryConfig } from "@/lib/registry/transport";

/** Options of a RegistryClient; every limit has a safe default. */
export interface RegistryClientOptions extends Omit<TransportOptions, "log"> {
  credentials?: CredentialProvider;
  /** Manifest size cap. Default 4 MiB. */
  maxManifestBytes?: number;
  /** Size cap of signature / attestation / bundle blobs. Default 8 MiB. */
  maxBlobBytes?: number;
}

export interface FetchedManifest {
  /** Digest of the bytes as received (sha256, or the requested algorithm). */
  digest: string;
  /** Content-Type of the response (parameters stripped). */
  mediaType: string;
  size: number;
  bytes: Buffer;
}

export type ReferrersResult = { supported: false } | { supported: true; descriptors: Descriptor[] };

export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_BLOB_BYTES = 8 * 1024 * 1024;
const MAX_PAGES = 100;
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const REPOSITORY_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;

const tagListSchema = z.object({ name: z.string().optional(), tags: z.array(z.string()).nullable().optional() });

/**
 * An OCI distribution client for many registries at once: manifests (OCI and Docker, images and
 * indexes) by tag or digest with digest verification, blobs with digest verification, tag listing,
 * the OCI 1.1 referrers API, and tag → digest resolution. Errors are RegistryError with a code; a 404
 * is reported as `undefined` by the `find*` methods and as code "not-found" elsewhere.
 */
export class RegistryClient {
  private readonly transport: Transport;
  private readonly auths = new Map<string, RegistryAuth>();
  readonly maxManifestBytes: number;
  readonly maxBlobBytes: number;

  constructor(
    private readonly opts: RegistryClientOptions = {},
    shared?: Transport,
  ) {
    this.transport =
      shared ??
      new Transport({
        ...opts,
        registries: opts.registries?.map((r) => ({ ...r, host: normalizeRegistryHost(r.host) })),
        log: childLogger("registry"),
      });
    this.maxManifestBytes = opts.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    this.maxBlobBytes = opts.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
  }

  /**
   * A client sharing this one's connections, limits and registry settings that asks `first` for a
   * host's credential before this client's own provider (a pod's pull secrets before Signet's stored
   * credentials). Its tokens are its own. Close only the original client.
   */
  withCredentials(first: CredentialProvider): RegistryClient {
    const credentials = this.opts.credentials ? chainCredentials(first, this.opts.credentials) : first;
    return new RegistryClient({ ...this.opts, credentials }, this.transport);
  }

  /** Counters for tests and benchmarks (requests sent, bytes read, largest body buffered). */
  stats(): TransportStats {
    return { ...this.transport.stats };
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  private readonly hosts = new Map<string, string>();

  /** Normalized registry host ("docker.io" → "index.docker.io"), cached. */
  private host(registry: string): string {
    let h = this.hosts.get(registry);
    if (h === undefined) {
      h = normalizeRegistryHost(registry);
      this.hosts.set(registry, h);
    }
    return h;
  }

  private auth(host: string): RegistryAuth {
    let a = this.auths.get(host);
    if (!a) {
      a = new RegistryAuth(this.transport.endpoint(host), this.transport, this.opts.credentials);
      this.auths.set(host, a);
    }
    return a;
  }

  /** A request to the registry API of `repo`, authenticated for pull as needed. */
  private async call(repo: RepositoryRef, path: string, o: Omit<SendOptions, "url" | "authorization">): Promise<RawResponse> {
    if (!REPOSITORY_RE.test(repo.repository) || repo.repository.length > 255) {
      throw new TypeError(`invalid repository name ${JSON.stringify(repo.repository.slice(0, 300))}`);
    }
    const ep = this.transport.endpoint(this.host(repo.registry));
    const url = new URL(path, ep.origin);
    const scope = `repository:${repo.repository}:pull`;
    const auth = this.auth(ep.host);
    let value = await auth.header(scope);
    // Redirects are followed everywhere (each hop is checked); blobs commonly redirect to storage.
    o = { followRedirects: true, ...o };
    let res = await this.transport.sendWithRetry(ep, { ...o, url, ...(value ? { authorization: { value, origin: ep.origin } } : {}) });
    // A challenge from where a redirect led (blob storage, or anywhere the registry points) is that
    // host's: answering it would hand this registry's credentials to the token service it names.
    if (res.status === 401 && res.url.origin !== ep.origin) {
      throw new RegistryError("auth", `${res.url.host}, reached through a redirect of ${ep.host}, asks for credentials: those of ${ep.host} are not sent there`, { status: 401, url: safeUrl(res.url) });
    }
    if (res.status === 401) {
      value = await auth.answer(scope, res, value);
      res = await this.transport.sendWithRetry(ep, { ...o, url, authorization: { value, origin: ep.origin } });
      if (res.status === 401) throw new RegistryError("auth", `${ep.host} rejected the credentials for ${repo.repository}`, { status: 401, url: safeUrl(url) });
    }
    if (res.status === 403) throw new RegistryError("auth", `${ep.host} denied access to ${repo.repository} (HTTP 403)`, { status: 403, url: safeUrl(url) });
    return res;
  }

  private statusError(res: RawResponse, what: string): RegistryError {
    const s = res.status;
    const code = s === 404 ? "not-found" : s === 401 || s === 403 ? "auth" : s === 429 ? "rate-limited" : s >= 500 ? "server-error" : "bad-response";
    return new RegistryError(code, `${what}: HTTP ${s}${registryErrorText(res.body)}`, { status: s, url: safeUrl(res.url) });
  }

  /** GET a manifest by tag or digest; undefined on 404. Verifies the bytes against the digest. */
  async findManifest(repo: RepositoryRef, reference: string, accept: readonly string[] = MANIFEST_MEDIA_TYPES): Promise<FetchedManifest | undefined> {
    checkReference(reference);
    const res = await this.call(repo, `/v2/${repo.repository}/manifests/${reference}`, {
      method: "GET",
      headers: { accept: accept.join(", ") },
      maxBytes: this.maxManifestBytes,
    });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.statusError(res, `manifest ${repo.repository}:${reference}`);
    const bytes = res.body;
    let digest: string;
    if (isDigest(reference)) {
      digest = computeDigest(bytes, parseDigest(reference).algorithm);
      if (digest !== reference) {
        throw new RegistryError("digest-mismatch", `manifest ${repo.repository}@${reference} has digest ${digest}`, { url: safeUrl(res.url) });
      }
    } else {
      digest = computeDigest(bytes);
      const header = firstHeader(res.headers["docker-content-digest"]);
      if (header && isDigest(header) && computeDigest(bytes, parseDigest(header).algorithm) !== header) {
        throw new RegistryError("digest-mismatch", `manifest ${repo.repository}:${reference} does not match its Docker-Content-Digest ${header}`, { url: safeUrl(res.url) });
      }
    }
    const contentType = firstHeader(res.headers["content-type"]);
    return { digest, mediaType: contentType ? baseMediaType(contentType) : "", size: bytes.length, bytes };
  }

  /** Like findManifest, but a 404 is a RegistryError "not-found". */
  async getManifest(repo: RepositoryRef, reference: string, accept?: readonly string[]): Promise<FetchedManifest> {
    const m = await this.findManifest(repo, reference, accept);
    if (!m) throw new RegistryError("not-found", `manifest ${repo.registry}/${repo.repository}:${reference} not found`);
    return m;
  }

  /** HEAD a manifest: digest (from Docker-Content-Digest), media type and size; undefined on 404. */
  async headManifest(repo: RepositoryRef, reference: string): Promise<{ digest?: string; mediaType: string; size?: number } | undefined> {
    checkReference(reference);
    const res = await this.call(repo, `/v2/${repo.repository}/manifests/${reference}`, {
      method: "HEAD",
      headers: { accept: MANIFEST_MEDIA_TYPES.join(", ") },
      maxBytes: 0,
    });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.statusError(res, `manifest ${repo.repository}:${reference}`);
    const header = firstHeader(res.headers["docker-content-digest"]);
    const size = Number(firstHeader(res.headers["content-length"]));
    const contentType = firstHeader(res.headers["content-type"]);
    return {
      ...(header && isDigest(header) ? { digest: header } : {}),
      mediaType: contentType ? baseMediaType(contentType) : "",
      ...(Number.isFinite(size) ? { size } : {}),
    };
  }

  /**
   * GET a blob, following redirects (each hop checked), reading at most `maxBytes` (default the blob
   * cap) or `expectedSize`, and verifying size and digest.
   */
  async getBlob(repo: RepositoryRef, digest: string, o: { maxBytes?: number; expectedSize?: number } = {}): Promise<Buffer> {
    const { algorithm } = parseDigest(digest);
    const cap = o.maxBytes ?? this.maxBlobBytes;
    if (o.expectedSize !== undefined && o.expectedSize > cap) {
      throw new RegistryError("too-large", `blob ${digest} is ${o.expectedSize} bytes, over the ${cap}-byte limit`);
    }
    const res = await this.call(repo, `/v2/${repo.repository}/blobs/${digest}`, {
      method: "GET",
      maxBytes: o.expectedSize ?? cap,
      overflowCode: o.expectedSize !== undefined ? "digest-mismatch" : "too-large",
    });
    if (res.status !== 200) throw this.statusError(res, `blob ${repo.repository}@${digest}`);
    if (o.expectedSize !== undefined && res.body.length !== o.expectedSize) {
      throw new RegistryError("digest-mismatch", `blob ${digest} is ${res.body.length} bytes, its descriptor says ${o.expectedSize}`, { url: safeUrl(res.url) });
    }
    if (computeDigest(res.body, algorithm) !== digest) {
      throw new RegistryError("digest-mismatch", `blob ${repo.repository}@${digest} does not match its digest`, { url: safeUrl(res.url) });
    }
    return res.body;
  }

  /** Every tag of a repository, following `Link: <…>; rel="next"` pagination. */
  async listTags(repo: RepositoryRef, o: { pageSize?: number; maxTags?: number } = {}): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repo.repository}/tags/list${o.pageSize ? `?n=${o.pageSize}` : ""}`;
    for (let page = 0; path && page < MAX_PAGES; page++) {
      const res = await this.call(repo, path, { method: "GET", headers: { accept: "application/json" }, maxBytes: this.maxManifestBytes });
      if (res.status !== 200) throw this.statusError(res, `tags of ${repo.repository}`);
      const parsed = tagListSchema.safeParse(safeJson(res.body));
      if (!parsed.success) throw new RegistryError("bad-response", `invalid tag list from ${repo.registry} for ${repo.repository}`, { url: safeUrl(res.url) });
      tags.push(...(parsed.data.tags ?? []));
      if (o.maxTags && tags.length >= o.maxTags) return tags.slice(0, o.maxTags);
      path = nextLink(res, repo.repository);
    }
    // a list cut short must not pass for the whole list (callers treat a missing tag as absent)
    if (path) throw new RegistryError("too-large", `tags of ${repo.repository}: more than ${MAX_PAGES} pages`);
    return tags;
  }

  /**
   * The OCI 1.1 referrers API. `{ supported: false }` when the first page answers 404 (the spec's
   * signal that the API is absent) or 400 / 405 / 501 (what registries without the endpoint answer
   * in practice: an unknown route, method or feature), after which clients use the referrers tag;
   * 5xx and any other failure are errors. A listing longer than MAX_PAGES pages is an error too: a
   * truncated list of referrers would be a shorter truth.
   */
  async getReferrers(repo: RepositoryRef, digest: string): Promise<ReferrersResult> {
    parseDigest(digest);
    const descriptors: Descriptor[] = [];
    let path: string | undefined = `/v2/${repo.repository}/referrers/${digest}`;
    for (let page = 0; path && page < MAX_PAGES; page++) {
      const res = await this.call(repo, path, { method: "GET", headers: { accept: MEDIA.ociIndex }, maxBytes: this.maxManifestBytes });
      if (page === 0 && REFERRERS_UNSUPPORTED.has(res.status)) return { supported: false };
      if (res.status !== 200) throw this.statusError(res, `referrers of ${repo.repository}@${digest}`);
      let parsed;
      try {
        parsed = parseManifest(res.body, firstHeader(res.headers["content-type"]));
      } catch (err) {
        throw new RegistryError("bad-response", `referrers of ${repo.repository}@${digest}: ${(err as ManifestParseError).message}`, { url: safeUrl(res.url) });
      }
      if (parsed.kind !== "index") throw new RegistryError("bad-response", `referrers of ${repo.repository}@${digest} is not an image index`, { url: safeUrl(res.url) });
      descriptors.push(...parsed.index.manifests);
      path = nextLink(res, repo.repository);
    }
    if (path) throw new RegistryError("too-large", `referrers of ${repo.repository}@${digest}: more than ${MAX_PAGES} pages`);
    return { supported: true, descriptors };
  }

  /** The digest a reference points to: its own digest, else the tag resolved with HEAD (GET as fallback). */
  async resolveDigest(ref: ImageReference): Promise<string> {
    if (ref.digest) return ref.digest;
    const tag = ref.tag ?? "latest";
    const head = await this.headManifest(ref, tag);
    if (!head) throw new RegistryError("not-found", `${ref.registry}/${ref.repository}:${tag} not found`);
    if (head.digest?.startsWith("sha256:")) return head.digest;
    return (await this.getManifest(ref, tag)).digest;
  }
}

/** Statuses of a referrers request that mean "no referrers API here" (see getReferrers). */
const REFERRERS_UNSUPPORTED = new Set([400, 404, 405, 501]);

function checkReference(reference: string): void {
  if (!isDigest(reference) && !TAG_RE.test(reference)) throw new TypeError(`invalid tag or digest ${JSON.stringify(reference.slice(0, 200))}`);
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function safeJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
}

/** The path of a `Link: <…>; rel="next"` header, kept on the same registry and repository API. */
function nextLink(res: RawResponse, repository: string): string | undefined {
  const link = firstHeader(res.headers.link);
  if (!link) return undefined;
  const m = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(link);
  if (!m) return undefined;
  let next: URL;
  try {
    next = new URL(m[1]!, res.url);
  } catch {
    return undefined;
  }
  if (next.origin !== res.url.origin || !next.pathname.startsWith(`/v2/${repository}/`)) {
    throw new RegistryError("bad-response", `pagination link leaves the repository: ${safeUrl(next)}`, { url: safeUrl(res.url) });
  }
  return `${next.pathname}${next.search}`;
}

/** A short, printable summary of a registry error body ({"errors":[{"code","message"}]}). */
function registryErrorText(body: Buffer): string {
  const json = safeJson(body) as { errors?: Array<{ code?: unknown; message?: unknown }> } | undefined;
  const e = json?.errors?.[0];
  if (!e) return "";
  const text = [e.code, e.message].filter((x) => typeof x === "string").join(": ");
  return text ? ` (${text.replace(/[^\x20-\x7e]/g, "?").slice(0, 200)})` : "";
}
