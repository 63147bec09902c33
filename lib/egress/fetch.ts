import "server-only";
import { fetch as undiciFetch, Headers, type Agent, type RequestInit, type Response } from "undici";
import { EgressRefusedError, findRefusal, guardedAgent, type LookupAll } from "@/lib/egress/connect";
import { EgressPolicy, principalFor, type EgressRules, type Principal } from "@/lib/egress/rules";

/**
 * A fetch-shaped client for everything that is not the registry client (webhooks, TUF, …), guarded
 * like the registry transport: scheme and URL checked before each hop, every address DNS returns
 * checked at connect time and connected to as checked, redirects followed by hand (counted, each hop
 * re-checked, Authorization and Cookie dropped when the origin changes). A refused hop rejects with
 * EgressRefusedError and no connection is attempted.
 */

export type EgressFetch = ((input: string | URL, init?: RequestInit) => Promise<Response>) & {
  /** Closes the pooled connections. */
  close(): Promise<void>;
};

export interface EgressFetchOptions {
  rules?: EgressRules;
  /** What the requests are for ("webhook", "TUF mirror"): names the principal in refusals. */
  label: string;
  /** Origins an operator configured (e.g. a TUF mirror): their own address may be internal. */
  trustedOrigins?: string[];
  /** Allow http: URLs. Default false (https only). */
  plainHttp?: boolean;
  /** Redirects followed before giving up; 0 returns the 3xx response. Default 5. */
  maxRedirects?: number;
  connectTimeoutMs?: number;
  /** DNS resolver: the documented test seam (tests answer names without touching real DNS). */
  lookup?: LookupAll;
  /** How an operator allows a refused internal destination (end of the refusal message). */
  hint?: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_AGENTS = 32;

export function createEgressFetch(o: EgressFetchOptions): EgressFetch {
  const policy = new EgressPolicy(o.rules);
  const trusted = new Set((o.trustedOrigins ?? []).map((u) => new URL(u).origin));
  const agents = new Map<string, { principal: Principal; agent: Agent }>();
  const hint = o.hint ?? "list it in SIGNET_EGRESS_ALLOW_INTERNAL to allow it";

  const forOrigin = (url: URL) => {
    let entry = agents.get(url.origin);
    if (entry) return entry;
    if (agents.size >= MAX_AGENTS) {
      const [oldest, old] = agents.entries().next().value!;
      agents.delete(oldest);
      void old.agent.close().catch(() => undefined);
    }
    const principal = principalFor(url, { trusted: trusted.has(url.origin), applyAllow: false, label: `${o.label} ${url.host}`, hint });
    const agent = guardedAgent({
      check: (hostname, port, addrs) => policy.addressesRefusal(principal, hostname, port, addrs),
      ...(o.lookup ? { lookup: o.lookup } : {}),
      connectTimeoutMs: o.connectTimeoutMs ?? 5_000,
      connections: 4,
    });
    entry = { principal, agent };
    agents.set(url.origin, entry);
    return entry;
  };

  const egressFetch = async (input: string | URL, init: RequestInit = {}): Promise<Response> => {
    let url = new URL(String(input));
    const { principal, agent } = forOrigin(url);
    const follow = init.redirect !== "manual" && init.redirect !== "error";
    const max = o.maxRedirects ?? 5;
    let method = (init.method ?? "GET").toUpperCase();
    let body = init.body;
    const headers = new Headers(init.headers);
    for (let hops = 0; ; hops++) {
      const refusal = policy.schemeRefusal(url, o.plainHttp === true, principal.label) ?? policy.urlRefusal(principal, url);
      if (refusal) throw new EgressRefusedError(refusal);
      let res: Response;
      try {
        res = await undiciFetch(url, { ...init, method, headers, body: body ?? null, redirect: "manual", dispatcher: agent });
      } catch (err) {
        throw findRefusal(err) ?? err;
      }
      if (!REDIRECTS.has(res.status)) return res;
      if (init.redirect === "error") {
        await res.body?.cancel().catch(() => undefined);
        throw new TypeError(`unexpected redirect from ${url.host}`);
      }
      if (!follow || max === 0) return res;
      await res.body?.cancel().catch(() => undefined);
      const location = res.headers.get("location");
      if (!location) return res;
      if (hops + 1 > max) throw new EgressRefusedError(`too many redirects from ${principal.label}`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new EgressRefusedError(`invalid redirect Location from ${url.host}`);
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
        method = "GET";
        body = undefined;
        headers.delete("content-type");
        headers.delete("content-length");
      }
      if (next.origin !== url.origin) {
        headers.delete("authorization");
        headers.delete("cookie");
      }
      url = next;
    }
  };
  return Object.assign(egressFetch, {
    close: async () => {
      const all = [...agents.values()];
      agents.clear();
      await Promise.all(all.map((e) => e.agent.close().catch(() => undefined)));
    },
  });
}
