import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/lib/db/client";
import { checkImages, MANUAL_TRIGGER } from "@/lib/scan/pipeline";
import { seedInventory } from "@/tests/support/inventory";
import type { TestRegistry } from "@/tests/support/registry";
import { generateSigningKey, pushSignedImage } from "@/tests/support/registry-fixtures";
import { pipelineContext, saveSigningPolicy, startScanParts } from "@/tests/support/scan";

/**
 * A worker's scheduled scan takes stored evidence confirmed against the registry within the
 * revalidation bound (SIGNET_REVALIDATE_SECONDS, which its revalidation cycle keeps) without asking the
 * registry; a scan someone asked for ("Scan now": trigger manual:<who>) lists the repository all the
 * same, and so sees a signature deleted a moment ago (ADR 0022).
 */
describe("the revalidation bound in a worker's scans", () => {
  let parts: Awaited<ReturnType<typeof startScanParts>>;
  let db: Db;
  let registry: TestRegistry;
  let imageId: string;
  let digest = "";
  const key = generateSigningKey();

  beforeAll(async () => {
    parts = await startScanParts({ logLevel: "info" });
    ({ db, registry } = parts);
    ({ digest } = await pushSignedImage(registry.url, registry.host, "apps/api", key));
    await saveSigningPolicy(db, registry.host, key.publicKeyPem);
    await seedInventory(db, { cluster: "prod", namespaces: [{ name: "payments", pods: [{ name: "api", containers: [{ name: "app", image: `${registry.host}/apps/api@${digest}` }] }] }] });
    imageId = (await db.image.findFirstOrThrow({ where: { digest } })).id;
  }, 120_000);

  afterAll(async () => {
    await parts?.stop();
  });

  // the worker's context (lib/jobs/definitions/scan.ts): evidence kept an hour, the bound 600 s
  const worker = () => pipelineContext(db, { evidenceMaxAgeMs: 3_600_000, revalidatedWithinMs: 600_000 });
  const verdicts = async () => (await db.verdict.findMany()).map((v) => v.value);
  const asked = () => registry.requests().filter((r) => r.uri.startsWith("/v2/apps/api/")).length;

  it("a scheduled scan reuses evidence confirmed within the bound; Scan now asks the registry and sees the deleted signature", async () => {
    await checkImages(worker(), { imageIds: [imageId], mode: "scan", trigger: "schedule" });
    expect(await verdicts()).toEqual(["verified"]);
    const image = await db.image.findUniqueOrThrow({ where: { id: imageId } });
    expect(image.revalidatedAt?.getTime()).toBe(image.discoveredAt?.getTime());

    // the signature is deleted from the registry
    const sigTag = `sha256-${digest.slice(7)}.sig`;
    const head = await fetch(`${registry.url}/v2/apps/api/manifests/${sigTag}`, { method: "HEAD", headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
    expect((await fetch(`${registry.url}/v2/apps/api/manifests/${head.headers.get("docker-content-digest")!}`, { method: "DELETE" })).status).toBe(202);

    // the next scheduled scan, within the bound: no request for the repository, the stored evidence stands
    const before = asked();
    await checkImages(worker(), { imageIds: [imageId], mode: "scan", trigger: "schedule" });
    expect(asked()).toBe(before);
    expect(await verdicts()).toEqual(["verified"]);
    const kept = await db.image.findUniqueOrThrow({ where: { id: imageId } });
    // not confirmed again (nothing was asked), only verified again
    expect(kept.revalidatedAt?.getTime()).toBe(image.revalidatedAt?.getTime());
    expect(kept.verifiedAt!.getTime()).toBeGreaterThan(image.verifiedAt!.getTime());

    // "Scan now" in the same bound: the repository is listed, the deletion seen
    await checkImages(worker(), { imageIds: [imageId], mode: "scan", trigger: `${MANUAL_TRIGGER}admin@example.com` });
    expect(asked()).toBeGreaterThan(before);
    expect(await verdicts()).toEqual(["unsigned"]);
  }, 120_000);
});
