import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import type { DiscoveryResult } from "@/lib/evidence/types";
import { loadStoredArtifacts, storeDiscovery, storeEvidenceBatch } from "@/lib/scan/evidence-store";
import { verifyArtifacts } from "@/lib/sigstore/verify-artifacts";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { classicLayer, dsseLayer, inTotoStatement, makeKey, randomDigest, tagArtifact } from "@/tests/support/sigstore-fixtures";

describe("evidence store", () => {
  let tdb: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 2);
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("keeps every signature of a .sig manifest, even when they share one payload blob", async () => {
    const image = await db.image.create({ data: { registry: "r.example", repository: "app", digest: `sha256:${"1".repeat(64)}` } });
    const payload = Buffer.from('{"critical":{}}');
    const layer = (sig: string) => ({
      digest: `sha256:${"2".repeat(64)}`,
      mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
      size: payload.length,
      annotations: { "dev.cosignproject.cosign/signature": sig },
      content: payload,
    });
    const result: DiscoveryResult = {
      outcome: "found",
      image: { registry: "r.example", repository: "app", digest: image.digest },
      manifestDigests: [`sha256:${"3".repeat(64)}`],
      artifacts: [
        {
          kind: "signature",
          source: "tag",
          tag: `sha256-${"1".repeat(64)}.sig`,
          manifestDigest: `sha256:${"3".repeat(64)}`,
          manifestMediaType: "application/vnd.oci.image.manifest.v1+json",
          annotations: {},
          layers: [layer("sig-by-key-a"), layer("sig-by-key-b")],
        },
      ],
    };
    await storeDiscovery(db, image.id, result, new Date());
    await storeDiscovery(db, image.id, result, new Date()); // idempotent
    expect(await db.evidence.count({ where: { imageId: image.id } })).toBe(2);
    const [artifact] = await loadStoredArtifacts(db, image.id);
    expect(artifact!.layers.map((l) => l.annotations["dev.cosignproject.cosign/signature"])).toEqual(["sig-by-key-a", "sig-by-key-b"]);
    expect(artifact!.layers[1]!.content?.equals(payload)).toBe(true);

    // the signature manifest replaced by one with a single signature: the other row goes
    await storeDiscovery(db, image.id, { ...result, artifacts: [{ ...result.artifacts[0]!, manifestDigest: `sha256:${"4".repeat(64)}`, layers: [layer("sig-by-key-b")] }] }, new Date());
    const rows = await db.evidence.findMany({ where: { imageId: image.id } });
    expect(rows.map((r) => [r.artifactDigest.slice(7, 8), r.layerIndex])).toEqual([["4", 0]]);
  });

  it("what signed payloads say is stored without U+0000: one poisoned image never fails the batch it is checked in", async () => {
    const key = makeKey("p256");
    const images = await Promise.all(["poisoned", "signed"].map((repository) => db.image.create({ data: { registry: "r.example", repository, digest: randomDigest() } })));
    const [poisoned, signed] = images as [(typeof images)[number], (typeof images)[number]];
    // signed by a trusted key: a payload naming a "digest" with U+0000, an attestation whose predicate type holds one
    const artifactsOf = (digest: string, poison: boolean) =>
      poison
        ? [
            tagArtifact(digest, "sig", [classicLayer("sha256:\u0000not-this-image", key)]),
            tagArtifact(digest, "att", [
              dsseLayer(inTotoStatement(digest, "https://evil.example/\u0000type"), key),
              // a lone surrogate (JSON "\ud800"): PostgreSQL's jsonb refuses it in the stored provenance
              dsseLayer(inTotoStatement(digest, "https://slsa.dev/provenance/v0.2", { builder: { id: "https://builder.example/\ud800" } }), key),
            ]),
          ]
        : [tagArtifact(digest, "sig", [classicLayer(digest, key)])];
    const updates = images.map((image, i) => {
      const at = { registry: image.registry, repository: image.repository, digest: image.digest };
      const artifacts = artifactsOf(image.digest, i === 0);
      const verified = verifyArtifacts({ image: at, artifacts, trust: [], keys: [{ keyId: "k", pem: key.pem }], now: new Date() });
      return { imageId: image.id, discovery: { outcome: "found" as const, image: at, artifacts, manifestDigests: artifacts.map((a) => a.manifestDigest) }, verified };
    });
    expect(JSON.stringify(updates[0]!.verified)).not.toMatch(/\\u0000|\\ud800/);
    await storeEvidenceBatch(db, updates, new Date());
    const rows = await db.evidence.findMany({ where: { imageId: { in: [poisoned.id, signed.id] } }, orderBy: { layerIndex: "asc" } });
    expect(rows.filter((r) => r.imageId === signed.id).map((r) => r.status)).toEqual(["valid"]);
    const stored = rows.filter((r) => r.imageId === poisoned.id);
    expect(stored.map((r) => r.status).sort()).toEqual(["invalid", "valid", "valid"]);
    expect(stored.map((r) => (r.provenance as { builderId?: string } | null)?.builderId).filter(Boolean)).toEqual(["https://builder.example/\uFFFD"]);
    expect(stored.map((r) => r.statusReason ?? "").join()).toContain("payload signs sha256:\uFFFDnot-this-image");
    expect(stored.map((r) => r.predicateType)).toContain("https://evil.example/\uFFFDtype");
  });
});

