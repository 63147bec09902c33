import "server-only";
import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  HttpMethod,
  KubeConfig,
  ServerConfiguration,
  createConfiguration,
  type RequestContext,
  type SecurityAuthentication,
} from "@kubernetes/client-node";
import type { Dispatcher } from "undici";
import type { ClusterError, KubeErrorKind } from "@/lib/kube/types";

/** Typed API clients for one cluster, sharing one connection pool and a per-request timeout. */
export interface KubeClients {
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  events: EventsV1Api;
  custom: CustomObjectsApi;
  /**
   * GETs `path` (e.g. `/api/v1/pods`) with the same credentials, timeout and connection pool, and
   * returns the parsed JSON as plain objects: no client-node model classes, which matters for lists
   * of thousands of objects (see `listPages`). Non-2xx answers throw an `ApiException`.
   */
  getJson(path: string, query?: Record<string, string | number | undefined>): Promise<unknown>;
  /** Closes the pooled connections (call after every request has settled). */
  close(): Promise<void>;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Builds the clients the way `kc.makeApiClient` does, with two changes: every request carries an
 * AbortSignal timeout (an unanswering server must not hang a scan), and the undici dispatcher that
 * client-node creates for the first request is reused for the following ones (client-node builds a
 * new one per request, which would open a new TLS connection for every page of a paginated list).
 */
export function createKubeClients(kc: KubeConfig, opts: { timeoutMs?: number } = {}): KubeClients {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let shared: Dispatcher | undefined;
  const created = new Set<Dispatcher>();
  const auth: SecurityAuthentication = {
    getName: () => "signet-kubeconfig",
    async applySecurityAuthentication(context: RequestContext) {
      // Credentials (token files, exec plugins) are applied per request so rotation is honoured.
      await kc.applySecurityAuthentication(context);
      const fresh = context.getDispatcher();
      if (shared) {
        if (fresh && fresh !== shared) void (fresh as Dispatcher).close().catch(() => undefined);
        context.setDispatcher(shared);
      } else if (fresh) {
        shared = fresh as Dispatcher;
        created.add(shared);
      }
      context.setSignal(AbortSignal.timeout(timeoutMs));
    },
  };
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: auth },
  });
  const getJson = async (apiPath: string, query: Record<string, string | number | undefined> = {}): Promise<unknown> => {
    const context = configuration.baseServer.makeRequestContext(apiPath, HttpMethod.GET);
    context.setHeaderParam("Accept", "application/json");
    for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== "") context.setQueryParam(key, String(value));
    await auth.applySecurityAuthentication(context);
    const response = await configuration.httpApi.send(context).toPromise();
    const text = await response.body.text();
    if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
      throw new ApiException(response.httpStatusCode, `HTTP ${response.httpStatusCode} from GET ${apiPath}`, text, response.headers);
    }
    return JSON.parse(text) as unknown;
  };
  return {
    getJson,
    core: new CoreV1Api(configuration),
    apps: new AppsV1Api(configuration),
    batch: new BatchV1Api(configuration),
    events: new EventsV1Api(configuration),
    custom: new CustomObjectsApi(configuration),
    async close() {
      // destroy, not close: close() waits for pending connections, and a server that accepted a
      // connection but never completed TLS would hold the scan until undici's own connect timeout.
      await Promise.all([...created].map((d) => d.destroy().catch(() => undefined)));
    },
  };
}

/** A failed Kubernetes API request, classified. */
export class KubeRequestError extends Error {
  constructor(
    readonly kind: KubeErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "KubeRequestError";
  }
}

function statusMessage(body: unknown): string | undefined {
  let value = body;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return (value as string).trim().slice(0, 300) || undefined;
    }
  }
  if (value && typeof value === "object" && "message" in value && typeof value.message === "string") return value.message;
  return undefined;
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found (DNS)",
  UND_ERR_SOCKET: "connection closed",
  UND_ERR_CONNECT_TIMEOUT: "connect timeout",
  UND_ERR_HEADERS_TIMEOUT: "response timeout",
};

const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_SIGNATURE_FAILURE",
  "EPROTO",
]);

function causeChain(err: unknown): { code?: string; message: string }[] {
  const out: { code?: string; message: string }[] = [];
  let e: unknown = err;
  for (let i = 0; i < 5 && e && typeof e === "object"; i++) {
    const rec = e as { code?: unknown; message?: unknown; cause?: unknown };
    out.push({ code: typeof rec.code === "string" ? rec.code : undefined, message: String(rec.message ?? "") });
    e = rec.cause;
  }
  return out;
}

/**
 * Classifies any error thrown by a client-node call into one readable line (never including
 * credentials): HTTP status with the API server's own Status message, or the network cause.
 */
export function classifyKubeError(err: unknown, what: string, server: string | null): KubeRequestError {
  if (err instanceof KubeRequestError) return err;
  const where = server ?? "the API server";
  if (err instanceof ApiException) {
    const code = err.code;
    const detail = statusMessage(err.body);
    if (code === 401) {
      return new KubeRequestError("unauthorized", `${where} rejected the credentials (401 Unauthorized) while trying to ${what}: the token or client certificate is invalid or expired`, code);
    }
    if (code === 403) return new KubeRequestError("forbidden", `forbidden to ${what}: ${detail ?? "403 Forbidden"}`, code);
    if (code === 404) return new KubeRequestError("not_found", `cannot ${what}: ${detail ?? "404 Not Found"}`, code);
    if (code === 408 || code === 504) return new KubeRequestError("timeout", `${where} timed out while trying to ${what}: ${detail ?? code}`, code);
    return new KubeRequestError(code >= 500 ? "server" : "other", `cannot ${what}: HTTP ${code}${detail ? `: ${detail}` : ""}`, code);
  }
  const chain = causeChain(err);
  if (chain.some((c) => c.code === "ABORT_ERR" || /TimeoutError|aborted due to timeout|operation was aborted/i.test(c.message))) {
    return new KubeRequestError("timeout", `${where} did not answer in time while trying to ${what}`);
  }
  const tls = chain.find((c) => c.code && TLS_CODES.has(c.code));
  if (tls) {
    return new KubeRequestError("tls", `cannot verify the TLS certificate of ${where} (${tls.code}): check certificate-authority in the kubeconfig`);
  }
  const net = chain.find((c) => c.code && NETWORK_CODES[c.code]);
  if (net?.code) return new KubeRequestError("unreachable", `cannot reach ${where}: ${NETWORK_CODES[net.code]}`);
  const last = chain.filter((c) => c.message).at(-1)?.message ?? String(err);
  if (chain.some((c) => /fetch failed/i.test(c.message))) return new KubeRequestError("unreachable", `cannot reach ${where}: ${last}`);
  return new KubeRequestError("other", `cannot ${what}: ${last}`);
}

export function toClusterError(err: KubeRequestError, at: Date): ClusterError {
  return { kind: err.kind, message: err.message, ...(err.status !== undefined ? { status: err.status } : {}), at };
}

/** One page of a Kubernetes list. */
export interface ListPage<T> {
  items: T[];
  metadata?: { _continue?: string } | null;
}

/**
 * Reads a whole list page by page (`limit` / `continue`), handing each page's items to `onItems`
 * so that nothing but the caller's own records is retained. When the continue token expires
 * (410 Gone: the list took longer than etcd keeps history) the list restarts once from the start,
 * after `onRestart` lets the caller drop what it collected. Returns the number of pages read.
 */
export async function listAll<T>(
  fetchPage: (cont: string | undefined) => Promise<ListPage<T>>,
  onItems: (items: T[]) => void,
  onRestart: () => void = () => undefined,
): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    let pages = 0;
    let cont: string | undefined;
    try {
      do {
        const page = await fetchPage(cont);
        pages++;
        onItems(page.items ?? []);
        cont = page.metadata?._continue || undefined;
      } while (cont);
      return pages;
    } catch (err) {
      if (attempt === 0 && cont && err instanceof ApiException && err.code === 410) {
        onRestart();
        continue;
      }
      throw err;
    }
  }
}

/**
 * A `fetchPage` for `listAll` that reads `path` as raw JSON (`KubeClients.getJson`): each page's
 * items stay plain parsed objects, to be validated and reduced to records by the caller before the
 * next page arrives. `items` is `unknown[]`: the caller checks the fields it uses.
 */
export function rawListPages(
  clients: Pick<KubeClients, "getJson">,
  path: string,
  limit: number,
  onResourceVersion?: (rv: string) => void,
): (cont: string | undefined) => Promise<ListPage<unknown>> {
  return async (cont) => {
    const body = await clients.getJson(path, { limit, continue: cont });
    const page = (body ?? {}) as { items?: unknown; metadata?: { continue?: unknown; resourceVersion?: unknown } | null };
    // every page of a paginated list is the same snapshot: its resourceVersion is where a watch starts
    if (typeof page.metadata?.resourceVersion === "string" && page.metadata.resourceVersion) onResourceVersion?.(page.metadata.resourceVersion);
    if (page.items !== undefined && page.items !== null && !Array.isArray(page.items)) {
      throw new Error(`GET ${path}: the answer is not a Kubernetes list (items is not an array)`);
    }
    const next = page.metadata?.continue;
    return { items: (page.items as unknown[] | null | undefined) ?? [], metadata: { _continue: typeof next === "string" && next ? next : undefined } };
  };
}
