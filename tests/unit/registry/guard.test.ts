import { describe, expect, it } from "vitest";
import { canonicalAddress, classifyAddress, isIpLiteral } from "@/lib/egress/address";
import { checkHostPolicy, matchesHostPattern } from "@/lib/registry/host-policy";

describe("classifyAddress", () => {
  it.each([
    ["169.254.169.254", "metadata"],
    ["fd00:ec2::254", "metadata"],
    ["[fd00:ec2::254]", "metadata"],
    ["::ffff:169.254.169.254", "metadata"],
    ["::ffff:a9fe:a9fe", "metadata"],
    ["64:ff9b::a9fe:a9fe", "metadata"],
    ["100.100.100.200", "metadata"],
    ["169.254.1.1", "link-local"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["::1", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "private"],
    ["fd12:3456::1", "private"],
    ["224.0.0.1", "reserved"],
    ["ff02::1", "reserved"],
    ["8.8.8.8", "public"],
    ["172.32.0.1", "public"],
    ["2606:4700::1111", "public"],
  ])("%s is %s", (ip, cls) => {
    expect(classifyAddress(ip)).toBe(cls);
  });

  it("rejects non-addresses and canonicalizes mapped addresses", () => {
    expect(() => classifyAddress("localhost")).toThrow(TypeError);
    expect(isIpLiteral("[::1]")).toBe(true);
    expect(isIpLiteral("example.com")).toBe(false);
    expect(canonicalAddress("::ffff:127.0.0.1")).toBe("127.0.0.1");
    expect(canonicalAddress("[0:0:0:0:0:0:0:1]")).toBe("0:0:0:0:0:0:0:1");
    expect(canonicalAddress("::1")).toBe(canonicalAddress("0:0::1"));
  });
});

describe("host allow / deny lists", () => {
  it("matches globs per label, with or without ports", () => {
    expect(matchesHostPattern("*.example.com", "a.example.com")).toBe(true);
    expect(matchesHostPattern("*.example.com", "a.b.example.com")).toBe(false);
    expect(matchesHostPattern("**.example.com", "a.b.example.com")).toBe(true);
    expect(matchesHostPattern("registry.local", "registry.local:5000")).toBe(true);
    expect(matchesHostPattern("registry.local:5000", "registry.local:5001")).toBe(false);
    expect(matchesHostPattern("REGISTRY.local", "registry.LOCAL")).toBe(true);
    expect(matchesHostPattern("ghcr.io", "ghcr.io.evil.example")).toBe(false);
    expect(matchesHostPattern("127.0.0.*", "127.0.0.1:5000")).toBe(true);
  });

  it("deny wins; a non-empty allow list is exclusive", () => {
    const policy = { allow: ["*.corp.example", "ghcr.io"], deny: ["evil.corp.example"] };
    expect(checkHostPolicy(policy, "r.corp.example")).toEqual({ allowed: true });
    expect(checkHostPolicy(policy, "ghcr.io")).toEqual({ allowed: true });
    expect(checkHostPolicy(policy, "evil.corp.example")).toMatchObject({ allowed: false, reason: expect.stringContaining("deny") });
    expect(checkHostPolicy(policy, "index.docker.io")).toMatchObject({ allowed: false, reason: expect.stringContaining("no allow pattern") });
    expect(checkHostPolicy(undefined, "anything.example")).toEqual({ allowed: true });
    expect(checkHostPolicy({ deny: ["**"] }, "x")).toMatchObject({ allowed: false });
  });
});
