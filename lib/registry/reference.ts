/**
 * Image reference parsing and normalization (pure). Follows the grammar of distribution/reference
 * (`ParseNormalizedNamed`): the first path component is a registry host when it contains "." or ":",
 * is "localhost", or has upper-case letters; otherwise the image is on Docker Hub. Docker Hub is
 * normalized to `index.docker.io` and single-component names get the `library/` namespace, which is
 * also how cosign writes `docker-reference` into signature payloads.
 */
import { isDigest } from "@/lib/registry/digest";

/** The canonical Docker Hub registry host (what `docker.io/x` and `x` normalize to). */
export const DOCKER_HUB = "index.docker.io";

const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

/** A repository in a registry; `registry` is a host with an optional port ("127.0.0.1:5000"). */
export interface RepositoryRef {
  registry: string;
  repository: string;
}

/** A parsed, normalized image reference. At least one of `tag` and `digest` is set. */
export interface ImageReference extends RepositoryRef {
  tag?: string;
  digest?: string;
}

/** Thrown for references that do not follow the grammar; the message says what is wrong. */
export class InvalidReferenceError extends Error {
  constructor(readonly input: string, reason: string) {
    super(`invalid image reference ${JSON.stringify(input.length > 300 ? `${input.slice(0, 300)}…` : input)}: ${reason}`);
    this.name = "InvalidReferenceError";
  }
}

// path-component := alpha-numeric (separator alpha-numeric)*, separator := [_.] | "__" | "-"+
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN_LABEL = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_HOST = /^\[[0-9a-fA-F:.]+(?:%[\w.-]+)?\]$/;
const MAX_NAME = 255;

/** Normalizes a registry host: lower case, Docker Hub aliases → index.docker.io. Throws when invalid. */
export function normalizeRegistryHost(host: string): string {
  const h = host.trim();
  if (!isValidHost(h)) throw new InvalidReferenceError(host, "not a valid registry host");
  const lower = h.toLowerCase();
  return DOCKER_HUB_ALIASES.has(lower) ? DOCKER_HUB : lower;
}

function isValidHost(host: string): boolean {
  let name = host;
  let port: string | undefined;
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    if (end < 0) return false;
    name = host.slice(0, end + 1);
    const rest = host.slice(end + 1);
    if (rest) {
      if (!rest.startsWith(":")) return false;
      port = rest.slice(1);
    }
    if (!IPV6_HOST.test(name)) return false;
  } else {
    const i = host.lastIndexOf(":");
    if (i >= 0) {
      name = host.slice(0, i);
      port = host.slice(i + 1);
    }
    if (!name || !name.split(".").every((l) => DOMAIN_LABEL.test(l))) return false;
  }
  if (port !== undefined && (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535 || Number(port) === 0)) return false;
  return true;
}

function splitDomain(name: string): { registry: string; path: string } {
  const i = name.indexOf("/");
  const first = i < 0 ? "" : name.slice(0, i);
  const isDomain = i >= 0 && (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first || first.startsWith("["));
  if (!isDomain) return { registry: DOCKER_HUB, path: name };
  return { registry: normalizeRegistryHost(first), path: name.slice(i + 1) };
}

function checkPath(input: string, path: string, registry: string): string {
  const repository = registry === DOCKER_HUB && !path.includes("/") ? `library/${path}` : path;
  const components = repository.split("/");
  for (const c of components) {
    if (!PATH_COMPONENT.test(c)) {
      throw new InvalidReferenceError(
        input,
        c.toLowerCase() !== c && PATH_COMPONENT.test(c.toLowerCase()) ? "repository names must be lower case" : `invalid path component ${JSON.stringify(c)}`,
      );
    }
  }
  if (`${registry}/${repository}`.length > MAX_NAME) throw new InvalidReferenceError(input, `name longer than ${MAX_NAME} characters`);
  return repository;
}

/**
 * Parses "[host[:port]/]path[:tag][@digest]". Without tag and digest the tag is "latest", as
 * container runtimes do. Throws InvalidReferenceError.
 */
export function parseImageReference(input: string): ImageReference {
  if (typeof input !== "string" || input.length === 0) throw new InvalidReferenceError(String(input), "empty");
  if (input.length > 1024) throw new InvalidReferenceError(input, "too long");
  if (/\s/.test(input)) throw new InvalidReferenceError(input, "contains white space");
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw new InvalidReferenceError(input, "digest must be sha256:<64 hex> or sha512:<128 hex>");
  }
  let tag: string | undefined;
  // A ":" after the last "/" separates the tag (a ":" before it belongs to the host's port).
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/") && !rest.slice(colon).includes("]")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidReferenceError(input, `invalid tag ${JSON.stringify(tag)}`);
  }
  if (!rest) throw new InvalidReferenceError(input, "missing repository name");
  const { registry, path } = splitDomain(rest);
  if (!path) throw new InvalidReferenceError(input, "missing repository name");
  const repository = checkPath(input, path, registry);
  if (!tag && !digest) tag = "latest";
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** Parses a repository without tag or digest ("ghcr.io/org/sigs", "busybox"), e.g. a COSIGN_REPOSITORY value. */
export function parseRepository(input: string): RepositoryRef {
  if (typeof input !== "string" || input.length === 0) throw new InvalidReferenceError(String(input), "empty");
  if (input.includes("@") || input.lastIndexOf(":") > input.lastIndexOf("/")) {
    throw new InvalidReferenceError(input, "a repository must not carry a tag or digest");
  }
  if (/\s/.test(input)) throw new InvalidReferenceError(input, "contains white space");
  const { registry, path } = splitDomain(input);
  if (!path) throw new InvalidReferenceError(input, "missing repository name");
  return { registry, repository: checkPath(input, path, registry) };
}

/** Like parseImageReference, returning undefined instead of throwing. */
export function tryParseImageReference(input: string): ImageReference | undefined {
  try {
    return parseImageReference(input);
  } catch {
    return undefined;
  }
}

/** The fully qualified string form: "host/repo[:tag][@digest]". */
export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** "host/repo" */
export function formatRepository(ref: RepositoryRef): string {
  return `${ref.registry}/${ref.repository}`;
}

const GLOB_CHARS = /[*?]/;

/** Whether the first component of a name is a registry host (distribution/reference's rule). */
function isRegistryComponent(first: string): boolean {
  return /[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first || first.startsWith("[");
}

/**
 * The canonical form of an image glob, so that a pattern matches the names inventory stores
 * ("registry/repository", Docker Hub as `index.docker.io/library/x`) whichever way it is written:
 *
 * - a Docker Hub alias as first component (`docker.io`, `registry-1.docker.io`, `index.docker.io`, …)
 *   becomes `index.docker.io`; other registry hosts are lower-cased;
 * - a pattern whose first component is no registry is on Docker Hub (`acme/app*` →
 *   `index.docker.io/acme/app*`, `library/redis` → `index.docker.io/library/redis`), and a pattern
 *   without any "/" and without wildcards is an official image (`redis` → `index.docker.io/library/redis`);
 * - on Docker Hub, a single path component without `**` gets the `library/` namespace
 *   (`docker.io/redis*` → `index.docker.io/library/redis*`), as references do;
 * - a first component holding a wildcard (`**`, `*.example/app`, `redis*`) cannot be told apart from a
 *   registry and is left as written (it matches against the full canonical name).
 */
export function canonicalImageGlob(pattern: string): string {
  const p = pattern.trim();
  const slash = p.indexOf("/");
  if (slash < 0) return GLOB_CHARS.test(p) || !p ? p : `${DOCKER_HUB}/library/${p}`;
  const first = p.slice(0, slash);
  if (GLOB_CHARS.test(first)) return p;
  let host: string;
  let rest: string;
  if (isRegistryComponent(first)) {
    host = first.toLowerCase();
    if (DOCKER_HUB_ALIASES.has(host)) host = DOCKER_HUB;
    rest = p.slice(slash + 1);
  } else {
    host = DOCKER_HUB;
    rest = p;
  }
  if (host === DOCKER_HUB && rest && !rest.includes("/") && !rest.includes("**")) rest = `library/${rest}`;
  return `${host}/${rest}`;
}

/** Whether a host is one of Docker Hub's names. */
export function isDockerHubHost(host: string): boolean {
  return DOCKER_HUB_ALIASES.has(host.toLowerCase());
}

/** The tag of an image reference as written ("v1" of "ghcr.io/a/b:v1@sha256:…"), null when none was written. */
export function tagOf(imageRef: string): string | null {
  const ref = tryParseImageReference(imageRef);
  if (!ref?.tag) return null;
  // a reference without tag and digest reads as ":latest"; only a tag actually written counts
  const written = imageRef.split("@")[0]!;
  return written.slice(written.lastIndexOf("/") + 1).includes(":") ? ref.tag : null;
}
