import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getOverview } from "@/lib/data/coverage";
import { getCoverageTrend } from "@/lib/data/trend";
import { createDb, type Db } from "@/lib/db/client";
import { resetEnvCache } from "@/lib/env";
import { getLogger } from "@/lib/log";
import { createScan, startScan } from "@/lib/scan/pipeline";
import { createScanAdapters } from "@/lib/scan/real-adapters";
import { writeCoverageSnapshot } from "@/lib/scan/snapshot";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { savePolicy } from "@/tests/support/policies";

/**
 * What a scan that cannot look says: with the kubeconfig gone (the real adapters reading a file that
 * does not exist), a scan of zero clusters is `failed` with the reason, the clusters Signet knew are
 * marked with it, their containers count as stale (last known verdict), never verified, and the
 * overview and the trend say so.
 */
describe("scan status when Signet cannot look", () => {
  let tdb: TestDatabase;
  let db: Db;
  let dir: string;

  beforeAll(async () => {
    [tdb, dir] = await Promise.all([createTestDatabase(), fs.mkdtemp(path.join(os.tmpdir(), "signet-scan-status-"))]);
    db = createDb(tdb.url, 4);
    process.env.DATABASE_URL = tdb.url;
    process.env.KUBECONFIG = path.join(dir, "removed-kubeconfig");
    delete process.env.SIGNET_KUBE_CONTEXTS;
    resetEnvCache();
  }, 120_000);

  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("a scan of zero clusters (kubeconfig removed) fails with the reason; known clusters' containers become stale", async () => {
    // what an earlier scan left: one cluster, one running container verified by `release`
    const policy = await savePolicy(db, { scope: { images: ["registry.example/**"] }, authorities: [{ name: "ci", keyless: { identities: [{ issuer: "https://issuer.example", subject: "ci@example.test" }] } }] });
    const cluster = await db.cluster.create({ data: { name: "prod", lastInventoryAt: new Date(Date.now() - 3_600_000) } });
    const ns = await db.namespace.create({ data: { clusterId: cluster.id, name: "payments" } });
    const pod = await db.pod.create({ data: { clusterId: cluster.id, namespaceId: ns.id, uid: "u1", name: "api" } });
    const image = await db.image.create({ data: { registry: "registry.example", repository: "api", digest: `sha256:${"a".repeat(64)}`, discovery: "found", verdict: "verified" } });
    const container = await db.container.create({
      data: { podId: pod.id, imageId: image.id, kind: "app", name: "app", imageRef: "registry.example/api:v1", digest: image.digest, digestSource: "observed" },
    });
    const policyRow = await db.policy.findFirstOrThrow({ where: { name: "release" } });
    await db.verdict.create({ data: { containerId: container.id, policyId: policyRow.id, policyVersion: policy.version, value: "verified", lastKnownValue: "verified" } });
    await writeCoverageSnapshot(db, new Date(Date.now() - 60_000));
    expect((await getOverview(db)).fleet).toMatchObject({ containersVerified: 1, containersStale: 0 });

    const scanId = await createScan(db, { trigger: "test" });
    await startScan({ db, adapters: createScanAdapters(), log: getLogger(), enqueueImageCheck: async () => undefined }, scanId);

    const scan = await db.scan.findUniqueOrThrow({ where: { id: scanId } });
    expect(scan.status).toBe("failed");
    expect(scan.errors).toEqual([{ stage: "configuration", message: expect.stringContaining("removed-kubeconfig does not exist") }]);
    expect((await db.cluster.findUniqueOrThrow({ where: { name: "prod" } })).lastError).toMatch(/^configuration: .*removed-kubeconfig does not exist/);

    const o = await getOverview(db);
    expect(o.lastScan).toMatchObject({ status: "failed", errors: [{ stage: "configuration", message: expect.stringContaining("does not exist") }] });
    // the verdict is unchanged, but Signet cannot see the cluster: stale, not verified
    expect(o.fleet).toMatchObject({ containersTotal: 1, containersVerified: 0, containersStale: 1, containersStaleVerified: 1 });
    expect(o.clusters).toEqual([expect.objectContaining({ cluster: "prod", lastError: expect.stringContaining("does not exist"), containersStale: 1 })]);
    // no successful scan yet: the first-run checklist, whose cluster step names the problem
    expect(o.firstRun).toMatchObject({ cluster: false, clusterDetail: expect.stringContaining("does not exist"), policy: true, key: true, scan: false });

    // the trend: two points; the second is all stale and keeps the last known coverage (never a drop to 0 %)
    const trend = await getCoverageTrend(db, { range: "24h" });
    expect(trend.points.map((p) => [p.containersPct, p.stalePct])).toEqual([
      [100, 0],
      [100, 100],
    ]);
  });

  it("a snapshot of zero containers draws no trend point", async () => {
    await db.pod.updateMany({ data: { deletedAt: new Date() } });
    await writeCoverageSnapshot(db);
    const trend = await getCoverageTrend(db, { range: "24h" });
    expect(trend.points).toHaveLength(2);
    expect((await getCoverageTrend(db, { range: "24h", cluster: "prod" })).points).toHaveLength(2);
    expect((await getCoverageTrend(db, { range: "24h", cluster: "prod", namespace: "payments" })).points.map((p) => p.containersPct)).toEqual([100, 100]);
    expect((await getCoverageTrend(db, { range: "24h", cluster: "nowhere" })).points).toEqual([]);
  });
});
