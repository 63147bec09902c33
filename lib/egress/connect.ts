import "server-only";
import dns from "node:dns";
import { isIP } from "node:net";
import { Agent, buildConnector } from "undici";
import { stripAddress } from "@/lib/egress/address";

/**
 * Connections of the egress guard: an undici Agent whose connector resolves the host name itself,
 * hands every address to a check, and then connects to the address that was checked (TLS still
 * verifies the certificate against the name). A name cannot be re-pointed between the check and
 * the connection (DNS rebinding), and every hop — redirects, token realms, blob locations — goes
 * through the same connector because undici opens each origin's connections through it.
 */

export type LookupAll = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

/** The system resolver (getaddrinfo, /etc/hosts included), every address in resolver order. */
export const systemLookup: LookupAll = (hostname) =>
  new Promise((resolve, reject) => dns.lookup(hostname, { all: true, verbatim: true }, (err, addrs) => (err ? reject(err) : resolve(addrs))));

/** A destination the guard refused; never retried, reported as a refusal rather than a network failure. */
export class EgressRefusedError extends Error {
  readonly code = "ESIGNET_EGRESS_REFUSED";
  constructor(message: string) {
    super(message);
    this.name = "EgressRefusedError";
  }
}

/** The refusal inside an error thrown by undici (which wraps connector errors), if any. */
export function findRefusal(err: unknown): EgressRefusedError | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof EgressRefusedError) return e;
    if ((e as { code?: string }).code === "ESIGNET_EGRESS_REFUSED") return new EgressRefusedError((e as Error).message);
  }
  return undefined;
}

export interface GuardedAgentOptions {
  /** Why `hostname` (resolved to `addresses`) may not be contacted on `port`; undefined allows it. */
  check(hostname: string, port: number, addresses: Array<{ address: string; family: number }>): string | undefined;
  /** Resolver; the test seam for DNS (default: the system resolver). */
  lookup?: LookupAll;
  connectTimeoutMs?: number;
  /** Trusted CAs replacing the defaults (pass the system roots plus extras to add to them). */
  ca?: string[];
  connections?: number;
  keepAliveTimeout?: number;
}

const RETRY_NEXT_ADDRESS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "UND_ERR_CONNECT_TIMEOUT"]);

export function guardedAgent(o: GuardedAgentOptions): Agent {
  const lookup = o.lookup ?? systemLookup;
  const base = buildConnector({ timeout: o.connectTimeoutMs ?? 5_000, ...(o.ca ? { ca: o.ca } : {}) });
  const connect: buildConnector.connector = (opts, callback) => {
    const hostname = stripAddress(opts.hostname).toLowerCase();
    const port = Number(opts.port) || (opts.protocol === "https:" ? 443 : 80);
    const family = isIP(hostname);
    const resolved = family !== 0 ? Promise.resolve([{ address: hostname, family }]) : lookup(hostname);
    resolved.then(
      (addrs) => {
        const refusal = o.check(hostname, port, addrs);
        if (refusal) {
          callback(new EgressRefusedError(refusal), null);
          return;
        }
        const attempt = (i: number) => {
          const servername = opts.protocol === "https:" && family === 0 ? opts.servername || hostname : undefined;
          base({ ...opts, hostname: addrs[i]!.address, ...(servername ? { servername } : { servername: undefined }) }, (err, socket) => {
            if (err && i + 1 < addrs.length && RETRY_NEXT_ADDRESS.has((err as { code?: string }).code ?? "")) attempt(i + 1);
            else if (err) callback(err, null);
            else callback(null, socket!);
          });
        };
        attempt(0);
      },
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), null),
    );
  };
  return new Agent({ connections: o.connections ?? 8, keepAliveTimeout: o.keepAliveTimeout ?? 30_000, connect });
}
