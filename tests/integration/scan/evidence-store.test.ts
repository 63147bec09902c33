import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import type { DiscoveryResult } from "@/lib/evidence/types";
import { loadStoredArtifacts, storeDiscovery } from "@/lib/scan/evidence-store";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";

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
});
