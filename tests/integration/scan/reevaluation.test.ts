import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getOverview } from "@/lib/data/coverage";
import { createDb, type Db } from "@/lib/db/client";
import { resetEnvCache } from "@/lib/env";
import { getLogger } from "@/lib/log";
import { checkImages, createScan, startReevaluation, type PipelineContext } from "@/lib/scan/pipeline";
import { createScanAdapters } from "@/lib/scan/real-adapters";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { saveKeyPolicy } from "@/tests/support/policies";

/**
 * A policy change applied from stored evidence as a `reevaluate` run (the policy.reevaluate job's
 * work, its image checks run inline here): the overview says "re-evaluating" until the run's
 * snapshot is written, then every figure comes from it; an image whose last discovery failed keeps its
 * last known verdict (stale), one never discovered is left to its scan — and no registry is asked
 * (the only registry named does not exist: any request would turn the verdicts into errors).
 */
describe("re-evaluation from stored evidence", () => {
  let tdb: TestDatabase;
  let db: Db;
  let ctx: PipelineContext;
  const pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
  const saveRelease = (namespaces: string[]) =>
    saveKeyPolicy(db, pem, { images: ["registry.invalid/**"], namespaces });
  const run = async (reason: string) => {
    const scanId = await createScan(db, { trigger: reason, kind: "reevaluate" });
    const during = await getOverview(db);
    expect(during.reevaluation).toMatchObject({ id: scanId, trigger: reason, status: "queued" });
    expect(await startReevaluation(ctx, scanId)).not.toBeNull();
    // a retried job finds the run started and leaves it to the sweep
    expect(await startReevaluation(ctx, scanId)).toBeNull();
    return db.scan.findUniqueOrThrow({ where: { id: scanId } });
  };
  const verdicts = async (pod: string) =>
    (await db.verdict.findMany({ where: { container: { pod: { name: pod } } } })).map((v) => [v.value, v.lastKnownValue]);

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
    process.env.DATABASE_URL = tdb.url;
    resetEnvCache();
    ctx = { db, adapters: createScanAdapters(), log: getLogger(), enqueueImageCheck: async () => undefined };
    ctx.enqueueImageChecks = async (payloads) => {
      for (const p of payloads) await checkImages(ctx, p);
    };
    const cluster = await db.cluster.create({ data: { name: "prod", lastInventoryAt: new Date() } });
    for (const [ns, name, discovery] of [
      ["payments", "api", "none"],
      ["payments", "worker", "none"],
      ["tools", "debug", "none"],
      ["payments", "fresh", "pending"],
    ] as const) {
      const n = await db.namespace.upsert({ where: { clusterId_name: { clusterId: cluster.id, name: ns } }, create: { clusterId: cluster.id, name: ns }, update: {} });
      const pod = await db.pod.create({ data: { clusterId: cluster.id, namespaceId: n.id, uid: name, name } });
      const digest = `sha256:${Buffer.from(name).toString("hex").padEnd(64, "0")}`;
      const image = await db.image.create({ data: { registry: "registry.invalid", repository: `apps/${name}`, digest, discovery, discoveredAt: discovery === "none" ? new Date() : null } });
      await db.container.create({ data: { podId: pod.id, imageId: image.id, kind: "app", name: "app", imageRef: `registry.invalid/apps/${name}:v1`, digest, digestSource: "observed" } });
    }
  }, 120_000);

  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("a saved policy re-evaluates at once; the overview's figures and failures list come from the run's snapshot", async () => {
    await saveRelease(["payments", "tools"]);
    const first = await run("policy saved by test");
    expect(first).toMatchObject({ kind: "reevaluate", status: "succeeded", stage: "done", total: 4, done: 4 });
    expect(await verdicts("api")).toEqual([["unsigned", "unsigned"]]);
    // never discovered: left to its scan, no verdict invented
    expect(await verdicts("fresh")).toEqual([]);
    let o = await getOverview(db);
    expect(o.reevaluation).toBeNull();
    // (the image awaiting its scan has no verdict yet: unmatched until then)
    expect(o.fleet).toMatchObject({ containersTotal: 4, containersUnsigned: 3, containersError: 0, containersUnmatched: 1, containersStale: 0 });
    expect(o.newestFailures.map((f) => f.namespace).sort()).toEqual(["payments", "payments", "tools"]);

    // narrowed: tools no longer in scope → the tiles and the list agree at once (issue 15's contradiction)
    await saveRelease(["payments"]);
    expect((await run("policy narrowed by test")).status).toBe("succeeded");
    o = await getOverview(db);
    expect(o.fleet).toMatchObject({ containersUnsigned: 2, containersUnmatched: 2 });
    expect(o.newestFailures.map((f) => f.namespace)).toEqual(["payments", "payments"]);
    // a re-evaluation is not a scan
    expect(o.lastScan).toBeNull();
  });

  it("an image whose last discovery failed keeps its last known verdict as stale, with the reason", async () => {
    await db.image.updateMany({ where: { repository: "apps/api" }, data: { discovery: "error", discoveryError: "network: cannot reach registry.invalid: ECONNREFUSED" } });
    await saveRelease(["payments", "tools"]);
    expect((await run("policy widened by test")).status).toBe("partial");
    expect(await verdicts("api")).toEqual([["error", "unsigned"]]);
    expect(await verdicts("worker")).toEqual([["unsigned", "unsigned"]]);
    const o = await getOverview(db);
    expect(o.fleet).toMatchObject({ containersUnsigned: 2, containersStale: 1, containersStaleVerified: 0, containersError: 0 });
    expect(o.stale).toEqual([{ reason: "network: cannot reach registry.invalid: ECONNREFUSED", since: expect.any(String), containers: 1, lastKnown: { unsigned: 1 } }]);
    // the stale one is not listed among the newest failures (it is grouped above them)
    expect(o.newestFailures.map((f) => f.image).sort()).toEqual(["registry.invalid/apps/debug:v1", "registry.invalid/apps/worker:v1"]);
  });
});
