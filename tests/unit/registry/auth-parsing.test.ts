import { describe, expect, it } from "vitest";
import { chainCredentials, credentialsFromDockerConfig, credentialsFromPullSecret, CredentialConfigError, staticCredentials } from "@/lib/registry/credentials";
import { parseWwwAuthenticate } from "@/lib/registry/www-authenticate";

describe("parseWwwAuthenticate", () => {
  it("parses a Docker Hub bearer challenge", () => {
    expect(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')).toEqual([
      { scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/busybox:pull" } },
    ]);
  });

  it("parses basic, unquoted values, escapes, several challenges and header arrays", () => {
    expect(parseWwwAuthenticate('Basic realm="Registry \\"x\\""')).toEqual([{ scheme: "basic", params: { realm: 'Registry "x"' } }]);
    expect(parseWwwAuthenticate("bearer realm=https://a/token, service=svc")).toEqual([{ scheme: "bearer", params: { realm: "https://a/token", service: "svc" } }]);
    const many = parseWwwAuthenticate(['Basic realm="a"', 'Bearer realm="b",error="insufficient_scope"']);
    expect(many.map((c) => c.scheme)).toEqual(["basic", "bearer"]);
    expect(many[1]!.params.error).toBe("insufficient_scope");
    expect(parseWwwAuthenticate('Basic realm="a", Bearer realm="b"').map((c) => c.params.realm)).toEqual(["a", "b"]);
    expect(parseWwwAuthenticate(undefined)).toEqual([]);
    expect(parseWwwAuthenticate("")).toEqual([]);
    expect(parseWwwAuthenticate(' ,,, Bearer realm="z')).toEqual([{ scheme: "bearer", params: { realm: "z" } }]);
    expect(parseWwwAuthenticate('=x, Bearer realm="y"').find((c) => c.scheme === "bearer")?.params.realm).toBe("y");
  });
});

describe("credentials", () => {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const config = {
    auths: {
      "https://index.docker.io/v1/": { auth: b64("hubuser:hub:pass") },
      "registry.example:5000": { username: "u", password: "p" },
      "http://insecure.local": { auth: b64("i:j") },
      "ghcr.io": { identitytoken: "refresh-123" },
      "*.corp.example": { auth: b64("corp:secret") },
      "empty.example": {},
    },
    credsStore: "desktop",
  };

  it("reads docker config.json entries (auth, username/password, identity tokens, globs)", async () => {
    const p = credentialsFromDockerConfig(JSON.stringify(config));
    expect(await p.getCredential("index.docker.io")).toEqual({ username: "hubuser", password: "hub:pass" });
    expect(await p.getCredential("docker.io")).toEqual({ username: "hubuser", password: "hub:pass" });
    expect(await p.getCredential("registry.example:5000")).toEqual({ username: "u", password: "p" });
    expect(await p.getCredential("registry.example")).toBeUndefined();
    expect(await p.getCredential("insecure.local")).toEqual({ username: "i", password: "j" });
    expect(await p.getCredential("ghcr.io")).toEqual({ identityToken: "refresh-123" });
    expect(await p.getCredential("eu.corp.example")).toEqual({ username: "corp", password: "secret" });
    expect(await p.getCredential("a.eu.corp.example")).toBeUndefined();
    expect(await p.getCredential("empty.example")).toBeUndefined();
  });

  it("reads Kubernetes pull secrets (dockerconfigjson and legacy dockercfg)", async () => {
    const secret = { type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": b64(JSON.stringify(config)) } };
    expect(await credentialsFromPullSecret(secret).getCredential("registry.example:5000")).toEqual({ username: "u", password: "p" });
    const legacy = { type: "kubernetes.io/dockercfg", data: { ".dockercfg": b64(JSON.stringify({ "quay.io": { auth: b64("q:r") } })) } };
    expect(await credentialsFromPullSecret(legacy).getCredential("quay.io")).toEqual({ username: "q", password: "r" });
    expect(() => credentialsFromPullSecret({ type: "Opaque", data: {} })).toThrow(CredentialConfigError);
    expect(() => credentialsFromPullSecret("nope")).toThrow(CredentialConfigError);
  });

  it("bounds pull secrets: value sizes, entry counts and the document size, without echoing their content", () => {
    const big = "s".repeat(16 * 1024 + 1);
    const tooLongPassword = { auths: { "r.example": { username: "u", password: big } } };
    expect(() => credentialsFromDockerConfig(tooLongPassword)).toThrow(CredentialConfigError);
    try {
      credentialsFromDockerConfig(tooLongPassword);
    } catch (err) {
      expect((err as Error).message).not.toContain(big.slice(0, 64));
    }
    const many = { auths: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`r${i}.example`, { auth: b64("u:p") }])) };
    expect(() => credentialsFromDockerConfig(many)).toThrow(CredentialConfigError);
    const huge = { type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": "A".repeat(400 * 1024) } };
    expect(() => credentialsFromPullSecret(huge)).toThrow(CredentialConfigError);
    // a Secret as the API server returns it (null stringData, other fields) still parses
    const served = { apiVersion: "v1", kind: "Secret", metadata: { name: "pull" }, type: "kubernetes.io/dockerconfigjson", stringData: null, data: { ".dockerconfigjson": b64(JSON.stringify(config)) } };
    expect(() => credentialsFromPullSecret(served)).not.toThrow();
  });

  it("sends a pull secret's credential only to the host it names", async () => {
    const secret = credentialsFromPullSecret({ type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": b64(JSON.stringify({ auths: { "127.0.0.1:5001": { auth: b64("u:p") } } })) } });
    expect(await secret.getCredential("127.0.0.1:5001")).toEqual({ username: "u", password: "p" });
    expect(await secret.getCredential("127.0.0.1:5000")).toBeUndefined();
    expect(await secret.getCredential("127.0.0.2:5001")).toBeUndefined();
    expect(await secret.getCredential("ghcr.io")).toBeUndefined();
  });

  it("rejects malformed documents without echoing secrets", () => {
    expect(() => credentialsFromDockerConfig("{")).toThrow("not valid JSON");
    expect(() => credentialsFromDockerConfig({ auths: [] })).toThrow(CredentialConfigError);
    let message = "";
    try {
      credentialsFromDockerConfig({ auths: { "r.example": { auth: b64("no-colon-secret") } } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("r.example");
    expect(message).not.toContain("no-colon-secret");
  });

  it("chains providers, first hit wins", async () => {
    const a = staticCredentials({ "a.example": { username: "1", password: "1" } });
    const b = staticCredentials({ "a.example": { username: "2", password: "2" }, "b.example": { identityToken: "t" } });
    const chain = chainCredentials(a, undefined, b);
    expect(await chain.getCredential("a.example")).toEqual({ username: "1", password: "1" });
    expect(await chain.getCredential("b.example")).toEqual({ identityToken: "t" });
    expect(await chain.getCredential("c.example")).toBeUndefined();
  });
});
