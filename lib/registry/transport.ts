import "server-only";
import type { IncomingHttpHeaders } from "node:http";
import tls from "node:tls";
import { request, type Agent } from "undici";
import type { Logger } from "pino";
import { findRefusal, guardedAgent, type LookupAll } from "@/lib/egress/connect";
import { EgressPolicy, principalFor, type Principal } from "@/lib/egress/rules";
import { stripAddress } from "@/lib/egress/address";
import { RegistryError, safeUrl } from "@/lib/registry/errors";
import { hostWithoutPort, type HostPolicy } from "@/lib/registry/host-policy";
import { backoffDelay, parseRetryAfter } from "@/lib/registry/retry";
import { createLimiter, type Limiter } from "@/lib/concurrency";
import { reportRegistryRequest } from "@/lib/metrics/registry-observer";

/**
 * The HTTP layer under the registry client: one undici Agent (keep-alive pool, custom CA) and one
 * concurrency limit per registry, per-attempt deadlines covering connect, headers and the whole body,
 * capped streaming reads, manual redirects with a check of every hop, and retries of 5xx / 429.
 *
 * Every request goes through the egress guard (lib/egress): the registry is the principal (trusted
 * when an operator configured it), redirects, token realms and blob locations are hops; each hop's
 * URL is checked before the request and every address its name resolves to at connect time, and the
 * connection goes to the address that was checked.
 */

export type { LookupAll } from "@/lib/egress/connect";

/** Per-registry settings. `host` is "name[:port]" as in image references. */
export interface RegistryConfig {
  host: string;
  /** Plain HTTP. Only for registries listed here; never inferred. */
  insecure?: boolean;
  /** Extra trusted CA (PEM) for this registry, added to the system roots. */
  caPem?: string;
}


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
  /** Internal destinations explicitly allowed (SIGNET_EGRESS_ALLOW_INTERNAL): host globs, IPs, CIDRs, optionally with :port. */
  allowInternal?: string[];
  /** DNS resolver: the test seam (default: the system resolver, every address). */
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
  limiter: Limiter;
  /** The registry as the egress guard sees it (its own addresses fill in as its name resolves). */
  principal: Principal;
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

export class Transport {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly configs = new Map<string, RegistryConfig>();
  private readonly policy: EgressPolicy;
  readonly stats: TransportStats = { requests: 0, bytesRead: 0, largestBody: 0 };
  readonly requestTimeoutMs: number;

  constructor(private readonly opts: TransportOptions = {}) {
    for (const c of opts.registries ?? []) this.configs.set(c.host.toLowerCase(), c);
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.policy = new EgressPolicy({
      allow: opts.hosts?.allow ?? [],
      deny: opts.hosts?.deny ?? [],
      allowInternal: opts.allowInternal ?? [],
      refusePrivate: opts.allowPrivateRegistries === false,
      allowPrivateRedirects: opts.allowPrivateRedirects === true,
    });
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
    const origin = new URL(`${insecure ? "http" : "https"}://${key}`);
    const principal = principalFor(origin, {
      trusted: config !== undefined,
      applyAllow: true,
      label: `registry ${key}`,
      hint: "configure the registry explicitly to allow it (SIGNET_REGISTRY_INSECURE, a stored credential, or SIGNET_EGRESS_ALLOW_INTERNAL)",
    });
    ep = {
      host: key,
      hostname,
      origin: origin.origin,
      configured: config !== undefined,
      insecure,
      limiter: createLimiter(limit),
      principal,
      agent: guardedAgent({
        check: (name, port, addrs) => this.policy.addressesRefusal(principal, name, port, addrs),
        ...(this.opts.lookup ? { lookup: this.opts.lookup } : {}),
        connectTimeoutMs: this.opts.connectTimeoutMs ?? 5_000,
        connections: limit,
        ...(config?.caPem ? { ca: [...tls.rootCertificates, config.caPem] } : {}),
      }),
    };
    this.endpoints.set(key, ep);
    return ep;
  }

  /** Checks a URL before any request to it (scheme, host lists, IP literals; names are checked again at connect time). */
  checkUrl(ep: Endpoint, url: URL): void {
    const refusal = this.policy.schemeRefusal(url, ep.insecure, ep.host) ?? this.policy.urlRefusal(ep.principal, url);
    if (refusal) throw new RegistryError("forbidden-host", refusal, { url: safeUrl(url) });
  }

  /** One attempt (following redirects), under the registry's concurrency limit and one deadline; counted in the metrics. */
  async send(ep: Endpoint, o: SendOptions): Promise<RawResponse> {
    const started = performance.now();
    try {
      const res = await this.sendOnce(ep, o);
      reportRegistryRequest(ep.host, res.status, (performance.now() - started) / 1000);
      return res;
    } catch (err) {
      reportRegistryRequest(ep.host, err instanceof RegistryError ? err.code : "error", (performance.now() - started) / 1000);
      throw err;
    }
  }

  /** One request (following redirects) within the registry's in-flight limit; the timeout starts once it runs. */
  private sendOnce(ep: Endpoint, o: SendOptions): Promise<RawResponse> {
    return ep.limiter(() => this.sendLimited(ep, o));
  }

  private async sendLimited(ep: Endpoint, o: SendOptions): Promise<RawResponse> {
    const signal = AbortSignal.timeout(this.requestTimeoutMs);
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
    const refusal = findRefusal(err);
    if (refusal) return new RegistryError("forbidden-host", refusal.message, details);
    if (signal.aborted) return new RegistryError("timeout", `no complete response from ${url.host} within ${this.requestTimeoutMs} ms`, details);
    for (let e: unknown = err, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
      const code = (e as { code?: string }).code;
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
