import { describe, expect, it } from "vitest";
import {
  CLIENT_ADDRESS_HEADER,
  clientAddressOf,
  markClientAddressResolved,
  normalizeAddress,
  parseTrustedProxies,
  resolveClientAddress,
  trustedProxyProblem,
} from "@/lib/net/client-address";

describe("client address", () => {
  const none = parseTrustedProxies([]);
  const proxies = parseTrustedProxies(["10.0.0.5", "10.1.0.0/16", "fd00::/8"]);

  it("is the socket peer when no proxy is trusted, whatever X-Forwarded-For says", () => {
    expect(resolveClientAddress("203.0.113.7", "1.2.3.4", none)).toBe("203.0.113.7");
    expect(resolveClientAddress("::ffff:127.0.0.1", "1.2.3.4, 5.6.7.8", none)).toBe("127.0.0.1");
    // a peer that is not a trusted proxy is the client even when proxies are configured
    expect(resolveClientAddress("198.51.100.1", "1.2.3.4", proxies)).toBe("198.51.100.1");
  });

  it("behind trusted proxies is the right-most untrusted X-Forwarded-For entry", () => {
    // the client forged "1.1.1.1"; the proxy appended the real address
    expect(resolveClientAddress("10.0.0.5", "1.1.1.1, 198.51.100.9", proxies)).toBe("198.51.100.9");
    // two trusted hops (10.1.2.3 forwarded to 10.0.0.5)
    expect(resolveClientAddress("10.0.0.5", ["1.1.1.1, 198.51.100.9", "10.1.2.3"], proxies)).toBe("198.51.100.9");
    expect(resolveClientAddress("fd00::1", "2001:db8::7", proxies)).toBe("2001:db8::7");
    expect(resolveClientAddress("10.0.0.5", "[2001:DB8::8]:443", proxies)).toBe("2001:db8::8");
    expect(resolveClientAddress("10.0.0.5", "198.51.100.4:5123", proxies)).toBe("198.51.100.4");
  });

  it("stops at the last trusted hop when an entry is missing or not an address", () => {
    expect(resolveClientAddress("10.0.0.5", undefined, proxies)).toBe("10.0.0.5");
    expect(resolveClientAddress("10.0.0.5", "evil, 10.1.0.9", proxies)).toBe("10.1.0.9");
    expect(resolveClientAddress("10.0.0.5", "10.1.0.9", proxies)).toBe("10.1.0.9");
    expect(resolveClientAddress(undefined, "1.2.3.4", proxies)).toBe("unknown");
  });

  it("believes the client address header only once Signet's web server resolves it in this process", () => {
    const headers = new Headers({ [CLIENT_ADDRESS_HEADER]: "198.51.100.1" });
    // under another server (Next's standalone server.js) a client could have sent it: every client is "unknown"
    expect(clientAddressOf(headers)).toBe("unknown");
    markClientAddressResolved();
    expect(clientAddressOf(headers)).toBe("198.51.100.1");
    expect(clientAddressOf(new Headers())).toBe("unknown");
  });

  it("normalizes addresses and validates proxy entries", () => {
    expect(normalizeAddress(" ::FFFF:10.0.0.1 ")).toBe("10.0.0.1");
    expect(normalizeAddress("fe80::1%eth0")).toBe("fe80::1");
    expect(normalizeAddress("not-an-ip")).toBeUndefined();
    expect(trustedProxyProblem("10.0.0.0/8")).toBeUndefined();
    expect(trustedProxyProblem("10.0.0.0/33")).toMatch(/prefix/);
    expect(trustedProxyProblem("proxy.local")).toMatch(/not an IP/);
    expect(() => parseTrustedProxies(["10.0.0.0/x"])).toThrow(/prefix/);
  });
});
