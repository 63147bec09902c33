/**
 * Classification of IP addresses for the outbound-request guard (pure). Image references come from
 * pod specs, which are attacker-controlled, so neither a registry named there nor a redirect it sends
 * may steer Signet to cloud metadata endpoints or local services.
 */
import { BlockList, isIP } from "node:net";

export type AddressClass = "public" | "private" | "loopback" | "link-local" | "metadata" | "unspecified" | "reserved";

const ranges: Array<[Exclude<AddressClass, "public">, string, number, "ipv4" | "ipv6"]> = [
  // Cloud instance metadata (AWS/GCP/Azure/OpenStack, ECS task metadata, Alibaba, AWS IPv6).
  ["metadata", "169.254.169.254", 32, "ipv4"],
  ["metadata", "169.254.170.2", 32, "ipv4"],
  ["metadata", "100.100.100.200", 32, "ipv4"],
  ["metadata", "fd00:ec2::254", 128, "ipv6"],
  ["unspecified", "0.0.0.0", 8, "ipv4"],
  ["unspecified", "::", 128, "ipv6"],
  ["loopback", "127.0.0.0", 8, "ipv4"],
  ["loopback", "::1", 128, "ipv6"],
  ["link-local", "169.254.0.0", 16, "ipv4"],
  ["link-local", "fe80::", 10, "ipv6"],
  ["private", "10.0.0.0", 8, "ipv4"],
  ["private", "172.16.0.0", 12, "ipv4"],
  ["private", "192.168.0.0", 16, "ipv4"],
  ["private", "100.64.0.0", 10, "ipv4"], // carrier-grade NAT, also used for cluster networks
  ["private", "fc00::", 7, "ipv6"],
  ["reserved", "192.0.0.0", 24, "ipv4"],
  ["reserved", "192.0.2.0", 24, "ipv4"],
  ["reserved", "198.18.0.0", 15, "ipv4"],
  ["reserved", "198.51.100.0", 24, "ipv4"],
  ["reserved", "203.0.113.0", 24, "ipv4"],
  ["reserved", "224.0.0.0", 4, "ipv4"],
  ["reserved", "240.0.0.0", 4, "ipv4"],
  ["reserved", "ff00::", 8, "ipv6"],
  ["reserved", "100::", 64, "ipv6"],
  ["reserved", "2001:db8::", 32, "ipv6"],
];

const lists = new Map<Exclude<AddressClass, "public">, BlockList>();
for (const [cls, addr, prefix, family] of ranges) {
  let list = lists.get(cls);
  if (!list) lists.set(cls, (list = new BlockList()));
  list.addSubnet(addr, prefix, family);
}
const ORDER: Array<Exclude<AddressClass, "public">> = ["metadata", "unspecified", "loopback", "link-local", "private", "reserved"];

/** Strips brackets and a zone id: "[fe80::1%eth0]" → "fe80::1". */
export function stripAddress(address: string): string {
  let a = address.trim();
  if (a.startsWith("[") && a.endsWith("]")) a = a.slice(1, -1);
  const zone = a.indexOf("%");
  return zone >= 0 ? a.slice(0, zone) : a;
}

/** The eight 16-bit groups of an IPv6 address (which may end in dotted IPv4). */
function ipv6Groups(v6: string): number[] | undefined {
  let text = v6.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const o = dotted[1]!.split(".").map(Number);
    text = `${text.slice(0, dotted.index)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array<string>(Math.max(fill, 0)).fill("0"), ...tail].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** The IPv4 address embedded in an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::/96) IPv6 address. */
function embeddedIpv4(v6: string): string | undefined {
  const g = ipv6Groups(v6);
  if (!g) return undefined;
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  if (!mapped && !nat64) return undefined;
  return `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
}

/** Classifies an IP literal; throws TypeError for anything that is not one. */
export function classifyAddress(address: string): AddressClass {
  const a = stripAddress(address);
  const family = isIP(a);
  if (family === 0) throw new TypeError(`not an IP address: ${JSON.stringify(address)}`);
  if (family === 6) {
    const v4 = embeddedIpv4(a);
    if (v4) return classifyAddress(v4);
  }
  const fam = family === 4 ? "ipv4" : "ipv6";
  for (const cls of ORDER) if (lists.get(cls)!.check(a, fam)) return cls;
  return "public";
}

/** Whether `host` (no port; IPv6 may be bracketed) is an IP literal. */
export function isIpLiteral(host: string): boolean {
  return isIP(stripAddress(host)) !== 0;
}

/** Canonical text of an IP for set membership ("::ffff:127.0.0.1" and "127.0.0.1" compare equal). */
export function canonicalAddress(address: string): string {
  const a = stripAddress(address);
  if (isIP(a) === 6) {
    const g = ipv6Groups(a);
    if (!g) return a.toLowerCase();
    if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
    return g.map((x) => x.toString(16)).join(":");
  }
  return a;
}
