import "server-only";
import type { Logger } from "pino";
import { childLogger } from "@/lib/log";
import type { ReferrersResult, RegistryClient } from "@/lib/registry/client";
import type { ImageAt } from "@/lib/evidence/types";
import { digestTag } from "@/lib/registry/digest";
import { normalizeRegistryHost, type RepositoryRef } from "@/lib/registry/reference";

/** Options of a DiscoverySession. */
export interface DiscoverySessionOptions {
  /**
   * A repository with more tags than this is not indexed (its cosign tags are probed one by one):
   * listing it would cost more than it saves. Default 10,000.
   */
  maxListedTags?: number;
}

const DEFAULT_MAX_LISTED_TAGS = 10_000;

let cachedLog: Logger | undefined;
const logger = () => (cachedLog ??= childLogger("discover"));

/**
 * Shared state for discovering many images at once (one scan batch, one `signet verify` run). It
 * saves registry round trips without changing any outcome:
 *
 * - Tag index: each repository's tag list is fetched once (`GET /v2/<repo>/tags/list`, every page).
 *   A cosign tag (sha256-<hex>.sig / .att / .sbom, the referrers tag) absent from a complete listing
 *   is absent, an authoritative answer just like a 404 on the tag, so it is not probed. A listing that
 *   fails, is cut short or is too long is not used: those tags are probed as without a session.
 * - Referrers API: once a repository answered 404 on the referrers endpoint (the OCI 1.1 signal that
 *   the API is not implemented), later images of that repository go straight to the referrers tag.
 *
 * A session is a snapshot: a signature pushed after its tag list was read is seen by the next
 * session. Keep sessions short-lived (a batch of a scan), never process-wide.
 */
export class DiscoverySession {
  private readonly indexes = new Map<string, Promise<ReadonlySet<string> | undefined>>();
  /** Per repository: resolves false when the referrers API answered 404. */
  private readonly referrersProbe = new Map<string, Promise<boolean>>();
  private readonly maxListedTags: number;
  /** Counters for tests and benchmarks. */
  readonly stats = { listings: 0, listingsUnusable: 0, tagProbesSaved: 0, referrersProbesSaved: 0 };

  constructor(
    readonly client: RegistryClient,
    opts: DiscoverySessionOptions = {},
  ) {
    this.maxListedTags = opts.maxListedTags ?? DEFAULT_MAX_LISTED_TAGS;
  }

  /** The complete tag set of `repo`, or undefined when it could not be listed completely. */
  tagIndex(repo: RepositoryRef): Promise<ReadonlySet<string> | undefined> {
    const key = repoKey(repo);
    let p = this.indexes.get(key);
    if (!p) {
      p = this.list(repo);
      this.indexes.set(key, p);
    }
    return p;
  }

  private async list(repo: RepositoryRef): Promise<ReadonlySet<string> | undefined> {
    this.stats.listings++;
    try {
      const tags = await this.client.listTags(repo, { maxTags: this.maxListedTags + 1 });
      if (tags.length > this.maxListedTags) {
        this.stats.listingsUnusable++;
        logger().debug({ repository: repoKey(repo), over: this.maxListedTags }, "too many tags to index; probing instead");
        return undefined;
      }
      return new Set(tags);
    } catch (err) {
      // e.g. a registry that refuses tag listing to pull-only credentials: probing still answers
      this.stats.listingsUnusable++;
      logger().debug({ repository: repoKey(repo), err: (err as Error).message }, "cannot list tags; probing instead");
      return undefined;
    }
  }

  /** Whether `tag` may exist in `repo`: false only when a complete listing does not contain it. */
  async mayHaveTag(repo: RepositoryRef, tag: string): Promise<boolean> {
    const index = await this.tagIndex(repo);
    if (!index || index.has(tag)) return true;
    this.stats.tagProbesSaved++;
    return false;
  }

  /**
   * Which of the cosign tags of `image` (sha256-<hex>.sig / .att / .sbom and the referrers tag
   * sha256-<hex>) exist in its repository, from the listing; undefined when it cannot be listed.
   */
  async cosignTags(image: ImageAt): Promise<ReadonlySet<string> | undefined> {
    const index = await this.tagIndex({ registry: normalizeRegistryHost(image.registry), repository: image.repository });
    if (!index) return undefined;
    const candidates = [digestTag(image.digest, "sig"), digestTag(image.digest, "att"), digestTag(image.digest, "sbom"), digestTag(image.digest)];
    return new Set(candidates.filter((t) => index.has(t)));
  }

  /**
   * The referrers API answer for one image of `repo` (`fetch` asks for it). The first image of a
   * repository asks; the others wait for that answer, and once it was a 404 (no referrers API) they
   * skip the request. Any other first answer, or a failure, lets each image ask for itself.
   */
  async referrers(repo: RepositoryRef, fetch: () => Promise<ReferrersResult>): Promise<ReferrersResult> {
    const key = repoKey(repo);
    const known = this.referrersProbe.get(key);
    if (known) {
      if (!(await known)) {
        this.stats.referrersProbesSaved++;
        return { supported: false };
      }
      return fetch();
    }
    const first = fetch();
    this.referrersProbe.set(
      key,
      first.then(
        (r) => r.supported,
        () => true,
      ),
    );
    return first;
  }
}

function repoKey(repo: RepositoryRef): string {
  return `${repo.registry}/${repo.repository}`;
}
