import "server-only";
import dns from "node:dns";
import type { IncomingHttpHeaders } from "node:http";
import type { LookupFunction } from "node:net";
import tls from "node:tls";
import { Agent, request } from "undici";
import type { Logger } from "pino";
import { canonicalAddress, classifyAddress, isIpLiteral, stripAddress, type AddressClass } from "@/lib/egress/address";
import { RegistryError, safeUrl } from "@/lib/registry/errors";
import { checkHostPolicy, hostWithoutPort, type HostPolicy } from "@/lib/registry/host-policy";
import { backoffDelay, parseRetryAfter } from "@/lib/registry/retry";
import { Semaphore } from "@/lib/registry/semaphore";

/**
 * The HTTP layer under the registry client: one undici Agent (keep-alive pool, custom CA) and one
 * concurrency limit per registry, per-attempt deadlines covering connect, headers and the whole body,
 * capped streaming reads, manual redirects with a check of every hop, and retries of 5xx / 429.
 *
 * Outbound guard. A registry named in a pod spec must not resolve to loopback, link-local, metadata or
 * unspecified addresses unless an operator configured that registry; a redirect or token realm may go
 * to public addresses, to the registry's own addresses, or (for configured registries) to private
 * ranges. Host names are checked on the addresses DNS actually returned, at connect time (undici's
 * `lookup` hook), so a name cannot be re-pointed between the check and the connection.
 */

/** Per-registry settings. `host` is "name[:port]" as in image references. */
export interface RegistryConfig {
  host: string;
  /** Plain HTTP. Only for registries listed here; never inferred. */
  insecure?: boolean;
  /** Extra trusted CA (PEM) for this registry, added to the system roots. */
  caPem?: string;
}

export type LookupAll = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export interface TransportOptions {
  registries?: RegistryConfig[];
  hosts?: HostPolicy;
  /** TCP + TLS connect timeout. Default 5 s. */
  connectTimeoutMs?: number;
  /** Deadline of one attempt: connect, headers and the complete body. Default 30 s. */
  requestTimeoutMs?: number;
  /** Retries after the first attempt for 5xx / 429 / connection resets. Default 3. */
  retries?: number;
  retryBaseDelayMs?: number;
  /** Longest wait between attempts; a larger Retry-After ends the request as rate-limited. Default 10 s. */
  retryMaxDelayMs?: number;
  /** In-flight requests per registry. Default 8. */
  maxConcurrencyPerRegistry?: number;
  maxRedirects?: number;
  /** Let unconfigured registries resolve to private (RFC 1918, ULA, CGNAT) addresses. Default true. */
  allowPrivateRegistries?: boolean;
  /** Let redirects of unconfigured registries go to private addresses. Default false. */
  allowPrivateRedirects?: boolean;
  /** DNS resolver (tests); default dns.lookup with all: true. */
  lookup?: LookupAll;
  userAgent?: string;
  log?: Logger;
}

export interface Endpoint {
  host: string;
  hostname: string;
  origin: string;
  configured: boolean;
  insecure: boolean;
  agent: Agent;
  limiter: Semaphore;
  /** Addresses the registry's own name resolved to; hops may return there. */
  ownAddresses: Set<string>;
  refused?: string;
}

export interface SendOptions {
  method: "GET" | "HEAD" | "POST";
  url: URL;
  headers?: Record<string, string>;
  body?: string;
  /** Cap for a 2xx body; more is an error. Error bodies are read up to 16 KiB and then dropped. */
  maxBytes: number;
  /** Code when a 2xx body exceeds maxBytes (default too-large). */
  overflowCode?: "too-large" | "digest-mismatch";
  followRedirects?: boolean;
  /** Sent only to this origin, never to a redirect target elsewhere. */
  authorization?: { value: string; origin: string };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  url: URL;
}

export interface TransportStats {
  requests: number;
  bytesRead: number;
  /** Largest body held in memory at once (bounded by the caps plus one chunk). */
  largestBody: number;
}

const ERROR_BODY_CAP = 16 * 1024;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
const RETRY_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "UND_ERR_SOCKET", "EAI_AGAIN"]);

class ForbiddenAddressError extends Error {
  readonly code = "ESIGNET_FORBIDDEN_ADDRESS";
  constructor(message: string) {
    super(message);
    this.name = "ForbiddenAddressError";
  }
}

const defaultLookup: LookupAll = (hostname) =>
  new Promise((resolve, reject) => dns.lookup(hostname, { all: true, verbatim: true }, (err, addrs) => (err ? reject(err) : resolve(addrs))));

export class Transport {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly configs = new Map<string, RegistryConfig>();
  private readonly lookupAll: LookupAll;
  readonly stats: TransportStats = { requests: 0, bytesRead: 0, largestBody: 0 };
  readonly requestTimeoutMs: number;

  constructor(private readonly opts: TransportOptions = {}) {
    for (const c of opts.registries ?? []) this.configs.set(c.host.toLowerCase(), c);
    this.lookupAll = opts.lookup ?? defaultLookup;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
  }

  /** The endpoint of a registry host (created on first use). */
  endpoint(host: string): Endpoint {
    const key = host.toLowerCase();
    let ep = this.endpoints.get(key);
    if (ep) return ep;
    const config = this.configs.get(key) ?? (key === "index.docker.io" ? this.configs.get("docker.io") : undefined);
    const insecure = config?.insecure === true;
    const hostname = stripAddress(hostWithoutPort(key)).toLowerCase();
    const limit = this.opts.maxConcurrencyPerRegistry ?? 8;
    const created: Endpoint = {
      host: key,
      hostname,
      origin: new URL(`${insecure ? "http" : "https"}://${key}`).origin,
      configured: config !== undefined,
      insecure,
      limiter: new Semaphore(limit),
      ownAddresses: new Set(),
      agent: undefined as unknown as Agent,
    };
    created.agent = new Agent({
      connections: limit,
      keepAliveTimeout: 30_000,
      connect: {
        timeout: this.opts.connectTimeoutMs ?? 5_000,
        lookup: this.guardedLookup(created),
        ...(config?.caPem ? { ca: [...tls.rootCertificates, config.caPem] } : {}),
      },
    });
    const policy = checkHostPolicy(this.opts.hosts, key);
    if (!policy.allowed) created.refused = policy.reason;
    else if (isIpLiteral(hostname)) {
      const refusal = this.addressRefusal(created, hostname, "registry");
      if (refusal) created.refused = refusal;
      else created.ownAddresses.add(canonicalAddress(hostname));
    }
    this.endpoints.set(key, created);
    ep = created;
    return ep;
  }

  /** Why `address` may not be contacted in this role, or undefined when it may. */
  private addressRefusal(ep: Endpoint, address: string, role: "registry" | "hop"): string | undefined {
    let cls: AddressClass;
    try {
      cls = classifyAddress(address);
    } catch {
      return `${address} is not an IP address`;
    }
    if (cls === "public") return undefined;
    if (role === "registry") {
      if (ep.configured) return undefined;
      if (cls === "private" && this.opts.allowPrivateRegistries !== false) return undefined;
      return `registry ${ep.host} resolves to a ${cls} address (${address}); configure the registry explicitly to allow it`;
    }
    if (ep.ownAddresses.has(canonicalAddress(address))) return undefined;
    if (cls === "private" && (ep.configured || this.opts.allowPrivateRedirects)) return undefined;
    return `refusing to follow ${ep.host} to a ${cls} address (${address})`;
  }

  private guardedLookup(ep: Endpoint): LookupFunction {
    const lookup = (hostname: string, options: { all?: boolean } | number, callback: (...args: unknown[]) => void) => {
      const all = typeof options === "object" && options !== null && options.all === true;
      const role = hostname.toLowerCase() === ep.hostname ? "registry" : "hop";
      this.lookupAll(hostname).then(
        (addrs) => {
          if (addrs.length === 0) {
            callback(Object.assign(new Error(`no addresses for ${hostname}`), { code: "ENOTFOUND" }));
            return;
          }
          for (const a of addrs) {
            const refusal = this.addressRefusal(ep, a.address, role);
            if (refusal) {
              callback(new ForbiddenAddressError(`${refusal} (${hostname})`));
              return;
            }
          }
          if (role === "registry") for (const a of addrs) ep.ownAddresses.add(canonicalAddress(a.address));
          if (all) callback(null, addrs);
          else callback(null, addrs[0]!.address, addrs[0]!.family);
        },
        (err: unknown) => callback(err),
      );
    };
    return lookup as unknown as LookupFunction;
  }

  /** Checks a URL before any request to it (scheme, IP literals; names are checked at connect time). */
  checkUrl(ep: Endpoint, url: URL): void {
    if (ep.refused) throw new RegistryError("forbidden-host", ep.refused, { url: safeUrl(url) });
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new RegistryError("forbidden-host", `refusing a ${url.protocol} URL from ${ep.host}`, { url: safeUrl(url) });
    }
    if (url.protocol === "http:" && !ep.insecure) {
      throw new RegistryError("forbidden-host", `refusing plain HTTP to ${url.host}: ${ep.host} is not configured as insecure`, { url: safeUrl(url) });
    }
    if (url.username || url.password) throw new RegistryError("forbidden-host", "refusing a URL with embedded credentials", { url: safeUrl(url) });
    const hostname = stripAddress(url.hostname).toLowerCase();
    if (isIpLiteral(hostname)) {
      const refusal = this.addressRefusal(ep, hostname, hostname === ep.hostname ? "registry" : "hop");
      if (refusal) throw new RegistryError("forbidden-host", refusal, { url: safeUrl(url) });
    }
  }

  /** One attempt (following redirects), under the registry's concurrency limit and one deadline. */
  async send(ep: Endpoint, o: SendOptions): Promise<RawResponse> {
    const release = await ep.limiter.acquire();
    const signal = AbortSignal.timeout(this.requestTimeoutMs);
    try {
      let url = o.url;
      let method = o.method;
      let body = o.body;
      for (let hops = 0; ; hops++) {
        this.checkUrl(ep, url);
        const headers: Record<string, string> = { "user-agent": this.opts.userAgent ?? "signet", ...o.headers };
        if (o.authorization && url.origin === o.authorization.origin) headers.authorization = o.authorization.value;
        this.stats.requests++;
        let res: Awaited<ReturnType<typeof request>>;
        try {
          res = await request(url, {
            method,
            headers,
            body: body ?? null,
            dispatcher: ep.agent,
            signal,
            headersTimeout: this.requestTimeoutMs,
            bodyTimeout: this.requestTimeoutMs,
          });
        } catch (err) {
          throw this.mapError(err, url, signal);
        }
        const status = res.statusCode;
        if (REDIRECTS.has(status) && o.followRedirects) {
          await drain(res.body);
          const location = res.headers.location;
          const loc = Array.isArray(location) ? location[0] : location;
          if (!loc) throw new RegistryError("bad-response", `HTTP ${status} without a Location from ${ep.host}`, { status, url: safeUrl(url) });
          if (hops + 1 > (this.opts.maxRedirects ?? 5)) throw new RegistryError("bad-response", `too many redirects from ${ep.host}`, { url: safeUrl(url) });
          let next: URL;
          try {
            next = new URL(loc, url);
          } catch {
            throw new RegistryError("bad-response", `invalid redirect Location from ${ep.host}`, { status, url: safeUrl(url) });
          }
          this.opts.log?.debug({ from: safeUrl(url), to: safeUrl(next), status }, "registry redirect");
          if (status === 303) {
            method = "GET";
            body = undefined;
          }
          url = next;
          continue;
        }
        const ok = status >= 200 && status < 300;
        if (method === "HEAD") {
          await drain(res.body);
          return { status, headers: res.headers, body: Buffer.alloc(0), url };
        }
        const cap = ok ? o.maxBytes : ERROR_BODY_CAP;
        const declared = Number(res.headers["content-length"]);
        if (ok && Number.isFinite(declared) && declared > cap) {
          discard(res.body);
          throw new RegistryError(o.overflowCode ?? "too-large", `response of ${declared} bytes from ${ep.host} exceeds the ${cap}-byte limit`, {
            status,
            url: safeUrl(url),
            bytesRead: 0,
          });
        }
        const bytes = await this.readCapped(res.body, cap, ok, signal, url, o.overflowCode);
        return { status, headers: res.headers, body: bytes, url };
      }
    } finally {
      release();
    }
  }

  private async readCapped(
    body: AsyncIterable<Buffer> & Discardable,
    cap: number,
    strict: boolean,
    signal: AbortSignal,
    url: URL,
    overflowCode: "too-large" | "digest-mismatch" = "too-large",
  ): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let n = 0;
    try {
      for await (const chunk of body) {
        n += chunk.length;
        this.stats.bytesRead += chunk.length;
        if (n > this.stats.largestBody) this.stats.largestBody = n;
        if (n > cap) {
          discard(body);
          if (!strict) return Buffer.concat(chunks);
          throw new RegistryError(overflowCode, `response body from ${url.host} exceeds the ${cap}-byte limit`, { url: safeUrl(url), bytesRead: n });
        }
        chunks.push(chunk);
      }
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      throw this.mapError(err, url, signal, n);
    }
    return Buffer.concat(chunks, n);
  }

  private mapError(err: unknown, url: URL, signal: AbortSignal, bytesRead?: number): RegistryError {
    if (err instanceof RegistryError) return err;
    const details = { url: safeUrl(url), ...(bytesRead !== undefined ? { bytesRead } : {}) };
    if (signal.aborted) return new RegistryError("timeout", `no complete response from ${url.host} within ${this.requestTimeoutMs} ms`, details);
    for (let e: unknown = err, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
      const code = (e as { code?: string }).code;
      if (e instanceof ForbiddenAddressError || code === "ESIGNET_FORBIDDEN_ADDRESS") return new RegistryError("forbidden-host", (e as Error).message, details);
      if (code === "UND_ERR_CONNECT_TIMEOUT" || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT" || code === "ETIMEDOUT") {
        return new RegistryError("timeout", `timed out talking to ${url.host} (${code})`, details);
      }
    }
    const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
    const message = (err as Error).message ?? String(err);
    return Object.assign(new RegistryError("network", `cannot reach ${url.host}: ${code ? `${code} ` : ""}${message}`.slice(0, 400), details), {
      transientCode: code,
    });
  }

  /** `send` with retries of 429 / 5xx (honouring Retry-After up to the cap) and of connection resets. */
  async sendWithRetry(ep: Endpoint, o: SendOptions): Promise<RawResponse> {
    const retries = this.opts.retries ?? 3;
    const base = this.opts.retryBaseDelayMs ?? 200;
    const max = this.opts.retryMaxDelayMs ?? 10_000;
    for (let attempt = 1; ; attempt++) {
      let res: RawResponse;
      try {
        res = await this.send(ep, o);
      } catch (err) {
        const transient = (err as { transientCode?: string }).transientCode;
        if (err instanceof RegistryError && err.code === "network" && transient && RETRY_CODES.has(transient) && attempt <= retries) {
          const delay = backoffDelay(attempt, base, max);
          this.opts.log?.debug({ host: ep.host, attempt, delay, code: transient }, "registry connection failed, retrying");
          await sleep(delay);
          continue;
        }
        throw err;
      }
      if (!RETRY_STATUSES.has(res.status)) return res;
      const code = res.status === 429 ? "rate-limited" : "server-error";
      const retryAfter = parseRetryAfter(res.headers["retry-after"]);
      if (attempt > retries) {
        throw new RegistryError(code, `${ep.host} answered HTTP ${res.status} ${attempt} times for ${safeUrl(res.url)}`, { status: res.status, url: safeUrl(res.url) });
      }
      if (retryAfter !== undefined && retryAfter > max) {
        throw new RegistryError(code, `${ep.host} answered HTTP ${res.status} and asked to retry after ${Math.ceil(retryAfter / 1000)} s (more than the ${max} ms cap)`, {
          status: res.status,
          url: safeUrl(res.url),
        });
      }
      const delay = retryAfter ?? backoffDelay(attempt, base, max);
      this.opts.log?.debug({ host: ep.host, attempt, delay, status: res.status }, "registry busy, retrying");
      await sleep(delay);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.endpoints.values()].map((ep) => ep.agent.close().catch(() => undefined)));
    this.endpoints.clear();
  }
}

interface Discardable {
  destroy(err?: Error): void;
  on(event: "error", listener: (err: Error) => void): unknown;
}

/** Drops a body and closes its connection, without an unhandled 'error' from the aborted stream. */
function discard(body: Discardable): void {
  body.on("error", () => undefined);
  body.destroy();
}

/** Reads and drops a small body (redirects, HEAD) so the connection can be reused; big ones are discarded. */
async function drain(body: Discardable & { dump(opts?: { limit?: number }): Promise<void> }): Promise<void> {
  body.on("error", () => undefined);
  await body.dump({ limit: ERROR_BODY_CAP }).catch(() => undefined);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
