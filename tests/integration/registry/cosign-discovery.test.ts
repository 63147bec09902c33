import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import type { DiscoveredArtifact, DiscoveryResult } from "@/lib/evidence/types";
import { RegistryClient } from "@/lib/registry/client";
import { discover } from "@/lib/registry/discover";
import { digestTag } from "@/lib/registry/digest";
import { RegistryError } from "@/lib/registry/errors";
import { MEDIA } from "@/lib/registry/media-types";
import { json, startHostileRegistry, type HostileRegistry, type Route } from "@/tests/support/hostile-registry";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import fs from "node:fs/promises";
import path from "node:path";
import {
  cosignAttachSbom,
  cosignAttest,
  cosignSign,
  cosignVerify,
  createCosignWorkspace,
  generateExtraKey,
  pushIndex,
  pushRandomImage,
  type CosignWorkspace,
} from "@/tests/support/registry-cosign";
import { generateSigningKey, pushSignedImage } from "@/tests/support/registry-fixtures";

/** Real cosign v3 signs real images in a real distribution registry; discovery must find exactly that. */
describe("discovery against docker-registry with real cosign artifacts", () => {
  let reg: TestRegistry;
  let ws: CosignWorkspace;
  let client: RegistryClient;
  const images: Record<"full" | "unsigned" | "annotated" | "elsewhere" | "index", string> = { full: "", unsigned: "", annotated: "", elsewhere: "", index: "" };

  beforeAll(async () => {
    [reg, ws] = await Promise.all([startRegistry(), createCosignWorkspace()]);
    const at = (repo: string, digest: string) => `${reg.host}/${repo}@${digest}`;
    const extraKey = await generateExtraKey(ws, "second");
    await Promise.all([
      (async () => {
        images.full = await pushRandomImage(ws, reg.host, "test/full", "v1");
        const ref = at("test/full", images.full);
        // Order matters only for the classic tags (each sign rewrites .sig): run them one by one.
        await cosignSign(ws, ref, { bundle: false });
        await cosignSign(ws, ref, { bundle: false, key: extraKey });
        await cosignSign(ws, ref, { bundle: true });
        await cosignAttest(ws, ref, { bundle: false });
        await cosignAttest(ws, ref, { bundle: true });
        await cosignAttachSbom(ws, ref);
      })(),
      (async () => {
        images.unsigned = await pushRandomImage(ws, reg.host, "test/unsigned", "v1");
      })(),
      (async () => {
        images.annotated = await pushRandomImage(ws, reg.host, "test/annotated", "v1");
        await cosignSign(ws, at("test/annotated", images.annotated), { bundle: false, annotations: { team: "payments" } });
      })(),
      (async () => {
        // A Docker manifest list of two images, signed by its digest with Docker media types.
        const a = await pushRandomImage(ws, reg.host, "test/multi", "a");
        const b = await pushRandomImage(ws, reg.host, "test/multi", "b");
        images.index = await pushIndex(ws, reg.host, "test/multi", "v1", [`${reg.host}/test/multi@${a}`, `${reg.host}/test/multi@${b}`], { docker: true });
        await cosignSign(ws, at("test/multi", images.index), { bundle: false, env: { COSIGN_DOCKER_MEDIA_TYPES: "1" } });
      })(),
      (async () => {
        images.elsewhere = await pushRandomImage(ws, reg.host, "test/elsewhere", "v1");
        await cosignSign(ws, at("test/elsewhere", images.elsewhere), { bundle: false, env: { COSIGN_REPOSITORY: `${reg.host}/sigstore/signatures` } });
      })(),
    ]);
    client = new RegistryClient({ registries: [{ host: reg.host, insecure: true }] });
  });

  afterAll(async () => {
    await client?.close();
    await ws?.cleanup();
    await reg?.stop();
  });

  const found = (r: DiscoveryResult) => {
    if (r.outcome !== "found") throw new Error(`expected found, got ${JSON.stringify(r).slice(0, 500)}`);
    return r;
  };
  const summary = (a: DiscoveredArtifact) => ({ kind: a.kind, source: a.source, layers: a.layers.length });

  it("finds two classic signatures, a classic attestation, an SBOM and two v3 bundles (fallback tag)", async () => {
    const image = { registry: reg.host, repository: "test/full", digest: images.full };
    const r = found(await discover(image, { client }));
    expect(r.artifacts.map(summary)).toEqual([
      { kind: "signature", source: "tag", layers: 2 },
      { kind: "attestation", source: "tag", layers: 1 },
      { kind: "sbom", source: "tag", layers: 1 },
      { kind: "bundle", source: "referrers-tag", layers: 1 },
      { kind: "bundle", source: "referrers-tag", layers: 1 },
    ]);
    expect(new Set(r.manifestDigests).size).toBe(5);
    const [sig, att, sbom, ...bundles] = r.artifacts;

    expect(sig!.tag).toBe(digestTag(images.full, "sig"));
    const signatures = sig!.layers.map((l) => l.annotations["dev.cosignproject.cosign/signature"]);
    expect(new Set(signatures).size).toBe(2);
    for (const layer of sig!.layers) {
      expect(layer.mediaType).toBe(MEDIA.cosignSimpleSigning);
      const payload = JSON.parse(layer.content!.toString("utf8"));
      expect(payload.critical.image["docker-manifest-digest"]).toBe(images.full);
      expect(payload.critical.type).toBe("cosign container image signature");
    }

    expect(att!.layers[0]!.mediaType).toBe(MEDIA.dsseEnvelope);
    expect(att!.layers[0]!.annotations.predicateType).toBe("https://slsa.dev/provenance/v0.2");
    const envelope = JSON.parse(att!.layers[0]!.content!.toString("utf8"));
    expect(envelope.payloadType).toBe("application/vnd.in-toto+json");

    expect(sbom!.layers[0]!.content).toBeUndefined();
    expect(sbom!.layers[0]!.skipped).toMatch(/SBOM/);

    const predicateTypes = bundles.map((b) => b.annotations["dev.sigstore.bundle.predicateType"]).sort();
    expect(predicateTypes).toEqual(["https://sigstore.dev/cosign/sign/v1", "https://slsa.dev/provenance/v0.2"]);
    for (const b of bundles) {
      expect(b.tag).toBe(digestTag(images.full));
      expect(b.subjectDigest).toBe(images.full);
      expect(b.layers[0]!.mediaType).toMatch(/^application\/vnd\.dev\.sigstore\.bundle/);
      const bundle = JSON.parse(b.layers[0]!.content!.toString("utf8"));
      const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, "base64").toString("utf8"));
      expect(statement.subject[0].digest.sha256).toBe(images.full.slice("sha256:".length));
    }
  });

  it("reports an unsigned image as none after checking every tag and the referrers API", async () => {
    const r = await discover({ registry: reg.host, repository: "test/unsigned", digest: images.unsigned }, { client });
    expect(r.outcome).toBe("none");
    if (r.outcome !== "none") return;
    expect(r.checked).toHaveLength(5);
    expect(r.checked.join("\n")).toContain("referrers API (404)");
    for (const suffix of ["sig", "att", "sbom"] as const) expect(r.checked.join("\n")).toContain(digestTag(images.unsigned, suffix));
  });

  it("keeps cosign -a annotations in the payload of a single signature", async () => {
    const r = found(await discover({ registry: reg.host, repository: "test/annotated", digest: images.annotated }, { client }));
    expect(r.artifacts.map(summary)).toEqual([{ kind: "signature", source: "tag", layers: 1 }]);
    expect(JSON.parse(r.artifacts[0]!.layers[0]!.content!.toString()).optional).toEqual({ team: "payments" });
  });

  it("honours a COSIGN_REPOSITORY-style override", async () => {
    const image = { registry: reg.host, repository: "test/elsewhere", digest: images.elsewhere };
    expect((await discover(image, { client })).outcome).toBe("none");
    const r = found(await discover(image, { client, signatureRepository: `${reg.host}/sigstore/signatures` }));
    expect(r.artifacts.map(summary)).toEqual([{ kind: "signature", source: "tag", layers: 1 }]);
    const r2 = found(await discover(image, { client, signatureRepository: { registry: reg.host, repository: "sigstore/signatures" } }));
    expect(r2.manifestDigests).toEqual(r.manifestDigests);
  });

  it("handles Docker media types: a manifest list resolved by tag, signed with COSIGN_DOCKER_MEDIA_TYPES", async () => {
    const repo = { registry: reg.host, repository: "test/multi" };
    expect(await client.resolveDigest({ ...repo, tag: "v1" })).toBe(images.index);
    const m = await client.getManifest(repo, "v1");
    expect(m.mediaType).toBe(MEDIA.dockerManifestList);
    expect(JSON.parse(m.bytes.toString()).manifests).toHaveLength(2);
    const r = found(await discover({ ...repo, digest: images.index }, { client }));
    expect(r.artifacts.map(summary)).toEqual([{ kind: "signature", source: "tag", layers: 1 }]);
    expect(r.artifacts[0]!.manifestMediaType).toBe(MEDIA.dockerManifest);
    expect(JSON.parse(r.artifacts[0]!.layers[0]!.content!.toString()).critical.image["docker-manifest-digest"]).toBe(images.index);
  });

  it("resolves tags, lists tags and reads manifests and blobs with the client", async () => {
    const repo = { registry: reg.host, repository: "test/full" };
    expect(await client.resolveDigest({ ...repo, tag: "v1" })).toBe(images.full);
    const head = await client.headManifest(repo, "v1");
    expect(head).toMatchObject({ digest: images.full, mediaType: expect.stringMatching(/manifest/) });
    const tags = await client.listTags(repo, { pageSize: 2 });
    expect(tags.sort()).toEqual(["v1", digestTag(images.full), digestTag(images.full, "att"), digestTag(images.full, "sbom"), digestTag(images.full, "sig")].sort());
    const m = await client.getManifest(repo, images.full);
    expect(m.digest).toBe(images.full);
    const config = JSON.parse(m.bytes.toString()).config;
    const blob = await client.getBlob(repo, config.digest, { expectedSize: config.size });
    expect(blob.length).toBe(config.size);
    await expect(client.getManifest(repo, "nope")).rejects.toMatchObject({ code: "not-found" });
    await expect(client.resolveDigest({ ...repo, tag: "missing" })).rejects.toBeInstanceOf(RegistryError);
    await expect(client.getBlob(repo, config.digest, { maxBytes: 10 })).rejects.toMatchObject({ code: "too-large" });
    await expect(client.getReferrers(repo, images.full)).resolves.toEqual({ supported: false });
  });

  it("writes HTTP-pushed fixtures in exact cosign format (cosign verify accepts them, discovery finds them)", async () => {
    const key = generateSigningKey();
    const pushed = await pushSignedImage(reg.url, reg.host, "test/fixture", key);
    const pub = path.join(ws.dir, "fixture.pub");
    await fs.writeFile(pub, key.publicKeyPem);
    const verified = await cosignVerify(ws, `${reg.host}/test/fixture@${pushed.digest}`, pub);
    expect(verified).toHaveLength(1);
    const r = found(await discover({ registry: reg.host, repository: "test/fixture", digest: pushed.digest }, { client }));
    expect(r.manifestDigests).toEqual([pushed.signatureManifestDigest]);
    expect(r.artifacts[0]!.layers[0]!.content).toEqual(pushed.payload);
  });

  describe("the OCI referrers API (a local server serving the real artifacts copied from the registry)", () => {
    let fake: HostileRegistry;
    let copied: Array<{ digest: string; bytes: Buffer; artifactType: string; annotations: Record<string, string> }>;

    beforeAll(async () => {
      const get = async (path: string) => {
        const res = await request(`${reg.url}${path}`, { headers: { accept: `${MEDIA.ociIndex}, ${MEDIA.ociManifest}` } });
        const bytes = Buffer.from(await res.body.arrayBuffer());
        if (res.statusCode !== 200) throw new Error(`${path}: HTTP ${res.statusCode}`);
        return bytes;
      };
      const index = JSON.parse((await get(`/v2/test/full/manifests/${digestTag(images.full)}`)).toString());
      const routes: Route[] = [];
      copied = [];
      for (const entry of index.manifests as Array<{ digest: string }>) {
        const bytes = await get(`/v2/test/full/manifests/${entry.digest}`);
        const m = JSON.parse(bytes.toString());
        copied.push({ digest: entry.digest, bytes, artifactType: m.artifactType, annotations: m.annotations });
        routes.push([`/v2/test/full/manifests/${entry.digest}`, json(200, bytes, { "content-type": m.mediaType, "docker-content-digest": entry.digest })]);
        for (const layer of [m.config, ...m.layers] as Array<{ digest: string }>) {
          routes.push([`/v2/test/full/blobs/${layer.digest}`, json(200, await get(`/v2/test/full/blobs/${layer.digest}`), { "content-type": "application/octet-stream" })]);
        }
      }
      // Two pages, as registries paginate with Link headers; entries carry the referrers' artifactType.
      const entry = (c: (typeof copied)[number]) => ({ mediaType: MEDIA.ociManifest, digest: c.digest, size: c.bytes.length, artifactType: c.artifactType, annotations: c.annotations });
      const page = (entries: object[]) => ({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: entries });
      routes.push([
        `/v2/test/full/referrers/${images.full}`,
        (req, res, srv) => {
          const second = (req.url ?? "").includes("page=2");
          const body = Buffer.from(JSON.stringify(page(second ? copied.slice(1).map(entry) : copied.slice(0, 1).map(entry))));
          res.writeHead(200, { "content-type": MEDIA.ociIndex, ...(second ? {} : { link: `</v2/test/full/referrers/${images.full}?page=2>; rel="next"` }) });
          srv.bytesWritten += body.length;
          res.end(body);
        },
      ]);
      routes.push([`/v2/test/empty/referrers/${images.full}`, json(200, page([]), { "content-type": MEDIA.ociIndex })]);
      fake = await startHostileRegistry(routes);
    });

    afterAll(async () => fake?.stop());

    it("lists bundles through the API (both pages) and never falls back to the tag", async () => {
      const c = new RegistryClient({ registries: [{ host: fake.host, insecure: true }] });
      try {
        const r = found(await discover({ registry: fake.host, repository: "test/full", digest: images.full }, { client: c }));
        expect(r.artifacts.map(summary)).toEqual([
          { kind: "bundle", source: "referrers-api", layers: 1 },
          { kind: "bundle", source: "referrers-api", layers: 1 },
        ]);
        expect(r.manifestDigests.sort()).toEqual(copied.map((x) => x.digest).sort());
        expect(r.artifacts.every((a) => a.tag === undefined && a.subjectDigest === images.full && a.layers[0]!.content)).toBe(true);
        expect(fake.requests.some((q) => q.includes(`/manifests/${digestTag(images.full)} `) || q.endsWith(`/manifests/${digestTag(images.full)}`))).toBe(false);
        expect(fake.requests.filter((q) => q.includes("/referrers/"))).toHaveLength(2);
      } finally {
        await c.close();
      }
    });

    it("treats an empty referrers list plus 404 tags as none", async () => {
      const c = new RegistryClient({ registries: [{ host: fake.host, insecure: true }] });
      try {
        const r = await discover({ registry: fake.host, repository: "test/empty", digest: images.full }, { client: c });
        expect(r).toMatchObject({ outcome: "none", checked: expect.arrayContaining([expect.stringContaining("referrers API (empty)")]) });
      } finally {
        await c.close();
      }
    });
  });
});
