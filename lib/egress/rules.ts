/**
 * The rules of the egress guard (pure): which destinations an outgoing request may reach, decided on
 * the URL (scheme, host name, IP literal) and again on every address DNS returned for each hop.
 *
 * A request starts at a *principal*: a registry named in an image reference, a webhook endpoint, a
 * TUF mirror. Its own name and port are the principal; anything else it sends us to (redirects,
 * token realms, blob locations) is a *hop*. Address classes (lib/egress/address):
 *
 * - public: always allowed (unless denied);
 * - private (RFC 1918, ULA, CGNAT): allowed for principals unless `refusePrivate`; for hops only when
 *   the principal is operator-configured (`trusted`) or `allowPrivateRedirects` is set;
 * - loopback, link-local, metadata, unspecified, reserved: refused unless explicitly allowed — the
 *   principal is operator-configured, or the destination is listed in `allowInternal`.
 *
 * A hop may return to the principal's own address only on the principal's own port (the same service
 * under another name); another port of that address is another service and needs `allowInternal`.
 * `deny` (host globs, IP addresses, CIDR ranges) applies to every hop, on names and on addresses;
 * `allow` restricts which principals may be named (by name, or by address for IP / CIDR entries).
 */
import { BlockList, isIP } from "node:net";
import { canonicalAddress, classifyAddress, isIpLiteral, stripAddress } from "@/lib/egress/address";
import { matchesHostPattern } from "@/lib/registry/host-policy";

export interface EgressRules {
  /** Never contacted, at any hop: host globs (lib/registry/host-policy syntax), IPs or CIDRs, optionally with :port. */
  deny?: string[];
  /** When non-empty, only principals matching one of these (by name, or all their addresses) are contacted. */
  allow?: string[];
  /** Loopback / link-local / metadata / unspecified / reserved (and, with refusePrivate, private) destinations explicitly allowed. */
  allowInternal?: string[];
  /** Refuse private addresses (RFC 1918, ULA, CGNAT) unless explicitly allowed. Default false. */
  refusePrivate?: boolean;
  /** Let hops of unconfigured principals reach private addresses. Default false. */
  allowPrivateRedirects?: boolean;
}

/** Where a chain of requests starts; `ownAddresses` fills in as its name resolves. */
export interface Principal {
  /** Lowercase host name without brackets or port. */
  hostname: string;
  /** Effective port (443 / 80 when the URL has none). */
  port: number;
  /** Operator-configured: its own name and port may resolve to any address class. */
  trusted: boolean;
  /** Subject to the `allow` list (registries named in pod specs). */
  applyAllow: boolean;
  /** "registry ghcr.io", "webhook hooks.example", … for messages. */
  label: string;
  /** How an operator allows an internal address for this principal (ends the refusal message). */
  hint: string;
  ownAddresses: Set<string>;
}

interface AddressEntry {
  text: string;
  list: BlockList;
  port?: number;
}

/** A list of destinations: host globs and IP addresses / CIDR ranges (each optionally with a port). */
export interface DestinationList {
  globs: string[];
  addresses: AddressEntry[];
}

/** Parses "10.0.0.0/8", "127.0.0.1:5000", "[::1]:5000", "fd00::/8" as address entries; anything else is a host glob. */
export function parseDestination(entry: string): { address: AddressEntry } | { glob: string } {
  const text = entry.trim();
  let addr = text;
  let port: number | undefined;
  let prefix: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const v4port = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(text);
  if (bracketed) {
    addr = bracketed[1]!;
    if (bracketed[2]) port = Number(bracketed[2]);
  } else if (v4port) {
    addr = v4port[1]!;
    port = Number(v4port[2]);
  }
  const slash = addr.indexOf("/");
  if (slash >= 0) {
    prefix = Number(addr.slice(slash + 1));
    addr = addr.slice(0, slash);
  }
  const family = isIP(addr);
  if (family === 0 || (prefix !== undefined && !(Number.isInteger(prefix) && prefix >= 0 && prefix <= (family === 4 ? 32 : 128)))) return { glob: text };
  const list = new BlockList();
  const type = family === 4 ? "ipv4" : "ipv6";
  if (prefix === undefined) list.addAddress(addr, type);
  else list.addSubnet(addr, prefix, type);
  return { address: { text, list, ...(port !== undefined ? { port } : {}) } };
}

export function parseDestinations(entries: readonly string[] | undefined): DestinationList {
  const out: DestinationList = { globs: [], addresses: [] };
  for (const e of entries ?? []) {
    if (!e.trim()) continue;
    const d = parseDestination(e);
    if ("glob" in d) out.globs.push(d.glob);
    else out.addresses.push(d.address);
  }
  return out;
}

/** The entry of `list` matching the host ("name[:port]" as in a URL), if any. */
function matchName(list: DestinationList, host: string): string | undefined {
  return list.globs.find((g) => matchesHostPattern(g, host));
}

function matchAddress(list: DestinationList, address: string, port: number): string | undefined {
  const a = canonicalAddress(address);
  const type = isIP(a) === 6 ? "ipv6" : "ipv4";
  return list.addresses.find((e) => (e.port === undefined || e.port === port) && e.list.check(a, type))?.text;
}

/** "name:port" for glob matching, the way host-policy patterns are written (brackets for IPv6). */
function hostText(hostname: string, port: number): string {
  return `${isIP(hostname) === 6 ? `[${hostname}]` : hostname}:${port}`;
}

export function effectivePort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === "http:" ? 80 : 443;
}

export function urlHostname(url: URL): string {
  return stripAddress(url.hostname).toLowerCase();
}

export function principalFor(url: URL, o: { trusted: boolean; applyAllow: boolean; label: string; hint: string }): Principal {
  return { hostname: urlHostname(url), port: effectivePort(url), ownAddresses: new Set(), ...o };
}

export class EgressPolicy {
  private readonly deny: DestinationList;
  private readonly allow: DestinationList;
  private readonly internal: DestinationList;

  constructor(private readonly rules: EgressRules = {}) {
    this.deny = parseDestinations(rules.deny);
    this.allow = parseDestinations(rules.allow);
    this.internal = parseDestinations(rules.allowInternal);
  }

  private isPrincipal(p: Principal, hostname: string, port: number): boolean {
    return hostname === p.hostname && port === p.port;
  }

  /** Scheme and credentials of a URL; `plainHttp` says whether http: is acceptable here. */
  schemeRefusal(url: URL, plainHttp: boolean, label: string): string | undefined {
    if (url.protocol !== "https:" && url.protocol !== "http:") return `refusing a ${url.protocol} URL from ${label}`;
    if (url.protocol === "http:" && !plainHttp) return `refusing plain HTTP to ${url.host}: ${label} is not configured as insecure`;
    if (url.username || url.password) return "refusing a URL with embedded credentials";
    return undefined;
  }

  /** Checks before a request to `url` (names and IP literals); names are checked again on their addresses at connect time. */
  urlRefusal(p: Principal, url: URL): string | undefined {
    const hostname = urlHostname(url);
    const port = effectivePort(url);
    const host = hostText(hostname, port);
    const denied = matchName(this.deny, host);
    if (denied) return `${this.isPrincipal(p, hostname, port) ? p.label : `destination ${url.host} of ${p.label}`} matches the deny pattern ${JSON.stringify(denied)}`;
    if (this.isPrincipal(p, hostname, port) && p.applyAllow && this.allowsNameOnly(host) === false && this.allow.addresses.length === 0) {
      return `${p.label} matches no allow pattern`;
    }
    if (isIpLiteral(hostname)) return this.addressRefusal(p, hostname, port, hostname);
    return undefined;
  }

  /** true / false when the allow list decides on the name alone; undefined when there is no allow list. */
  private allowsNameOnly(host: string): boolean | undefined {
    if (this.allow.globs.length === 0 && this.allow.addresses.length === 0) return undefined;
    return matchName(this.allow, host) !== undefined;
  }

  /** Checks one address that `hostname` resolved to, for a connection to `port`. */
  addressRefusal(p: Principal, hostname: string, port: number, address: string): string | undefined {
    let cls;
    try {
      cls = classifyAddress(address);
    } catch {
      return `${address} is not an IP address`;
    }
    const canon = canonicalAddress(address);
    const principal = this.isPrincipal(p, hostname, port);
    // Hops name the host that resolved to the address; a principal's name is in its label already.
    const via = isIP(hostname) === 0 ? ` (${hostname})` : "";
    const denied = matchAddress(this.deny, canon, port);
    if (denied) return `${principal ? p.label : `destination ${hostText(hostname, port)} of ${p.label}`} resolves to ${canon}, which matches the deny entry ${JSON.stringify(denied)}`;
    if (principal && p.applyAllow && this.allowsNameOnly(hostText(hostname, port)) === false && !matchAddress(this.allow, canon, port)) {
      return `${p.label} (${canon}) matches no allow pattern`;
    }
    if (cls === "public") return undefined;
    if (matchName(this.internal, hostText(hostname, port)) || matchAddress(this.internal, canon, port)) return undefined;
    if (principal) {
      // A configured principal (an insecure registry, a stored credential — which an administrator
      // adds through the API) may be internal, but never the cloud metadata service: that takes an
      // explicit SIGNET_EGRESS_ALLOW_INTERNAL entry, checked above.
      if (p.trusted && cls === "metadata") return `${p.label} resolves to the cloud metadata address (${canon}); only an SIGNET_EGRESS_ALLOW_INTERNAL entry allows it`;
      if (p.trusted) return undefined;
      if (cls === "private" && !this.rules.refusePrivate) return undefined;
      return `${p.label} resolves to a ${cls} address (${canon}); ${p.hint}`;
    }
    const own = p.ownAddresses.has(canon);
    if (own && port === p.port) return undefined;
    if (cls === "private" && !this.rules.refusePrivate && (p.trusted || this.rules.allowPrivateRedirects)) return undefined;
    if (own) {
      return `refusing to follow ${p.label} to another port (${port}) of its own ${cls} address (${canon})${via}; list ${hostText(canon, port)} in SIGNET_EGRESS_ALLOW_INTERNAL to allow it`;
    }
    return `refusing to follow ${p.label} to a ${cls} address (${canon})${via}`;
  }

  /** Checks every address a name resolved to (all must pass: any one may be used); records the principal's own addresses. */
  addressesRefusal(p: Principal, hostname: string, port: number, addresses: ReadonlyArray<{ address: string }>): string | undefined {
    if (addresses.length === 0) return `${hostname} resolved to no address`;
    for (const a of addresses) {
      const refusal = this.addressRefusal(p, hostname, port, a.address);
      if (refusal) return refusal;
    }
    if (this.isPrincipal(p, hostname, port)) for (const a of addresses) p.ownAddresses.add(canonicalAddress(a.address));
    return undefined;
  }
}
