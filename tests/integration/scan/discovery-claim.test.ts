import fs from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, getDb, type Db } from "@/lib/db/client";
import { resetEnvCache } from "@/lib/env";
import { getLogger } from "@/lib/log";
import { discoveryClaims } from "@/lib/scan/discovery-claim";
import { checkImages, createScan, startScan, type ImageCheckPayload, type PipelineContext } from "@/lib/scan/pipeline";
import { createScanAdapters } from "@/lib/scan/real-adapters";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { createNamespace, createPod, setPodStatus, startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { cosignSign, createCosignWorkspace, pushRandomImage, type CosignWorkspace } from "@/tests/support/registry-cosign";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { saveSigningPolicy } from "@/tests/support/scan";

/**
 * One registry discovery per image across concurrent checks (ADR 0012), on real parts: a kube-apiserver,
 * a registry holding images signed by real cosign (its access log counts the requests per repository),
 * PostgreSQL, and the scan pipeline with the production adapters.
 */
describe("discovery claims", () => {
  let tdb: TestDatabase;
  let db: Db;
  let kube: KubeApiserver;
  let registry: TestRegistry;
  let ws: CosignWorkspace;
  const digests: Record<string, string> = {};
  const queued: ImageCheckPayload[] = [];
  let ctx: PipelineContext;

  /** Registry requests about a repository's manifests, referrers and tags (blobs excluded). */
  const metadataRequests = (repo: string) =>
    registry.requests().filter((r) => new RegExp(`^/v2/apps/${repo}/(manifests|referrers|tags)/`).test(r.uri)).length;
  /** The access log is read from the registry's output: wait until it has caught up (no new line for 1 s). */
  const settledLog = async () => {
    for (let n = -1; n !== registry.requests().length; ) {
      n = registry.requests().length;
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  const imageOf = (repo: string) => db.image.findFirstOrThrow({ where: { repository: `apps/${repo}` } });
  const runPod = async (name: string) => {
    const h = registry.host;
    await createPod(kube, { namespace: "apps", name, containers: [{ name: "app", image: `${h}/apps/${name}:v1` }] });
    await setPodStatus(kube, "apps", name, { containers: [{ name: "app", imageID: `${h}/apps/${name}@${digests[name]}` }] });
  };

  beforeAll(async () => {
    [tdb, kube, registry, ws] = await Promise.all([createTestDatabase(), startKubeApiserver(), startRegistry({ logLevel: "info" }), createCosignWorkspace()]);
    db = createDb(tdb.url, 8);
    process.env.DATABASE_URL = tdb.url;
    process.env.KUBECONFIG = kube.kubeconfigPath;
    process.env.SIGNET_KUBE_CONTEXTS = "admin";
    process.env.SIGNET_REGISTRY_INSECURE = registry.host;
    resetEnvCache();
    const h = registry.host;
    for (const name of ["fresh", "twin", "orphan"]) {
      digests[name] = await pushRandomImage(ws, h, `apps/${name}`, "v1");
      await cosignSign(ws, `${h}/apps/${name}@${digests[name]}`, { bundle: false });
    }
    await saveSigningPolicy(db, h, await fs.readFile(ws.pub, "utf8"));
    await createNamespace(kube, "apps");
    await runPod("fresh");
    await runPod("twin");
    ctx = { db, adapters: createScanAdapters(), log: getLogger(), enqueueImageCheck: async (p) => void queued.push(p) };
  }, 240_000);

  afterAll(async () => {
    await db?.$disconnect();
    await getDb().$disconnect().catch(() => undefined);
    await Promise.all([kube?.stop(), registry?.stop(), ws?.cleanup()]);
    await tdb?.drop();
  });

  it("a claim is exclusive while live, taken over once expired, and released only by its holder", async () => {
    const { id } = await db.image.create({ data: { registry: "r.example", repository: "claims/unit", digest: `sha256:${"a".repeat(64)}` } });
    const first = discoveryClaims(db, { ttlMs: 600 });
    const second = discoveryClaims(db, { ttlMs: 60_000, pollMs: 50 });
    expect([...(await first.claim([id]))]).toEqual([id]);
    expect([...(await second.claim([id]))]).toEqual([]);
    // the first holder never releases (it crashed): the second waits until the claim expires, no longer
    await second.waitForOther(id);
    expect([...(await second.claim([id]))]).toEqual([id]);
    // the crashed holder coming back cannot release (or steal) the claim it lost
    await first.release();
    expect(await db.imageDiscoveryClaim.count({ where: { imageId: id } })).toBe(1);
    expect([...(await first.claim([id]))]).toEqual([]);
    await second.release();
    expect(await db.imageDiscoveryClaim.count({ where: { imageId: id } })).toBe(0);
    await db.image.delete({ where: { id } });
  });

  it("a new signed digest seen by the watch while a full scan checks it is fetched once, with one verdict per policy", { timeout: 180_000 }, async () => {
    const scanId = await createScan(db, { trigger: "test" });
    await startScan(ctx, scanId);
    const fresh = await imageOf("fresh");
    expect(fresh.discovery).toBe("pending");
    const scanBatch = queued.find((p) => p.imageIds.includes(fresh.id))!;
    expect(scanBatch.imageIds).toContain((await imageOf("twin")).id);
    queued.splice(queued.indexOf(scanBatch), 1);
    // (pushing and signing counted too: only what follows is the checks')
    await settledLog();
    const before = { fresh: metadataRequests("fresh"), twin: metadataRequests("twin") };

    // the watch's check of the new digest (cluster-watch.ts queues exactly this) races the scan's batch
    const watchCheck: ImageCheckPayload = { imageIds: [fresh.id], mode: "scan", trigger: "watch" };
    await Promise.all([checkImages(ctx, scanBatch), checkImages(ctx, watchCheck)]);
    for (let p = queued.shift(); p; p = queued.shift()) await checkImages(ctx, p);
    await settledLog();

    // twin, in the same scan batch, was discovered once by the scan alone: fresh costs the same
    const once = metadataRequests("twin") - before.twin;
    expect(once).toBeGreaterThan(0);
    expect(metadataRequests("fresh") - before.fresh).toBe(once);
    const policies = await db.policy.count();
    expect(policies).toBe(1);
    const container = await db.container.findFirstOrThrow({ where: { imageId: fresh.id }, include: { verdicts: true } });
    expect(container.verdicts.map((v) => v.value)).toEqual(["verified"]);
    expect(await db.verificationEvent.count({ where: { kind: "verdict", containerId: container.id } })).toBe(1);
    expect(await db.imageDiscoveryClaim.count()).toBe(0);
    // the scan is complete: every item settled once, nothing counted twice
    const scan = await db.scan.findUniqueOrThrow({ where: { id: scanId } });
    expect(scan).toMatchObject({ status: "succeeded", done: 2, total: 2 });
    const items = await db.scanItem.findMany({ where: { scanId } });
    expect(items.map((i) => [i.status, i.outcome]).sort()).toEqual([
      ["done", "found"],
      ["done", "found"],
    ]);
  });

  it("a claim left by a holder that died does not block a later check: it waits at most until the claim expires", { timeout: 180_000 }, async () => {
    await runPod("orphan");
    const scanId = await createScan(db, { trigger: "test" });
    await startScan(ctx, scanId);
    const orphan = await imageOf("orphan");
    // a worker claimed the new digest and was killed before storing anything: its claim expires in 3 s
    await db.$executeRaw`INSERT INTO "ImageDiscoveryClaim" ("imageId", token, "expiresAt") VALUES (${orphan.id}::uuid, ${randomUUID()}::uuid, now() + interval '3 seconds')`;
    await settledLog();
    const before = metadataRequests("orphan");
    for (let p = queued.shift(); p; p = queued.shift()) await checkImages(ctx, p);
    await settledLog();

    expect(metadataRequests("orphan")).toBeGreaterThan(before);
    expect((await imageOf("orphan")).discovery).toBe("found");
    const container = await db.container.findFirstOrThrow({ where: { imageId: orphan.id }, include: { verdicts: true } });
    expect(container.verdicts.map((v) => v.value)).toEqual(["verified"]);
    expect(await db.imageDiscoveryClaim.count()).toBe(0);
    const scan = await db.scan.findUniqueOrThrow({ where: { id: scanId } });
    expect(scan).toMatchObject({ status: "succeeded", done: 3, total: 3 });
  });
});
