import { afterEach, describe, expect, it } from "vitest";
import { RegistryError } from "@/lib/registry/errors";
import { Transport } from "@/lib/registry/transport";

/** The synchronous half of the outbound guard (schemes, IP literals, host lists); names are checked at connect time. */
describe("Transport.checkUrl", () => {
  const transports: Transport[] = [];
  afterEach(async () => {
    await Promise.all(transports.map((t) => t.close()));
    transports.length = 0;
  });
  const make = (...args: ConstructorParameters<typeof Transport>) => {
    const t = new Transport(...args);
    transports.push(t);
    return t;
  };
  const refusal = (fn: () => void): string | undefined => {
    try {
      fn();
      return undefined;
    } catch (err) {
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as RegistryError).code).toBe("forbidden-host");
      return (err as RegistryError).message;
    }
  };

  it("lets redirects of configured registries reach private ranges, never metadata or loopback", () => {
    const t = make({ registries: [{ host: "registry.corp.example" }] });
    const ep = t.endpoint("registry.corp.example");
    expect(refusal(() => t.checkUrl(ep, new URL("https://10.0.0.7/blob")))).toBeUndefined();
    expect(refusal(() => t.checkUrl(ep, new URL("https://169.254.169.254/")))).toMatch(/metadata/);
    expect(refusal(() => t.checkUrl(ep, new URL("https://127.0.0.1/")))).toMatch(/loopback/);
    expect(refusal(() => t.checkUrl(ep, new URL("https://8.8.8.8/")))).toBeUndefined();
  });

  it("keeps redirects of unconfigured (pod-spec) registries away from private ranges unless allowed", () => {
    const t = make();
    const ep = t.endpoint("ghcr.io");
    expect(refusal(() => t.checkUrl(ep, new URL("https://10.0.0.7/blob")))).toMatch(/private address/);
    expect(refusal(() => t.checkUrl(ep, new URL("https://[fd00::1]/blob")))).toMatch(/private address/);
    const lenient = make({ allowPrivateRedirects: true });
    expect(refusal(() => lenient.checkUrl(lenient.endpoint("ghcr.io"), new URL("https://10.0.0.7/blob")))).toBeUndefined();
  });

  it("refuses unconfigured registries on special addresses; private ones only when told to", () => {
    const t = make();
    expect(refusal(() => t.checkUrl(t.endpoint("169.254.169.254"), new URL("https://169.254.169.254/v2/")))).toMatch(/configure the registry/);
    expect(refusal(() => t.checkUrl(t.endpoint("127.0.0.1:5000"), new URL("https://127.0.0.1:5000/v2/")))).toMatch(/loopback/);
    expect(refusal(() => t.checkUrl(t.endpoint("10.1.2.3:5000"), new URL("https://10.1.2.3:5000/v2/")))).toBeUndefined();
    const strict = make({ allowPrivateRegistries: false });
    expect(refusal(() => strict.checkUrl(strict.endpoint("10.1.2.3:5000"), new URL("https://10.1.2.3:5000/v2/")))).toMatch(/private/);
  });

  it("never speaks plain HTTP (registry, redirect or token realm) unless the registry is configured insecure", () => {
    const t = make({ registries: [{ host: "plain.example:5000", insecure: true }] });
    const secure = t.endpoint("ghcr.io");
    expect(refusal(() => t.checkUrl(secure, new URL("http://auth.example/token")))).toMatch(/plain HTTP/);
    expect(refusal(() => t.checkUrl(secure, new URL("ftp://x/")))).toMatch(/ftp:/);
    expect(refusal(() => t.checkUrl(secure, new URL("https://user:pw@ghcr.io/")))).toMatch(/embedded credentials/);
    const plain = t.endpoint("plain.example:5000");
    expect(plain.origin).toBe("http://plain.example:5000");
    expect(secure.origin).toBe("https://ghcr.io");
    expect(refusal(() => t.checkUrl(plain, new URL("http://plain.example:5000/token")))).toBeUndefined();
  });

  it("applies the host allow / deny lists to registries", () => {
    const t = make({ hosts: { allow: ["*.corp.example"], deny: ["bad.corp.example"] } });
    expect(refusal(() => t.checkUrl(t.endpoint("ok.corp.example"), new URL("https://ok.corp.example/v2/")))).toBeUndefined();
    expect(refusal(() => t.checkUrl(t.endpoint("bad.corp.example"), new URL("https://bad.corp.example/v2/")))).toMatch(/deny/);
    expect(refusal(() => t.checkUrl(t.endpoint("index.docker.io"), new URL("https://index.docker.io/v2/")))).toMatch(/no allow pattern/);
  });
});
