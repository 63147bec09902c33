import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent, request } from "undici";
import { RegistryClient, type RegistryClientOptions } from "@/lib/registry/client";
import { credentialsFromDockerConfig, credentialsFromPullSecret, staticCredentials } from "@/lib/registry/credentials";
import { discover } from "@/lib/registry/discover";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { generateSigningKey, pushSignedImage, type PushedSignedImage } from "@/tests/support/registry-fixtures";
import { generateSelfSigned, startTokenServer, type TokenServer } from "@/tests/support/registry-token";

const key = generateSigningKey();
const b64 = (s: string) => Buffer.from(s).toString("base64");
const UNSIGNED = `sha256:${"0".repeat(64)}`;

async function withClient<T>(opts: RegistryClientOptions, fn: (c: RegistryClient) => Promise<T>): Promise<T> {
  const c = new RegistryClient({ retries: 1, retryBaseDelayMs: 10, ...opts });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

describe("basic auth (htpasswd) registry", () => {
  let reg: TestRegistry;
  let pushed: PushedSignedImage;
  const basic = { authorization: `Basic ${b64("alice:wonder-land")}` };

  beforeAll(async () => {
    reg = await startRegistry({ auth: { kind: "basic", users: { alice: "wonder-land" } } });
    pushed = await pushSignedImage(reg.url, reg.host, "team/app", key, { headers: basic });
  });
  afterAll(async () => reg?.stop());

  const image = () => ({ registry: reg.host, repository: "team/app", digest: pushed.digest });
  const insecure = () => [{ host: reg.host, insecure: true }];

  it("finds the signature with credentials from a docker config.json", async () => {
    const credentials = credentialsFromDockerConfig({ auths: { [`http://${reg.host}`]: { auth: b64("alice:wonder-land") } } });
    const r = await withClient({ registries: insecure(), credentials }, (client) => discover(image(), { client }));
    expect(r).toMatchObject({ outcome: "found", manifestDigests: [pushed.signatureManifestDigest] });
  });

  it("finds it with a Kubernetes pull secret", async () => {
    const secret = { type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": b64(JSON.stringify({ auths: { [reg.host]: { username: "alice", password: "wonder-land" } } })) } };
    const r = await withClient({ registries: insecure(), credentials: credentialsFromPullSecret(secret) }, (client) => discover(image(), { client }));
    expect(r.outcome).toBe("found");
  });

  it("is an auth error, never none, without or with wrong credentials", async () => {
    for (const credentials of [undefined, staticCredentials({ [reg.host]: { username: "alice", password: "nope" } })]) {
      for (const digest of [pushed.digest, UNSIGNED]) {
        const r = await withClient({ registries: insecure(), ...(credentials ? { credentials } : {}) }, (client) =>
          discover({ ...image(), digest }, { client }),
        );
        expect(r).toMatchObject({ outcome: "error", code: "auth" });
        if (r.outcome === "error") expect(r.reason).toMatch(credentials ? /rejected the (configured )?credentials/ : /requires credentials/);
      }
    }
  });
});

describe("token auth registry (Docker token flow with a JWT token service)", () => {
  let reg: TestRegistry;
  let tokens: TokenServer;
  let dir: string;
  let pushed: PushedSignedImage;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-token-"));
    tokens = await startTokenServer(dir, { users: { bob: "builder" }, refreshTokens: { "refresh-xyz": "bob" } });
    reg = await startRegistry({ auth: { kind: "token", realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootCertPath: tokens.rootCertPath } });
    const res = await request(`${tokens.realm}?service=${tokens.service}&scope=repository:team/app:pull,push`, { headers: { authorization: `Basic ${b64("bob:builder")}` } });
    const { token } = (await res.body.json()) as { token: string };
    pushed = await pushSignedImage(reg.url, reg.host, "team/app", key, { headers: { authorization: `Bearer ${token}` } });
  });
  afterAll(async () => {
    await reg?.stop();
    await tokens?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const image = () => ({ registry: reg.host, repository: "team/app", digest: pushed.digest });
  const insecure = () => [{ host: reg.host, insecure: true }];
  // The token service listens on another port of the registry's own (loopback) address: another
  // service, which the egress guard refuses unless it is explicitly allowed.
  const tokenService = () => [new URL(tokens.realm).host];

  it("refuses a token realm on another loopback port unless it is explicitly allowed", async () => {
    tokens.requests.length = 0;
    const credentials = staticCredentials({ [reg.host]: { username: "bob", password: "builder" } });
    const r = await withClient({ registries: insecure(), credentials }, (client) => discover(image(), { client }));
    expect(r).toMatchObject({ outcome: "error", code: "forbidden-host" });
    if (r.outcome === "error") expect(r.reason).toMatch(/another port \(\d+\) of its own loopback address \(127\.0\.0\.1\)/);
    expect(tokens.requests).toHaveLength(0);
  });

  it("gets a pull token with Basic credentials, caches it per scope and reuses it", async () => {
    tokens.mode = "ok";
    tokens.requests.length = 0;
    const credentials = staticCredentials({ [reg.host]: { username: "bob", password: "builder" } });
    await withClient({ registries: insecure(), allowInternal: tokenService(), credentials }, async (client) => {
      const first = await discover(image(), { client });
      expect(first).toMatchObject({ outcome: "found", manifestDigests: [pushed.signatureManifestDigest] });
      expect(tokens.requests).toEqual([{ method: "GET", user: "bob", scopes: ["repository:team/app:pull"] }]);
      const second = await discover(image(), { client });
      expect(second.outcome).toBe("found");
      expect(tokens.requests).toHaveLength(1);
    });
  });

  it("exchanges an identity token with the refresh-token grant", async () => {
    tokens.mode = "ok";
    tokens.requests.length = 0;
    const r = await withClient({ registries: insecure(), allowInternal: tokenService(), credentials: staticCredentials({ [reg.host]: { identityToken: "refresh-xyz" } }) }, (client) =>
      discover(image(), { client }),
    );
    expect(r.outcome).toBe("found");
    expect(tokens.requests[0]).toMatchObject({ method: "POST", user: "bob" });
  });

  it("anonymous access to a private repository is an auth error, never none", async () => {
    tokens.mode = "ok";
    for (const digest of [pushed.digest, UNSIGNED]) {
      const r = await withClient({ registries: insecure(), allowInternal: tokenService() }, (client) => discover({ ...image(), digest }, { client }));
      expect(r).toMatchObject({ outcome: "error", code: "auth" });
    }
  });

  it.each([
    ["500", "server-error"],
    ["403", "auth"],
    ["invalid-json", "bad-response"],
    ["no-token", "bad-response"],
  ] as const)("a token service answering %s ends as error %s", async (mode, code) => {
    tokens.mode = mode;
    try {
      const credentials = staticCredentials({ [reg.host]: { username: "bob", password: "builder" } });
      const r = await withClient({ registries: insecure(), allowInternal: tokenService(), credentials }, (client) => discover(image(), { client }));
      expect(r).toMatchObject({ outcome: "error", code });
    } finally {
      tokens.mode = "ok";
    }
  });

  it("wrong credentials at the token service are an auth error", async () => {
    const credentials = staticCredentials({ [reg.host]: { username: "bob", password: "wrong" } });
    const r = await withClient({ registries: insecure(), allowInternal: tokenService(), credentials }, (client) => discover(image(), { client }));
    expect(r).toMatchObject({ outcome: "error", code: "auth", reason: expect.stringMatching(/refused the configured credentials/) });
  });
});

describe("TLS registry with a private CA, and which registries may be plain HTTP", () => {
  let reg: TestRegistry;
  let dir: string;
  let caPem: string;
  let pushed: PushedSignedImage;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-tls-"));
    const cert = await generateSelfSigned(dir, "registry", { ipSan: "127.0.0.1" });
    caPem = cert.certPem;
    reg = await startRegistry({ tls: { certPem: cert.certPem, keyPem: cert.keyPem } });
    const agent = new Agent({ connect: { ca: caPem } });
    pushed = await pushSignedImage(reg.url, reg.host, "secure/app", key, { dispatcher: agent });
    await agent.close();
  });
  afterAll(async () => {
    await reg?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const image = () => ({ registry: reg.host, repository: "secure/app", digest: pushed.digest });

  it("verifies the registry with its configured CA", async () => {
    const r = await withClient({ registries: [{ host: reg.host, caPem }] }, (client) => discover(image(), { client }));
    expect(r).toMatchObject({ outcome: "found", manifestDigests: [pushed.signatureManifestDigest] });
  });

  it("refuses an untrusted certificate (network error)", async () => {
    const r = await withClient({ registries: [{ host: reg.host }] }, (client) => discover(image(), { client }));
    expect(r).toMatchObject({ outcome: "error", code: "network" });
    if (r.outcome === "error") expect(r.reason).toMatch(/certificate|self.signed|SELF_SIGNED|UNABLE/i);
  });

  it("never speaks plain HTTP to a registry that is not configured insecure", async () => {
    const plain = await startRegistry();
    try {
      const r = await withClient({ registries: [{ host: plain.host }] }, (client) => discover({ ...image(), registry: plain.host }, { client }));
      expect(r).toMatchObject({ outcome: "error", code: "network" });
    } finally {
      await plain.stop();
    }
  });

  it("refuses loopback registries nobody configured, and hosts outside the allow list", async () => {
    const unconfigured = await withClient({}, (client) => discover(image(), { client }));
    expect(unconfigured).toMatchObject({ outcome: "error", code: "forbidden-host", reason: expect.stringMatching(/loopback/) });
    const denied = await withClient({ registries: [{ host: reg.host, caPem }], hosts: { allow: ["*.corp.example"] } }, (client) => discover(image(), { client }));
    expect(denied).toMatchObject({ outcome: "error", code: "forbidden-host", reason: expect.stringMatching(/allow pattern/) });
    const allowed = await withClient({ registries: [{ host: reg.host, caPem }], hosts: { allow: ["127.0.0.1"] } }, (client) => discover(image(), { client }));
    expect(allowed.outcome).toBe("found");
  });
});
