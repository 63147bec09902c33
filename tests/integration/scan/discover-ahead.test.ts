import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/lib/db/client";
import { checkImages, createScan, discoverAhead, type PipelineContext } from "@/lib/scan/pipeline";
import { seedInventory } from "@/tests/support/inventory";
import type { TestRegistry } from "@/tests/support/registry";
import { generateSigningKey, pushSignature, pushSignedImage, simpleSigningPayload } from "@/tests/support/registry-fixtures";
import { pipelineContext, saveSigningPolicy, startScanParts } from "@/tests/support/scan";

/**
 * A scan discovers the images of the clusters it has written while it lists the next ones
 * (discoverAhead): evidence is stored, nothing is evaluated; the scan's checks then reuse what was
 * discovered since the scan started without asking the registry again, and evaluate.
 */
describe("discovery ahead of a scan's image checks", () => {
  let parts: Awaited<ReturnType<typeof startScanParts>>;
  let db: Db;
  let registry: TestRegistry;
  const trusted = generateSigningKey();
  let signedId = "";
  let unsignedId = "";
  let unsignedDigest = "";

  beforeAll(async () => {
    parts = await startScanParts();
    ({ db, registry } = parts);
    const signed = await pushSignedImage(registry.url, registry.host, "apps/api", trusted);
    unsignedDigest = (await pushSignedImage(registry.url, registry.host, "apps/worker", trusted, { sign: false })).digest;
    await saveSigningPolicy(db, registry.host, trusted.publicKeyPem);
    await seedInventory(db, {
      cluster: "prod",
      namespaces: [
        {
          name: "payments",
          pods: [
            { name: "api", containers: [{ name: "app", image: `${registry.host}/apps/api@${signed.digest}` }] },
            { name: "worker", containers: [{ name: "app", image: `${registry.host}/apps/worker@${unsignedDigest}` }] },
          ],
        },
      ],
    });
    signedId = (await db.image.findFirstOrThrow({ where: { digest: signed.digest } })).id;
    unsignedId = (await db.image.findFirstOrThrow({ where: { digest: unsignedDigest } })).id;
  }, 120_000);

  afterAll(async () => {
    await parts?.stop();
  });

  const context = (opts: Partial<PipelineContext> = {}): PipelineContext => pipelineContext(db, { evidenceMaxAgeMs: 3_600_000, ...opts });

  it("stores evidence without verdicts; the checks reuse it and evaluate", async () => {
    const startedAt = new Date();
    const scanId = await createScan(db, { trigger: "test" });
    const ahead = discoverAhead(context(), { scanId, trigger: "test" });
    ahead.add([signedId, unsignedId]);
    ahead.add([signedId]); // queued once
    expect(await ahead.finish()).toBe(2);

    const images = await db.image.findMany({ where: { id: { in: [signedId, unsignedId] } }, orderBy: { repository: "asc" } });
    expect(images.map((i) => [i.repository, i.discovery])).toEqual([
      ["apps/api", "found"],
      ["apps/worker", "none"],
    ]);
    expect(images.every((i) => i.discoveredAt !== null && i.discoveredAt >= startedAt)).toBe(true);
    // evaluation is the checks': no verdict, no verdict event yet
    expect(await db.verdict.count()).toBe(0);
    expect(await db.verificationEvent.count({ where: { kind: "verdict" } })).toBe(0);

    // the trusted key signs the unsigned image after it was discovered: a check of this scan reuses
    // the evidence discovered since the scan started (it does not list the tags again)...
    await pushSignature(registry.url, "apps/worker", unsignedDigest, simpleSigningPayload(`${registry.host}/apps/worker`, unsignedDigest), trusted);
    const r = await checkImages(context(), { imageIds: [signedId, unsignedId], mode: "scan", trigger: "test", confirmedSince: startedAt.toISOString() });
    expect(r.outcomes).toEqual({ found: 1, none: 1 });
    const verdictOf = async (imageId: string) => (await db.verdict.findMany({ where: { container: { imageId } } })).map((v) => v.value);
    expect(await verdictOf(signedId)).toEqual(["verified"]);
    expect(await verdictOf(unsignedId)).toEqual(["unsigned"]);

    // ...while a check without that bound lists the tags and sees the new signature
    await checkImages(context(), { imageIds: [unsignedId], mode: "scan", trigger: "test" });
    expect(await verdictOf(unsignedId)).toEqual(["verified"]);
  });

  it("discovers nothing without a bound on stored evidence, and nothing whose evidence is within it", async () => {
    const scanId = await createScan(db, { trigger: "test" });
    const none = discoverAhead(context({ evidenceMaxAgeMs: 0 }), { scanId, trigger: "test" });
    none.add([signedId, unsignedId]);
    expect(await none.finish()).toBe(0);
    const fresh = discoverAhead(context(), { scanId, trigger: "test" });
    fresh.add([signedId, unsignedId]);
    expect(await fresh.finish()).toBe(0);
  });
});
