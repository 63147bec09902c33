import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, getDb, type Db } from "@/lib/db/client";
import { resetEnvCache } from "@/lib/env";
import { imageCheck, scanStart } from "@/lib/jobs/definitions/scan";
import type { JobDefinition } from "@/lib/jobs/registry";
import { startWorker, type RunningWorker } from "@/lib/jobs/worker";
import { getLogger } from "@/lib/log";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { startFaultProxy, type FaultProxy } from "@/tests/support/fault-proxy";
import { startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { generateSigningKey } from "@/tests/support/registry-fixtures";
import { enqueueScan, pushSignedImages, saveSigningPolicy, seedPods, waitForScan, type SeededImage } from "@/tests/support/scan";

/**
 * A scan of N signed digests through a proxy that fails ~30 % of registry requests (5xx, resets,
 * timeouts, truncated bodies; seeded): a fault may make an image an error, never verified by accident
 * nor unsigned. With the faults gone, the next scan verifies every image.
 */
const N = Number(process.env.SIGNET_RELIABILITY_DIGESTS ?? 1000);
const SEED = 20261125;

describe("scan under registry faults", () => {
  let tdb: TestDatabase;
  let db: Db;
  let kube: KubeApiserver;
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let worker: RunningWorker;
  let images: SeededImage[];

  beforeAll(async () => {
    [tdb, kube, registry] = await Promise.all([createTestDatabase(), startKubeApiserver(), startRegistry()]);
    proxy = await startFaultProxy({ upstream: registry.url, rate: 0, seed: SEED });
    db = createDb(tdb.url, 4);
    Object.assign(process.env, {
      DATABASE_URL: tdb.url,
      KUBECONFIG: kube.kubeconfigPath,
      SIGNET_KUBE_CONTEXTS: "admin",
      SIGNET_REGISTRY_INSECURE: proxy.host,
      // short enough that the faults' unanswered requests cost little, long enough for a clean answer on a loaded machine
      SIGNET_REGISTRY_TIMEOUT_MS: "2000",
    });
    resetEnvCache();
    const key = generateSigningKey();
    // the payloads name the proxy: that is the registry host the pods and the verifier see
    images = await pushSignedImages(registry.url, proxy.host, key, N, { repos: 50 });
    await seedPods(kube, proxy.host, images, { perPod: 10, namespaces: 4 });
    await saveSigningPolicy(db, proxy.host, key.publicKeyPem);
    worker = await startWorker({
      databaseUrl: tdb.url,
      jobs: [scanStart, imageCheck] as unknown as JobDefinition[],
      log: getLogger(),
      heartbeatSeconds: 5,
      concurrency: 16,
    });
  }, 150_000);

  afterAll(async () => {
    await worker?.stop();
    await db?.$disconnect();
    await getDb().$disconnect().catch(() => undefined);
    await Promise.all([proxy?.stop(), kube?.stop(), registry?.stop()]);
    await tdb?.drop();
    delete process.env.SIGNET_REGISTRY_TIMEOUT_MS;
    resetEnvCache();
  });

  it("never records a fault as verified or unsigned, and verifies everything once the faults stop", async () => {
    proxy.setRate(0.3);
    const faulty = await waitForScan(db, await enqueueScan(db, tdb.url), 150_000);
    const stats = proxy.stats();
    // the faults really happened, of every kind
    expect(stats.requests).toBeGreaterThan(N * 2);
    for (const n of Object.values(stats.faults)) expect(n).toBeGreaterThan(0);
    expect(faulty.total).toBe(N);
    expect(faulty.done).toBe(N);

    const truth = new Map(images.map((i) => [i.digest, i]));
    const rows = await db.image.findMany({ include: { containers: { include: { verdicts: true } } } });
    expect(rows.length).toBe(N);
    const items = new Map((await db.scanItem.findMany({ where: { scanId: faulty.id } })).map((i) => [i.imageId, i]));
    let errors = 0;
    let partialVerified = 0;
    for (const img of rows) {
      expect(truth.has(img.digest)).toBe(true);
      const values = img.containers.flatMap((c) => c.verdicts.map((v) => v.value));
      expect(values.length).toBe(img.containers.length);
      // every image is signed by the trusted key: anything but verified or error is a fault taken for an answer
      for (const v of values) expect(["verified", "error"]).toContain(v);
      const item = items.get(img.id)!;
      if (img.discovery === "error" || item.status === "error") {
        errors++;
        expect(img.discovery).toBe("error");
        expect(item.status).toBe("error");
        // the error is counted as an error, whatever the verdict
        expect(item.outcome).toBe("error");
        // verified despite the error only on a signature that was fetched whole and checked (the
        // discovery error was in another artifact); otherwise the verdict says error
        for (const c of img.containers) {
          for (const v of c.verdicts) {
            if (v.value === "verified") {
              partialVerified++;
              expect((v.evidenceIds as string[]).length).toBeGreaterThan(0);
              expect((v.reasons as { code: string }[])[0]?.code).toBe("satisfied");
            } else {
              expect((v.reasons as { code: string }[])[0]?.code).toBe("discovery-error");
            }
          }
        }
      } else {
        expect(img.discovery).toBe("found");
        expect(values.every((v) => v === "verified")).toBe(true);
        expect(item).toMatchObject({ status: "done", outcome: "found" });
      }
    }
    expect((faulty.counts as { imagesError?: number }).imagesError).toBe(errors);
    expect(faulty.status).toBe(errors ? "partial" : "succeeded");
    // the faults did turn images into errors (the scan did not just retry its way through)
    expect(errors).toBeGreaterThan(0);

    proxy.setRate(0);
    const clean = await waitForScan(db, await enqueueScan(db, tdb.url), 120_000);
    expect(clean.status).toBe("succeeded");
    const values = await db.verdict.findMany({ select: { value: true } });
    expect(values.length).toBe(N);
    expect(values.filter((v) => v.value !== "verified")).toEqual([]);
  }, 300_000);
});
