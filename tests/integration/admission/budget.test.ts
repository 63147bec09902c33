import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdmissionAnswerer } from "@/lib/admission/answer";
import { createDb, type Db } from "@/lib/db/client";
import { resetEnvCache } from "@/lib/env";
import { createScanAdapters } from "@/lib/scan/real-adapters";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { startFaultProxy, type FaultProxy } from "@/tests/support/fault-proxy";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { generateSigningKey, pushSignedImage } from "@/tests/support/registry-fixtures";
import { saveSigningPolicy } from "@/tests/support/scan";

/**
 * The webhook's budget with a registry that does not answer (a real registry behind a proxy whose
 * responses never come): past the budget the configured failure policy answers — Fail denies, Ignore
 * admits with a warning — instead of the API server's deadline; once the registry answers again, the
 * verification runs within the budget and its result is stored for the scan.
 */
let tdb: TestDatabase;
let db: Db;
let registry: TestRegistry;
let proxy: FaultProxy;
let image: string;
let digest: string;

beforeAll(async () => {
  [tdb, registry] = await Promise.all([createTestDatabase(), startRegistry()]);
  proxy = await startFaultProxy({ upstream: registry.url, rate: 1, seed: 7, faults: ["timeout"] });
  db = createDb(tdb.url, 4);
  process.env.DATABASE_URL = tdb.url;
  process.env.SIGNET_REGISTRY_INSECURE = proxy.host;
  process.env.SIGNET_REGISTRY_TIMEOUT_MS = "1500";
  resetEnvCache();
  const key = generateSigningKey();
  digest = (await pushSignedImage(registry.url, proxy.host, "apps/slow", key)).digest;
  image = `${proxy.host}/apps/slow@${digest}`;
  await saveSigningPolicy(db, proxy.host, key.publicKeyPem);
});

afterAll(async () => {
  delete process.env.SIGNET_REGISTRY_TIMEOUT_MS;
  resetEnvCache();
  await proxy?.stop();
  await registry?.stop();
  await db?.$disconnect();
  await tdb?.drop();
});

const answerer = (failurePolicy: "Fail" | "Ignore") =>
  new AdmissionAnswerer({ db, adapters: createScanAdapters(), cluster: "test", budgetMs: 300, failurePolicy, evidenceMaxAgeMs: 3_600_000 });

describe("the verification budget", () => {
  it("answers with the failure policy when the registry does not answer within the budget", async () => {
    const fail = answerer("Fail");
    const denied = await fail.answer("prod", [{ name: "app", kind: "app", image }]);
    expect(denied).toMatchObject({ decision: "timed-out", allowed: false });
    expect(denied.message).toContain("within its 300 ms budget (failure policy Fail)");

    const ignore = answerer("Ignore");
    const admitted = await ignore.answer("prod", [{ name: "app", kind: "app", image }]);
    expect(admitted).toMatchObject({ decision: "timed-out", allowed: true });
    expect(admitted.warnings[0]).toContain("failure policy Ignore");
    // the verifications that outran the budget finish in the background (the registry's error recorded)
    await Promise.all([fail.close(), ignore.close()]);
    expect(proxy.stats().faults.timeout).toBeGreaterThan(0);
  });

  it("verifies within the budget once the registry answers, and stores the result for the scan", async () => {
    proxy.setRate(0);
    const a = new AdmissionAnswerer({ db, adapters: createScanAdapters(), cluster: "test", budgetMs: 8000, failurePolicy: "Fail", evidenceMaxAgeMs: 3_600_000 });
    const r = await a.answer("prod", [{ name: "app", kind: "app", image }]);
    expect(r).toMatchObject({ decision: "admit", allowed: true, images: [{ digest, source: "registry", outcomes: [{ policy: "release", verdict: "verified" }] }] });
    const stored = await db.image.findUniqueOrThrow({ where: { registry_repository_digest: { registry: proxy.host, repository: "apps/slow", digest } }, include: { evidence: true } });
    expect(stored.discovery).toBe("found");
    expect(stored.evidence.filter((e) => e.status === "valid")).toHaveLength(1);
    await a.close();
  });
});
