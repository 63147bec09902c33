import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/lib/db/client";
import { checkImages, verifyStoredAhead, type PipelineContext } from "@/lib/scan/pipeline";
import { seedInventory } from "@/tests/support/inventory";
import type { TestRegistry } from "@/tests/support/registry";
import { generateSigningKey, pushSignature, pushSignedImage, simpleSigningPayload } from "@/tests/support/registry-fixtures";
import { pipelineContext, saveSigningPolicy, startScanParts } from "@/tests/support/scan";

/**
 * An in-process scan hands the stored artifacts its verification ahead read to the image checks
 * (PipelineContext.storedArtifacts), so they are not read twice; an image whose evidence was replaced
 * in between (a new discovery by another process) is read again, never checked on what was read ahead.
 */
describe("stored artifacts read ahead", () => {
  let parts: Awaited<ReturnType<typeof startScanParts>>;
  let db: Db;
  let registry: TestRegistry;
  let imageId: string;
  const trusted = generateSigningKey();
  const other = generateSigningKey();
  let digest = "";

  beforeAll(async () => {
    parts = await startScanParts();
    ({ db, registry } = parts);
    // signed, but not by the key the policy trusts
    ({ digest } = await pushSignedImage(registry.url, registry.host, "apps/api", other));
    await saveSigningPolicy(db, registry.host, trusted.publicKeyPem);
    await seedInventory(db, { cluster: "prod", namespaces: [{ name: "payments", pods: [{ name: "api", containers: [{ name: "app", image: `${registry.host}/apps/api@${digest}` }] }] }] });
    imageId = (await db.image.findFirstOrThrow({ where: { digest } })).id;
  }, 120_000);

  afterAll(async () => {
    await parts?.stop();
  });

  const context = (opts: Partial<PipelineContext>): PipelineContext => pipelineContext(db, opts);
  const verdicts = async () => (await db.verdict.findMany()).map((v) => v.value);

  it("a check takes what was read ahead for the same discovery, and reads anew after another discovery", async () => {
    // a worker's scan: discovers from the registry (evidence found, not by the trusted key)
    const discovering = context({ evidenceMaxAgeMs: 0 });
    await checkImages(discovering, { imageIds: [imageId], mode: "scan" });
    expect(await verdicts()).not.toEqual(["verified"]);

    // an in-process scan verifies the stored evidence ahead and keeps it for its checks
    const inProcess = context({ evidenceMaxAgeMs: 3_600_000, revalidatedWithinMs: 3_600_000, storedArtifacts: new Map() });
    expect(await verifyStoredAhead(inProcess, ["prod"])).toBe(1);
    expect([...inProcess.storedArtifacts!.keys()]).toEqual([imageId]);

    // meanwhile the trusted key signs it and another process discovers that (the evidence is replaced)
    await pushSignature(registry.url, "apps/api", digest, simpleSigningPayload(`${registry.host}/apps/api`, digest), trusted);
    await checkImages(discovering, { imageIds: [imageId], mode: "scan" });
    expect(await verdicts()).toEqual(["verified"]);

    // the in-process check reuses the stored evidence (confirmed within its bound): the stored rows,
    // not the artifacts read before they were replaced
    await checkImages(inProcess, { imageIds: [imageId], mode: "scan" });
    expect(await verdicts()).toEqual(["verified"]);
    expect(inProcess.storedArtifacts!.size).toBe(0);
  });
});
