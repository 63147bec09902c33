import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { DiscoveryResult } from "@/lib/evidence/types";
import { RegistryClient, type RegistryClientOptions } from "@/lib/registry/client";
import { staticCredentials } from "@/lib/registry/credentials";
import { discover } from "@/lib/registry/discover";
import { digestTag } from "@/lib/registry/digest";
import { MEDIA } from "@/lib/registry/media-types";
import {
  blob,
  endless,
  json,
  manifest,
  oversized,
  redirect,
  requireBasic,
  sequence,
  silent,
  slowDrip,
  startHostileRegistry,
  status,
  type HostileRegistry,
  type Route,
} from "@/tests/support/hostile-registry";

/**
 * Malicious and broken registries. Every case must end as a clear `error` within its deadline, with
 * bounded memory, and never as "none".
 */

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const DIGEST = sha(randomBytes(16));
const REPO = "evil/img";
const SIG = `/v2/${REPO}/manifests/${digestTag(DIGEST, "sig")}`;
const ATT = `/v2/${REPO}/manifests/${digestTag(DIGEST, "att")}`;
const FALLBACK = `/v2/${REPO}/manifests/${digestTag(DIGEST)}`;
const REFERRERS = `/v2/${REPO}/referrers/${DIGEST}`;
const CHUNK = 64 * 1024;
const TIMEOUT_MS = 800;

const payload = Buffer.from(`{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":null}`);
const config = Buffer.from("{}");
const sigManifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, size: config.length, digest: sha(config) },
    layers: [{ mediaType: MEDIA.cosignSimpleSigning, size: payload.length, digest: sha(payload), annotations: { "dev.cosignproject.cosign/signature": "MEUC" } }],
  }),
);
const BLOB = `/v2/${REPO}/blobs/${sha(payload)}`;

let servers: HostileRegistry[] = [];
let clients: RegistryClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.stop()));
  servers = [];
  clients = [];
});

async function hostile(routes: Route[], listen?: string): Promise<HostileRegistry> {
  const s = await startHostileRegistry(routes, listen ? { listen } : {});
  servers.push(s);
  return s;
}

function clientFor(s: HostileRegistry, opts: RegistryClientOptions = {}): RegistryClient {
  const c = new RegistryClient({
    registries: [{ host: s.host, insecure: true }],
    requestTimeoutMs: TIMEOUT_MS,
    connectTimeoutMs: 500,
    retries: 2,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 5_000,
    ...opts,
  });
  clients.push(c);
  return c;
}

async function run(s: HostileRegistry, opts: RegistryClientOptions = {}): Promise<{ r: DiscoveryResult; ms: number; client: RegistryClient }> {
  const client = clientFor(s, opts);
  const t0 = performance.now();
  const r = await discover({ registry: s.host, repository: REPO, digest: DIGEST }, { client });
  return { r, ms: performance.now() - t0, client };
}

function expectError(r: DiscoveryResult, code: string, reason?: RegExp) {
  expect(r.outcome).toBe("error");
  if (r.outcome !== "error") return;
  expect(r.code).toBe(code);
  if (reason) expect(r.reason).toMatch(reason);
}

describe("baseline", () => {
  it("404 everywhere is none; a valid signature is found", async () => {
    expect((await run(await hostile([]))).r.outcome).toBe("none");
    const { r } = await run(await hostile([[SIG, manifest(sigManifest, MEDIA.ociManifest)], [BLOB, blob(payload)]]));
    expect(r).toMatchObject({ outcome: "found", manifestDigests: [sha(sigManifest)] });
  });
});

describe("oversized and endless bodies", () => {
  it("a manifest declared larger than 4 MiB is refused without reading it", async () => {
    const s = await hostile([[SIG, oversized(5 * 1024 * 1024, { declareLength: true })]]);
    const { r, client } = await run(s);
    expectError(r, "too-large", /exceeds the 4194304-byte limit/);
    expect(client.stats().largestBody).toBeLessThanOrEqual(CHUNK);
  });

  it("a chunked manifest over the cap is cut off at the cap", async () => {
    const s = await hostile([[SIG, oversized(6 * 1024 * 1024)]]);
    const { r, client } = await run(s, { requestTimeoutMs: 10_000 });
    expectError(r, "too-large");
    expect(client.stats().largestBody).toBeLessThanOrEqual(4 * 1024 * 1024 + CHUNK);
  });

  it("an endless manifest body stops at the cap with bounded memory", async () => {
    const s = await hostile([[SIG, endless()]]);
    const rss0 = process.memoryUsage().rss;
    const { r, client } = await run(s, { maxManifestBytes: 1024 * 1024, requestTimeoutMs: 10_000 });
    expectError(r, "too-large");
    expect(s.bytesWritten).toBeGreaterThan(1024 * 1024);
    expect(client.stats().largestBody).toBeLessThanOrEqual(1024 * 1024 + CHUNK);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(64 * 1024 * 1024);
  });

  it("an endless signature blob stops at its descriptor size", async () => {
    const s = await hostile([[SIG, manifest(sigManifest, MEDIA.ociManifest)], [BLOB, endless("application/octet-stream")]]);
    const { r, client } = await run(s, { requestTimeoutMs: 10_000 });
    expectError(r, "digest-mismatch", /exceeds the \d+-byte limit/);
    expect(client.stats().largestBody).toBeLessThanOrEqual(payload.length + CHUNK);
  });

  it("a signature blob over the configured blob cap is recorded, not downloaded", async () => {
    const s = await hostile([[SIG, manifest(sigManifest, MEDIA.ociManifest)], [BLOB, endless("application/octet-stream")]]);
    const { r } = await run(s, { maxBlobBytes: 16 });
    expect(r.outcome).toBe("found");
    if (r.outcome === "found") expect(r.artifacts[0]!.layers[0]).toMatchObject({ skipped: expect.stringMatching(/blob limit/) });
    expect(s.requests.some((q) => q.includes("/blobs/"))).toBe(false);
  });
});

describe("slow and silent peers", () => {
  it("a slow drip ends as a timeout at the whole-body deadline", async () => {
    const { r, ms } = await run(await hostile([[SIG, slowDrip(50)]]));
    expectError(r, "timeout", new RegExp(`within ${TIMEOUT_MS} ms`));
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(TIMEOUT_MS + 2_500);
  });

  it("a peer that never sends headers ends as a timeout", async () => {
    const { r, ms } = await run(await hostile([[REFERRERS, silent()]]));
    expectError(r, "timeout");
    expect(ms).toBeLessThan(TIMEOUT_MS + 2_500);
  });

  it("a closed port is a network error", async () => {
    const s = await hostile([]);
    await s.stop();
    servers = servers.filter((x) => x !== s);
    const { r } = await run(s);
    expectError(r, "network", /ECONNREFUSED/);
  });
});

describe("bad content", () => {
  it("invalid JSON is a bad response", async () => {
    expectError((await run(await hostile([[SIG, json(200, "{not json", { "content-type": MEDIA.ociManifest })]]))).r, "bad-response", /not valid JSON/);
  });

  it("a manifest not matching its Docker-Content-Digest is a digest mismatch", async () => {
    const { r } = await run(await hostile([[SIG, manifest(sigManifest, MEDIA.ociManifest, sha(Buffer.from("other")))]]));
    expectError(r, "digest-mismatch", /Docker-Content-Digest/);
  });

  it("a blob with the wrong bytes is a digest mismatch", async () => {
    const wrong = Buffer.from(payload.toString().replace("cosign", "COSIGN"));
    const { r } = await run(await hostile([[SIG, manifest(sigManifest, MEDIA.ociManifest)], [BLOB, blob(wrong)]]));
    expectError(r, "digest-mismatch", /does not match its digest/);
  });

  it("a referrer served by digest with other bytes is a digest mismatch, and partial keeps the good signature", async () => {
    const fake = sha(Buffer.from("referrer"));
    const index = { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [{ mediaType: MEDIA.ociManifest, digest: fake, size: sigManifest.length }] };
    const s = await hostile([
      [SIG, manifest(sigManifest, MEDIA.ociManifest)],
      [BLOB, blob(payload)],
      [FALLBACK, manifest(Buffer.from(JSON.stringify(index)), MEDIA.ociIndex)],
      [`/v2/${REPO}/manifests/${fake}`, manifest(sigManifest, MEDIA.ociManifest)],
    ]);
    const { r } = await run(s);
    expectError(r, "digest-mismatch", /has digest/);
    if (r.outcome === "error") expect(r.partial.map((a) => a.kind)).toEqual(["signature"]);
  });

  it("a fallback index listing a referrer of another image, or a missing one, is an error", async () => {
    const other = sha(Buffer.from("other image"));
    const referrer = Buffer.from(JSON.stringify({ ...JSON.parse(sigManifest.toString()), subject: { mediaType: MEDIA.ociManifest, digest: other, size: 1 } }));
    const listing = (digest: string, size: number) => manifest(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [{ mediaType: MEDIA.ociManifest, digest, size }] })), MEDIA.ociIndex);
    const wrongSubject = await hostile([
      [FALLBACK, listing(sha(referrer), referrer.length)],
      [`/v2/${REPO}/manifests/${sha(referrer)}`, manifest(referrer, MEDIA.ociManifest)],
    ]);
    expectError((await run(wrongSubject)).r, "bad-response", new RegExp(`subject ${other}`));
    const missing = await hostile([[FALLBACK, listing(sha(referrer), referrer.length)]]);
    expectError((await run(missing)).r, "bad-response", /does not exist/);
  });

  it("a referrers API answering garbage or 500 is an error, not a fallback to none", async () => {
    expectError((await run(await hostile([[REFERRERS, json(200, "<html>", { "content-type": "text/html" })]]))).r, "bad-response");
    const s = await hostile([[REFERRERS, status(500)]]);
    expectError((await run(s)).r, "server-error");
    expect(s.requests.filter((q) => q.includes("/referrers/"))).toHaveLength(3);
    expect(s.requests.some((q) => q.endsWith(digestTag(DIGEST)))).toBe(false);
  });

  it("a referrers API answering 400 / 405 / 501 falls back to the referrers tag schema (as 404 does)", async () => {
    for (const code of [400, 404, 405, 501]) {
      const s = await hostile([[REFERRERS, status(code)], [SIG, manifest(sigManifest, MEDIA.ociManifest)], [BLOB, blob(payload)]]);
      const { r } = await run(s);
      expect(r.outcome, String(code)).toBe("found");
      // the fallback tag was asked for: the referrers tag schema replaced the API
      expect(s.requests.some((q) => q.endsWith(digestTag(DIGEST))), String(code)).toBe(true);
    }
    // 5xx stays an error (after the retries), never a fallback
    const s = await hostile([[REFERRERS, status(501 + 1)]]);
    expectError((await run(s)).r, "server-error");
  });

  it("a referrers listing that pages past the limit is an error, never a shorter list", async () => {
    const page = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [] }));
    const s = await hostile([[REFERRERS, json(200, page, { "content-type": MEDIA.ociIndex, link: `<${REFERRERS}?last=x>; rel="next"` })]]);
    const { r } = await run(s);
    expectError(r, "too-large", /more than 100 pages/);
    expect(s.requests.filter((q) => q.includes("/referrers/"))).toHaveLength(100);
  });

  it("a manifest holding U+0000 (which PostgreSQL cannot store) is an error, never stored as found", async () => {
    const poisoned = Buffer.from(sigManifest.toString().replace('"dev.cosignproject.cosign/signature":"MEUC"', '"dev.cosignproject.cosign/signature":"MEUC","note":"a\\u0000b"'));
    expect(poisoned.toString()).toContain("\\u0000");
    const { r } = await run(await hostile([[SIG, manifest(poisoned, MEDIA.ociManifest)], [BLOB, blob(payload)]]));
    expectError(r, "bad-response", /U\+0000/);
    // a lone surrogate (JSON "\ud800", which jsonb refuses) likewise
    const surrogate = Buffer.from(poisoned.toString().replace("a\\u0000b", "a\\ud800b"));
    expectError((await run(await hostile([[SIG, manifest(surrogate, MEDIA.ociManifest)], [BLOB, blob(payload)]]))).r, "bad-response", /lone surrogate/);
    // the reason quotes the registry: a body with U+0000 is quoted without it
    const { r: failed } = await run(await hostile([[SIG, json(500, { errors: [{ code: "UNKNOWN", message: "boom\u0000boom" }] })]]), { retries: 0 });
    expect(failed.outcome).toBe("error");
    if (failed.outcome === "error") expect(failed.reason).not.toContain("\u0000");
  });

  it("an index where a cosign manifest belongs is an error", async () => {
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [] }));
    expectError((await run(await hostile([[ATT, manifest(index, MEDIA.ociIndex)]]))).r, "bad-response", /expected a cosign image manifest/);
  });
});

describe("redirects (blob storage) are checked hop by hop", () => {
  const sigRoutes = (blobBehaviour: Route[1]): Route[] => [[SIG, manifest(sigManifest, MEDIA.ociManifest)], [BLOB, blobBehaviour]];

  it.each([
    ["the metadata IP", "http://169.254.169.254/latest/meta-data/", /metadata address \(169\.254\.169\.254\)/],
    ["the AWS IPv6 metadata IP", "http://[fd00:ec2::254]/latest/", /metadata address/],
    ["an IPv4-mapped metadata IP", "http://[::ffff:169.254.169.254]/", /metadata address/],
    ["link-local", "http://169.254.10.10/x", /link-local address/],
    ["0.0.0.0", "http://0.0.0.0:1/x", /unspecified address/],
    ["a non-HTTP scheme", "file:///etc/passwd", /file:/],
  ])("a redirect to %s is refused", async (_what, location, reason) => {
    const s = await hostile(sigRoutes(redirect(location)));
    const { r } = await run(s);
    expectError(r, "forbidden-host", reason);
  });

  it("a redirect to a host name is checked on the addresses DNS returns", async () => {
    const s = await hostile(sigRoutes(redirect("http://metadata.attacker.example/latest")));
    const lookups: string[] = [];
    const { r } = await run(s, {
      lookup: async (hostname) => {
        lookups.push(hostname);
        return hostname === "metadata.attacker.example" ? [{ address: "169.254.169.254", family: 4 }] : [{ address: "127.0.0.1", family: 4 }];
      },
    });
    expectError(r, "forbidden-host", /metadata address \(169\.254\.169\.254\) \(metadata\.attacker\.example\)/);
    expect(lookups).toContain("metadata.attacker.example");
  });

  it("a registry named in a pod spec is refused when its name resolves to loopback or metadata addresses", async () => {
    for (const [address, cls] of [
      ["127.0.0.1", "loopback"],
      ["169.254.169.254", "metadata"],
      ["::1", "loopback"],
    ] as const) {
      const client = new RegistryClient({ lookup: async () => [{ address, family: address.includes(":") ? 6 : 4 }], retries: 0, requestTimeoutMs: TIMEOUT_MS });
      clients.push(client);
      const r = await discover({ registry: "registry.attacker.example", repository: REPO, digest: DIGEST }, { client });
      expectError(r, "forbidden-host", new RegExp(`registry registry\\.attacker\\.example resolves to a ${cls} address`));
    }
  });

  it("a registry on 127.0.0.2 may not redirect to localhost (real DNS: 127.0.0.1 / ::1 are not its addresses)", async () => {
    const storage = await hostile([[BLOB, blob(payload)]]);
    const s = await hostile(sigRoutes(redirect(`http://localhost:${storage.url.split(":").pop()}${BLOB}`)), "127.0.0.2");
    const { r } = await run(s);
    expectError(r, "forbidden-host", /loopback address/);
    expect(storage.requests).toHaveLength(0);
  });

  it("a redirect to storage on the registry's own address is followed, without the Authorization header", async () => {
    const storage = await hostile([[BLOB, blob(payload)]]);
    const s = await hostile([
      [SIG, requireBasic(manifest(sigManifest, MEDIA.ociManifest))],
      [BLOB, requireBasic(redirect(`${storage.url}${BLOB}?X-Amz-Signature=secret`))],
      [/^\/v2\/.+/, requireBasic((req, res, srv) => json(404, { errors: [{ code: "MANIFEST_UNKNOWN" }] })(req, res, srv))],
    ]);
    const { r } = await run(s, { credentials: staticCredentials({ [s.host]: { username: "u", password: "p" } }), allowInternal: [storage.host] });
    expect(r.outcome).toBe("found");
    expect(storage.requests).toEqual([`GET ${BLOB}?X-Amz-Signature=secret`]);
    expect(storage.headers[0]!.authorization).toBeUndefined();
    expect(s.headers.filter((h) => h.authorization === `Basic ${Buffer.from("u:p").toString("base64")}`).length).toBeGreaterThan(0);
  });

  it("a credentials challenge from a redirect target never gets the registry's credentials", async () => {
    // the registry (credentials configured for it) sends its blob elsewhere; there a Bearer challenge
    // names a token service of that other host's choosing
    const target = await hostile([
      [BLOB, (req, res, srv) => status(401, { "www-authenticate": `Bearer realm="${srv.url}/token",service="elsewhere"` })(req, res, srv)],
      ["/token", json(200, { token: "issued-elsewhere" })],
    ]);
    const s = await hostile([
      [SIG, requireBasic(manifest(sigManifest, MEDIA.ociManifest))],
      [BLOB, requireBasic(redirect(`${target.url}${BLOB}`))],
      [/^\/v2\/.+/, requireBasic((req, res, srv) => json(404, { errors: [{ code: "MANIFEST_UNKNOWN" }] })(req, res, srv))],
    ]);
    const basic = `Basic ${Buffer.from("u:p").toString("base64")}`;
    const { r } = await run(s, { credentials: staticCredentials({ [s.host]: { username: "u", password: "p" } }), allowInternal: [target.host] });
    // the registry got its credentials; nobody else did
    expect(s.headers.some((h) => h.authorization === basic)).toBe(true);
    expect(target.headers.map((h) => h.authorization ?? null)).not.toContain(basic);
    expect(target.requests.filter((q) => q.startsWith("GET /token"))).toEqual([]);
    expectError(r, "auth", /through a redirect/);
  });

  it("a redirect to another port of the registry's own address is refused at that hop unless allowed", async () => {
    const other = await hostile([[BLOB, blob(payload)]]);
    const s = await hostile(sigRoutes(redirect(`${other.url}${BLOB}`)));
    expectError((await run(s)).r, "forbidden-host", new RegExp(`another port \\(${other.url.split(":").pop()}\\) of its own loopback address \\(127\\.0\\.0\\.1\\)`));
    expect(other.requests).toHaveLength(0);
  });

  it("a redirect to a denied loopback port is refused even when internal destinations are allowed", async () => {
    const other = await hostile([[BLOB, blob(payload)]]);
    const s = await hostile(sigRoutes(redirect(`${other.url}${BLOB}`)));
    const { r } = await run(s, { allowInternal: ["127.0.0.0/8"], hosts: { deny: [other.host] } });
    expectError(r, "forbidden-host", /matches the deny entry "127\.0\.0\.1:\d+"/);
    expect(other.requests).toHaveLength(0);
  });

  it("a redirect to a name resolving to a denied address is refused at that hop (DENY applies to addresses)", async () => {
    const other = await hostile([[BLOB, blob(payload)]], "127.0.0.3");
    const port = other.url.split(":").pop();
    const s = await hostile(sigRoutes(redirect(`http://storage.attacker.test:${port}${BLOB}`)));
    const lookup = async (name: string) => [{ address: name === "storage.attacker.test" ? "127.0.0.3" : "127.0.0.1", family: 4 }];
    const { r } = await run(s, { lookup, allowInternal: ["storage.attacker.test"], hosts: { deny: ["127.0.0.3"] } });
    expectError(r, "forbidden-host", /storage\.attacker\.test:\d+ of registry 127\.0\.0\.1:\d+ resolves to 127\.0\.0\.3, which matches the deny entry "127\.0\.0\.3"/);
    expect(other.requests).toHaveLength(0);
  });

  it("redirect loops end as an error", async () => {
    const s = await hostile(sigRoutes(redirect(BLOB)));
    expectError((await run(s)).r, "bad-response", /too many redirects/);
  });
});

describe("5xx and 429", () => {
  it("persistent 500s end as server-error after the retries", async () => {
    const s = await hostile([[SIG, status(500)]]);
    const { r } = await run(s);
    expectError(r, "server-error", /HTTP 500 3 times/);
    expect(s.requests.filter((q) => q.endsWith(".sig"))).toHaveLength(3);
  });

  it("a 503 followed by success is retried and found", async () => {
    const s = await hostile([[SIG, sequence(status(503), manifest(sigManifest, MEDIA.ociManifest))], [BLOB, blob(payload)]]);
    expect((await run(s)).r.outcome).toBe("found");
  });

  it("429 with Retry-After: 1 waits a second and then succeeds", async () => {
    const s = await hostile([[SIG, sequence(status(429, { "retry-after": "1" }), manifest(sigManifest, MEDIA.ociManifest))], [BLOB, blob(payload)]]);
    const { r, ms } = await run(s);
    expect(r.outcome).toBe("found");
    expect(ms).toBeGreaterThanOrEqual(950);
  });

  it("429 asking for more than the cap ends as rate-limited at once", async () => {
    const s = await hostile([[SIG, status(429, { "retry-after": "3600" })]]);
    const { r, ms } = await run(s);
    expectError(r, "rate-limited", /retry after 3600 s/);
    expect(ms).toBeLessThan(2_500);
    expect(s.requests.filter((q) => q.endsWith(".sig"))).toHaveLength(1);
  });

  it("429 without Retry-After ends as rate-limited after the retries", async () => {
    const s = await hostile([[SIG, status(429)]]);
    expectError((await run(s)).r, "rate-limited");
    expect(s.requests.filter((q) => q.endsWith(".sig"))).toHaveLength(3);
  });
});

describe("authentication failures", () => {
  const challenge = (realm: string) => status(401, { "www-authenticate": `Bearer realm="${realm}",service="evil"` });

  it("403 and a 401 without a challenge are auth errors", async () => {
    expectError((await run(await hostile([[SIG, status(403)]]))).r, "auth", /403/);
    expectError((await run(await hostile([[SIG, status(401)]]))).r, "auth", /without a usable WWW-Authenticate/);
  });

  it.each([
    ["500", "server-error", status(500)],
    ["invalid JSON", "bad-response", json(200, "{]")],
    ["an endless body", "too-large", endless("application/json")],
    ["a slow drip", "timeout", slowDrip(50)],
    ["401", "auth", status(401)],
  ] as const)("a token endpoint answering %s ends as %s", async (_what, code, behaviour) => {
    let realm = "";
    const s = await hostile([
      [/^\/v2\/.+/, (req, res, srv) => challenge(realm)(req, res, srv)],
      ["/token", behaviour],
    ]);
    realm = `${s.url}/token`;
    const { r, ms } = await run(s);
    expectError(r, code);
    expect(ms).toBeLessThan(TIMEOUT_MS + 2_500);
  });

  it("a token realm on the metadata address is refused", async () => {
    const s = await hostile([[/^\/v2\/.+/, challenge("http://169.254.169.254/token")]]);
    expectError((await run(s)).r, "forbidden-host", /metadata/);
  });

});
