import { describe, expect, it } from "vitest";
import { EgressPolicy, parseDestination, principalFor, type Principal } from "@/lib/egress/rules";

/** The pure rules of the egress guard: destination lists, principals and hops, names and addresses. */

const registry = (url: string, trusted = false): Principal =>
  principalFor(new URL(url), { trusted, applyAllow: true, label: `registry ${new URL(url).host}`, hint: "configure it" });

describe("parseDestination", () => {
  it.each([
    ["10.0.0.0/8", { text: "10.0.0.0/8" }],
    ["127.0.0.1:5000", { text: "127.0.0.1:5000", port: 5000 }],
    ["[::1]:5001", { text: "[::1]:5001", port: 5001 }],
    ["fd00::/8", { text: "fd00::/8" }],
    ["169.254.169.254", { text: "169.254.169.254" }],
  ])("%s is an address entry", (entry, expected) => {
    const d = parseDestination(entry);
    expect("address" in d && { text: d.address.text, ...(d.address.port !== undefined ? { port: d.address.port } : {}) }).toEqual(expected);
  });

  it.each(["registry.corp.example", "*.corp.example:5000", "10.0.0.0/33", "**"])("%s is a host glob", (entry) => {
    expect(parseDestination(entry)).toEqual({ glob: entry });
  });
});

describe("EgressPolicy", () => {
  it("DENY applies to names and to the addresses they resolve to, at every hop", () => {
    const policy = new EgressPolicy({ deny: ["*.evil.example", "10.9.0.0/16", "[fd00::5]:443"] });
    const p = registry("https://ghcr.io");
    expect(policy.urlRefusal(p, new URL("https://cdn.evil.example/blob"))).toMatch(/destination cdn\.evil\.example of registry ghcr\.io matches the deny pattern "\*\.evil\.example"/);
    expect(policy.addressRefusal(p, "storage.example", 443, "8.8.8.8")).toBeUndefined();
    expect(policy.addressRefusal(p, "storage.example", 443, "10.9.1.1")).toMatch(/resolves to 10\.9\.1\.1, which matches the deny entry "10\.9\.0\.0\/16"/);
    expect(policy.addressRefusal(p, "v6.example", 443, "fd00::5")).toMatch(/deny entry/);
    expect(policy.addressRefusal(p, "v6.example", 8443, "fd00::5")).toMatch(/private address/);
  });

  it("ALLOW restricts principals by name, or by address for IP / CIDR entries; hops are not principals", () => {
    const policy = new EgressPolicy({ allow: ["*.corp.example", "10.20.0.0/16"] });
    expect(policy.urlRefusal(registry("https://a.corp.example"), new URL("https://a.corp.example/v2/"))).toBeUndefined();
    const other = registry("https://mirror.lan");
    expect(policy.urlRefusal(other, new URL("https://mirror.lan/v2/"))).toBeUndefined();
    expect(policy.addressRefusal(other, "mirror.lan", 443, "10.20.3.4")).toBeUndefined();
    expect(policy.addressRefusal(other, "mirror.lan", 443, "10.21.3.4")).toMatch(/registry mirror\.lan \(10\.21\.3\.4\) matches no allow pattern/);
    expect(new EgressPolicy({ allow: ["*.corp.example"] }).urlRefusal(registry("https://ghcr.io"), new URL("https://ghcr.io/v2/"))).toMatch(/no allow pattern/);
    expect(policy.addressRefusal(registry("https://a.corp.example"), "blobs.cdn.example", 443, "8.8.8.8")).toBeUndefined();
  });

  it("a hop may reach the principal's own internal address only on its own port, or when listed", () => {
    const policy = new EgressPolicy({});
    const p = registry("http://127.0.0.1:5000", true);
    expect(policy.addressesRefusal(p, "127.0.0.1", 5000, [{ address: "127.0.0.1" }])).toBeUndefined();
    expect(policy.addressRefusal(p, "localhost", 5000, "127.0.0.1")).toBeUndefined();
    expect(policy.addressRefusal(p, "localhost", 6379, "127.0.0.1")).toMatch(/another port \(6379\) of its own loopback address \(127\.0\.0\.1\) \(localhost\); list 127\.0\.0\.1:6379 in SIGNET_EGRESS_ALLOW_INTERNAL/);
    expect(new EgressPolicy({ allowInternal: ["127.0.0.1:6379"] }).addressRefusal(p, "localhost", 6379, "127.0.0.1")).toBeUndefined();
    expect(new EgressPolicy({ allowInternal: ["localhost:6379"] }).addressRefusal(p, "localhost", 6379, "127.0.0.1")).toBeUndefined();
  });

  it("private addresses: allowed for principals by default, refused with refusePrivate unless trusted or listed", () => {
    const p = registry("https://registry.lan");
    expect(new EgressPolicy({}).addressRefusal(p, "registry.lan", 443, "192.168.1.5")).toBeUndefined();
    expect(new EgressPolicy({ refusePrivate: true }).addressRefusal(p, "registry.lan", 443, "192.168.1.5")).toMatch(/resolves to a private address \(192\.168\.1\.5\); configure it/);
    expect(new EgressPolicy({ refusePrivate: true }).addressRefusal(registry("https://registry.lan", true), "registry.lan", 443, "192.168.1.5")).toBeUndefined();
    expect(new EgressPolicy({ refusePrivate: true, allowInternal: ["192.168.0.0/16"] }).addressRefusal(p, "registry.lan", 443, "192.168.1.5")).toBeUndefined();
  });

  it("a configured principal may be internal but never the metadata service, unless listed", () => {
    const configured = registry("https://169.254.169.254", true);
    expect(new EgressPolicy({}).addressRefusal(configured, "169.254.169.254", 443, "169.254.169.254")).toMatch(/cloud metadata address \(169\.254\.169\.254\); only an SIGNET_EGRESS_ALLOW_INTERNAL entry/);
    const named = registry("https://registry.corp", true);
    expect(new EgressPolicy({}).addressesRefusal(named, "registry.corp", 443, [{ address: "::ffff:169.254.169.254" }])).toMatch(/cloud metadata/);
    expect(new EgressPolicy({}).addressRefusal(named, "registry.corp", 443, "100.100.100.200")).toMatch(/cloud metadata/);
    // other internal classes stay allowed for a configured principal; an explicit entry allows the metadata address
    expect(new EgressPolicy({}).addressRefusal(named, "registry.corp", 443, "127.0.0.1")).toBeUndefined();
    expect(new EgressPolicy({}).addressRefusal(named, "registry.corp", 443, "169.254.10.1")).toBeUndefined();
    expect(new EgressPolicy({ allowInternal: ["169.254.169.254"] }).addressRefusal(configured, "169.254.169.254", 443, "169.254.169.254")).toBeUndefined();
  });

  it("every address a name resolves to must pass; the principal's own addresses are recorded only then", () => {
    const policy = new EgressPolicy({});
    const p = registry("https://registry.example");
    expect(policy.addressesRefusal(p, "registry.example", 443, [{ address: "8.8.8.8" }, { address: "169.254.169.254" }])).toMatch(/metadata/);
    expect(p.ownAddresses.size).toBe(0);
    expect(policy.addressesRefusal(p, "registry.example", 443, [])).toMatch(/no address/);
    expect(policy.addressesRefusal(p, "registry.example", 443, [{ address: "::ffff:8.8.4.4" }])).toBeUndefined();
    expect([...p.ownAddresses]).toEqual(["8.8.4.4"]);
  });
});
