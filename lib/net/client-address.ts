import net from "node:net";

/**
 * The request header Signet's web server (scripts/web.ts) sets to the client address it resolved. Any
 * copy a client sends is overwritten before Next sees the request, so route code and better-auth may
 * trust it; nothing else (X-Forwarded-For, X-Real-IP...) is read for the client address.
 */
export const CLIENT_ADDRESS_HEADER = "x-signet-client-address";

/** An IP address without port, brackets or the IPv4-mapped IPv6 prefix; undefined when not an address. */
export function normalizeAddress(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let s = raw.trim();
  // "[::1]:443" / "[::1]" and "1.2.3.4:5678" (some proxies append the port)
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (bracketed) s = bracketed[1]!;
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d+$/.test(s)) s = s.slice(0, s.lastIndexOf(":"));
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(s);
  if (mapped) s = mapped[1]!;
  const family = net.isIP(s);
  if (family === 0) return undefined;
  return family === 6 ? s.toLowerCase() : s;
}

/** Trusted proxies as a block list, from IPs and CIDRs ("10.0.0.5, 10.1.0.0/16, fd00::/8"). */
export function parseTrustedProxies(entries: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  for (const entry of entries) {
    const problem = trustedProxyProblem(entry);
    if (problem) throw new Error(problem);
    const [addr, prefix] = entry.split("/") as [string, string | undefined];
    const family = net.isIP(addr) === 6 ? "ipv6" : "ipv4";
    if (prefix === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(prefix), family);
  }
  return list;
}

/** Why an entry of SIGNET_TRUSTED_PROXIES is not an IP or CIDR, or undefined when it is one. */
export function trustedProxyProblem(entry: string): string | undefined {
  const [addr = "", prefix, extra] = entry.split("/");
  const family = net.isIP(addr);
  if (family === 0 || extra !== undefined) return `"${entry}" is not an IP address or CIDR range`;
  if (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128))) {
    return `"${entry}" has an invalid prefix length`;
  }
  return undefined;
}

function isTrusted(address: string, trusted: net.BlockList): boolean {
  return trusted.check(address, net.isIP(address) === 6 ? "ipv6" : "ipv4");
}

/**
 * The client address of a request: the socket peer, unless the peer is a trusted proxy; then the
 * right-most X-Forwarded-For entry that is not a trusted proxy (every entry right of it was appended by
 * a proxy we trust; anything left of it may be forged). An entry that is not an IP address ends the
 * walk at the last trusted hop, so a proxy passing garbage through costs its own address, never a
 * fresh one per request. Without a peer (never on a real socket) the answer is "unknown", one shared
 * bucket.
 */
export function resolveClientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, trusted: net.BlockList): string {
  let current = normalizeAddress(peer);
  if (!current) return "unknown";
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(",") : (forwardedFor ?? "");
  const hops = header.split(",").map((h) => h.trim()).filter(Boolean);
  while (isTrusted(current, trusted)) {
    const next = hops.pop();
    const address = normalizeAddress(next);
    if (!address) return current;
    current = address;
  }
  return current;
}

const RESOLVED = Symbol.for("signet.clientAddressResolved");

/**
 * Called by scripts/web.ts, in the process that also runs Next's route code: from then on the client
 * address header is Signet's own. Under any other server (Next's standalone server.js, `next start`)
 * a client could send the header itself, so it is not believed there: every client is "unknown".
 */
export function markClientAddressResolved(): void {
  (globalThis as Record<symbol, unknown>)[RESOLVED] = true;
}

export function isClientAddressResolved(): boolean {
  return (globalThis as Record<symbol, unknown>)[RESOLVED] === true;
}

/** The client address of a request as scripts/web.ts resolved it ("unknown" outside that server). */
export function clientAddressOf(headers: Headers): string {
  return (isClientAddressResolved() && headers.get(CLIENT_ADDRESS_HEADER)) || "unknown";
}
