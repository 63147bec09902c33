import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUCKETS, bucketCounts, type Bucket } from "@/lib/coverage/compute";
import { listContainersInBuckets } from "@/lib/data/drilldown";
import { createDb, type Db } from "@/lib/db/client";
import { containerListQuery } from "@/lib/dto/drilldown";
import { writeCoverageSnapshot } from "@/lib/scan/snapshot";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { savePolicy } from "@/tests/support/policies";

/**
 * The containers list behind a count lists what the count counted (ADR 0026): each running
 * container's bucket is stored with the coverage snapshot the counts are from, so for every bucket and
 * scope the figure equals the rows — after a container moves to another bucket, after one starts or
 * stops, before and after the next snapshot. Storing the buckets changes no input of the snapshot
 * (ADR 0023) nor of an image's evaluation (ADR 0027), and a snapshot of an unchanged fleet rewrites none.
 * The list by verdict under a policy is read now, as the policies' counts are: it counts what it lists.
 */
describe("containers list by bucket: the snapshot's buckets", () => {
  let tdb: TestDatabase;
  let db: Db;
  let policyId: string;
  let policyVersion: number;
  let clusterId: string;
  const namespaces: Record<string, string> = {};
  const containers: Record<string, string> = {};
  const verdicts: Record<string, string> = {};

  const at = (s: number) => new Date(Date.parse("2026-12-07T10:00:00Z") + s * 1000);

  /** A running container in namespace `ns` whose verdict under the policy is `value` (none: no policy applies). */
  async function addContainer(ns: string, name: string, value: "verified" | "failed" | "unsigned" | "error" | null, lastKnown: "verified" | null = null) {
    const pod = await db.pod.create({ data: { clusterId, namespaceId: namespaces[ns]!, uid: `uid-${name}`, name } });
    const digest = `sha256:${Buffer.from(name).toString("hex").padEnd(64, "0").slice(0, 64)}`;
    const image = await db.image.create({ data: { registry: "registry.example", repository: name, digest, discovery: "found" } });
    const c = await db.container.create({ data: { podId: pod.id, imageId: image.id, kind: "app", name: "app", imageRef: `registry.example/${name}:1`, digest, digestSource: "observed" } });
    containers[name] = c.id;
    if (value) {
      const v = await db.verdict.create({ data: { containerId: c.id, policyId, policyVersion, value, lastKnownValue: value === "error" ? lastKnown : value } });
      verdicts[name] = v.id;
    }
    return pod.id;
  }

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
    const policy = await savePolicy(db, { authorities: [{ name: "ci", keyless: { identities: [{ issuer: "https://issuer.example", subject: "ci@example.test" }] } }] });
    policyVersion = policy.version;
    policyId = (await db.policy.findFirstOrThrow({ where: { name: "release" } })).id;
    clusterId = (await db.cluster.create({ data: { name: "prod" } })).id;
    for (const ns of ["pay", "web"]) namespaces[ns] = (await db.namespace.create({ data: { clusterId, name: ns } })).id;
    // a second cluster: a cluster's list is not the fleet's
    const edge = await db.cluster.create({ data: { name: "edge" } });
    namespaces["edge/pay"] = (await db.namespace.create({ data: { clusterId: edge.id, name: "pay" } })).id;
    await addContainer("pay", "pay-1", "verified");
    await addContainer("pay", "pay-2", "verified");
    await addContainer("pay", "pay-3", "unsigned");
    await addContainer("pay", "pay-4", "error", "verified"); // stale: its last known verdict
    await addContainer("web", "web-1", "failed");
    await addContainer("web", "web-2", "error"); // unknown
    await addContainer("web", "web-3", null); // no policy applies
    const edgePod = await db.pod.create({ data: { clusterId: edge.id, namespaceId: namespaces["edge/pay"]!, uid: "uid-edge", name: "edge-1" } });
    const edgeContainer = await db.container.create({ data: { podId: edgePod.id, kind: "app", name: "app", imageRef: "registry.example/edge:1", digest: `sha256:${"e".repeat(64)}` } });
    await db.verdict.create({ data: { containerId: edgeContainer.id, policyId, policyVersion, value: "verified", lastKnownValue: "verified" } });
  }, 120_000);

  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  /** Every container of a list, read in pages of two (ids, each once). */
  async function listed(bucket: string, scope: { cluster?: string; namespace?: string }): Promise<{ total: number; names: string[]; asOf: string | null }> {
    const ids = new Set<string>();
    const names: string[] = [];
    for (let page = 1; ; page++) {
      const list = await listContainersInBuckets(db, containerListQuery.parse({ bucket, ...scope, pageSize: "2", page: String(page) }));
      for (const r of list.rows) {
        expect(ids.has(r.id)).toBe(false);
        ids.add(r.id);
        names.push(r.pod);
      }
      if (list.rows.length < 2) return { total: list.total, names: names.sort(), asOf: list.asOf };
    }
  }

  /** Per scope of the latest snapshot (fleet, each cluster, each namespace): its figure of each bucket, and the rows each bucket's list lists. */
  async function figuresAndRows() {
    const latest = await db.coverageSnapshot.findFirstOrThrow({ where: { scope: "fleet" }, orderBy: { takenAt: "desc" } });
    const rows = await db.coverageSnapshot.findMany({ where: { takenAt: latest.takenAt }, include: { cluster: { select: { name: true } } } });
    const out: Record<string, { figures: Record<Bucket, number>; listed: Record<Bucket, number>; all: number; allListed: number }> = {};
    for (const r of rows) {
      const scope = { cluster: r.cluster?.name, namespace: r.namespace ?? undefined };
      const listedCounts = {} as Record<Bucket, number>;
      for (const b of BUCKETS) {
        const l = await listed(b, scope);
        expect(l.names).toHaveLength(l.total);
        expect(l.asOf).toBe(latest.takenAt.toISOString());
        listedCounts[b] = l.total;
      }
      const all = await listed(BUCKETS.join(","), scope);
      out[[r.cluster?.name ?? "fleet", r.namespace].filter(Boolean).join("/")] = { figures: bucketCounts(r), listed: listedCounts, all: r.containersTotal, allListed: all.names.length };
    }
    return out;
  }

  /** Figure = rows, in every scope and bucket. */
  async function expectAgreement(scopes: number) {
    const all = await figuresAndRows();
    expect(Object.keys(all)).toHaveLength(scopes);
    for (const [scope, x] of Object.entries(all)) expect([scope, x.listed, x.allListed]).toEqual([scope, x.figures, x.all]);
    return all;
  }

  it("before any snapshot lists nothing; after one, every bucket's list of every scope is its figure", async () => {
    expect(await listed("verified", {})).toEqual({ total: 0, names: [], asOf: null });
    await writeCoverageSnapshot(db, at(0));
    // fleet, two clusters, three namespaces
    const all = await expectAgreement(6);
    expect(all.fleet!.figures).toEqual({ verified: 3, failed: 1, unsigned: 1, error: 1, stale: 1, unmatched: 1 });
    expect((await listed("verified", { cluster: "prod" })).names).toEqual(["pay-1", "pay-2"]);
    expect((await listed("verified", { namespace: "pay" })).names).toEqual(["edge-1", "pay-1", "pay-2"]);
    expect((await listed("verified", { cluster: "edge", namespace: "pay" })).names).toEqual(["edge-1"]);
    expect((await listed("stale,error", { cluster: "prod" })).names).toEqual(["pay-4", "web-2"]);
  });

  it("storing the buckets changes no input of the next snapshot nor of an image's evaluation, and an unchanged fleet rewrites none", async () => {
    const inventoryChanges = await db.imageInventoryChange.count();
    const stored = async () => (await db.$queryRaw<{ id: string; x: string }[]>`SELECT "containerId"::text AS id, xmin::text AS x FROM "ContainerBucket" ORDER BY 1`).map((r) => `${r.id}:${r.x}`);
    const before = await stored();
    expect(before).toHaveLength(8);
    // nothing changed: the latest snapshot is copied (writing the buckets recorded no change)
    expect(await writeCoverageSnapshot(db, at(10))).toMatchObject({ reused: true });
    // a change of an input that moves no container: every row read again, no bucket rewritten
    await db.verdict.update({ where: { id: verdicts["pay-3"]! }, data: { reasons: [{ code: "unsigned", message: "no signature" }] } });
    expect(await writeCoverageSnapshot(db, at(20))).toMatchObject({ reused: false });
    expect(await stored()).toEqual(before);
    expect(await db.coverageInputChange.count()).toBe(0);
    expect(await db.imageInventoryChange.count()).toBe(inventoryChanges);
    expect(await writeCoverageSnapshot(db, at(30))).toMatchObject({ reused: true });
  });

  it("a container that moves to another bucket, starts or stops is in the figure and the list from the next snapshot on, in both at once", async () => {
    // pay-1 fails now, a new container starts, web-1's pod is gone: none of it is in the latest snapshot
    await db.verdict.update({ where: { id: verdicts["pay-1"]! }, data: { value: "failed", lastKnownValue: "failed" } });
    await addContainer("pay", "pay-5", "unsigned");
    await db.pod.updateMany({ where: { name: "web-1" }, data: { deletedAt: at(35) } });
    const before = await expectAgreement(6);
    expect(before.fleet!.figures).toEqual({ verified: 3, failed: 1, unsigned: 1, error: 1, stale: 1, unmatched: 1 });
    expect((await listed("verified", { cluster: "prod", namespace: "pay" })).names).toEqual(["pay-1", "pay-2"]);
    expect((await listed(BUCKETS.join(","), {})).names).not.toContain("pay-5");
    expect((await listed("failed", {})).names).toEqual(["web-1"]);

    await writeCoverageSnapshot(db, at(40));
    const after = await expectAgreement(6);
    expect(after.fleet!.figures).toEqual({ verified: 2, failed: 1, unsigned: 2, error: 1, stale: 1, unmatched: 1 });
    expect((await listed("failed", {})).names).toEqual(["pay-1"]);
    expect((await listed("unsigned", { cluster: "prod", namespace: "pay" })).names).toEqual(["pay-3", "pay-5"]);
    expect((await listed(BUCKETS.join(","), { cluster: "prod", namespace: "web" })).names).toEqual(["web-2", "web-3"]);
    expect(await db.containerBucket.count()).toBe(8);

    // the cluster cannot be listed: every container there is stale, but web-2 (nothing known: unknown)
    await db.cluster.update({ where: { id: clusterId }, data: { lastError: "connection refused", lastErrorAt: at(45) } });
    await writeCoverageSnapshot(db, at(50));
    await expectAgreement(6);
    expect((await listed("stale", { cluster: "prod" })).names).toEqual(["pay-1", "pay-2", "pay-3", "pay-4", "pay-5"]);
    expect((await listed("error,unmatched", { cluster: "prod" })).names).toEqual(["web-2", "web-3"]);
  });

  /**
   * A policy's figure (its running containers with a verdict of these values, read now through their
   * pods, as lib/data/policies and drift count them) = the rows of its list, in every scope, each row once.
   */
  async function expectPolicyFigureIsRows() {
    const scopes = [{}, { cluster: "prod" }, { cluster: "edge" }, { cluster: "prod", namespace: "pay" }, { cluster: "prod", namespace: "web" }, { namespace: "pay" }];
    for (const scope of scopes)
      for (const verdict of ["verified", "failed,unsigned,error", "error"]) {
        // read now, not as of a snapshot: the running containers with such a verdict (web-1's pod is gone)
        const counted = await db.verdict.count({
          where: {
            policyId,
            value: { in: verdict.split(",") as ("verified" | "failed" | "unsigned" | "error")[] },
            container: { pod: { deletedAt: null, ...("cluster" in scope ? { cluster: { name: scope.cluster } } : {}), ...("namespace" in scope ? { namespace: { name: scope.namespace } } : {}) } },
          },
        });
        const ids = new Set<string>();
        let total = -1;
        for (let page = 1; ; page++) {
          const list = await listContainersInBuckets(db, containerListQuery.parse({ policy: policyId, verdict, ...scope, pageSize: "2", page: String(page) }));
          list.rows.forEach((r) => ids.add(r.id));
          total = list.total;
          expect(list.asOf).toBeNull();
          if (list.rows.length < 2) break;
        }
        expect([scope, verdict, total, ids.size]).toEqual([scope, verdict, counted, counted]);
      }
  }

  it("a policy's verdicts: the list by verdict counts what it lists, now, in the fleet, a cluster and a namespace", async () => {
    await expectPolicyFigureIsRows();
    const names = async (verdict: string, scope: Record<string, string>) =>
      (await listContainersInBuckets(db, containerListQuery.parse({ policy: policyId, verdict, ...scope }))).rows.map((r) => `${r.cluster}/${r.namespace}/${r.pod}`).sort();
    expect(await names("verified", {})).toEqual(["edge/pay/edge-1", "prod/pay/pay-2"]);
    expect(await names("verified", { namespace: "pay" })).toEqual(["edge/pay/edge-1", "prod/pay/pay-2"]);
    expect(await names("verified", { cluster: "edge", namespace: "pay" })).toEqual(["edge/pay/edge-1"]);
    expect(await names("failed,unsigned,error", { cluster: "prod" })).toEqual(["prod/pay/pay-1", "prod/pay/pay-3", "prod/pay/pay-4", "prod/pay/pay-5", "prod/web/web-2"]);
  });
  it("each stale group's count opens exactly its containers (by the reason the group names)", async () => {
    // prod cannot be listed (the test above): its five stale containers share that reason; edge-1's
    // registry cannot be read now: stale by its error's reason
    const edge = await db.verdict.findFirstOrThrow({ where: { container: { pod: { name: "edge-1" } } } });
    await db.verdict.update({ where: { id: edge.id }, data: { value: "error", lastKnownValue: "verified", reasons: [{ code: "evidence-error", message: "registry.example: connection reset" }] } });
    await writeCoverageSnapshot(db, at(60));
    const latest = await db.coverageSnapshot.findFirstOrThrow({ where: { scope: "fleet" }, orderBy: { takenAt: "desc" } });
    const groups = latest.staleGroups as { reason: string; containers: number }[];
    expect(groups.map((g) => [g.reason, g.containers])).toEqual([
      ["connection refused", 5],
      ["registry.example: connection reset", 1],
    ]);
    for (const g of groups) {
      const list = await listContainersInBuckets(db, containerListQuery.parse({ bucket: "stale", reason: g.reason, pageSize: "50" }));
      expect(list.total).toBe(g.containers);
      expect(list.rows).toHaveLength(g.containers);
    }
    const byReason = async (reason: string) => (await listContainersInBuckets(db, containerListQuery.parse({ bucket: "stale", reason }))).rows.map((r) => r.pod).sort();
    expect(await byReason("registry.example: connection reset")).toEqual(["edge-1"]);
    expect(await byReason("connection refused")).toEqual(["pay-1", "pay-2", "pay-3", "pay-4", "pay-5"]);
    expect(await byReason("no such reason")).toEqual([]);
    // a reason is a stale group's: with any other bucket the query is refused
    expect(containerListQuery.safeParse({ bucket: "verified", reason: "connection refused" }).success).toBe(false);
  });

  it("a policy's list in a cluster or namespace reads each verdict's stored namespace: the database keeps it its pod's, so figure = rows after a move", async () => {
    /** Verdicts whose stored namespace is not their container's pod's (none, whatever was written). */
    const astray = () => db.$queryRaw<{ id: string }[]>`
      SELECT v.id::text FROM "Verdict" v JOIN "Container" c ON c.id = v."containerId" JOIN "Pod" p ON p.id = c."podId"
      WHERE v."namespaceId" IS DISTINCT FROM p."namespaceId"`;
    expect(await astray()).toEqual([]);
    const names = async (verdict: string, scope: Record<string, string>) =>
      (await listContainersInBuckets(db, containerListQuery.parse({ policy: policyId, verdict, ...scope }))).rows.map((r) => `${r.cluster}/${r.namespace}/${r.pod}`).sort();
    expect(await names("unsigned", { cluster: "prod", namespace: "pay" })).toEqual(["prod/pay/pay-3", "prod/pay/pay-5"]);
    // pay-3's pod moves to web; pay-2's container to a pod of the other cluster (neither is done by
    // Kubernetes — a pod's uid is its key, a container's pod is in its key — but the database follows)
    await db.pod.updateMany({ where: { name: "pay-3" }, data: { namespaceId: namespaces["web"]! } });
    const edgePod = await db.pod.create({ data: { clusterId: (await db.cluster.findUniqueOrThrow({ where: { name: "edge" } })).id, namespaceId: namespaces["edge/pay"]!, uid: "uid-edge-2", name: "edge-2" } });
    await db.container.update({ where: { id: containers["pay-2"]! }, data: { podId: edgePod.id } });
    // a verdict written without its namespace gets its pod's; one updated to another, its pod's all the same
    await db.$executeRaw`INSERT INTO "Verdict" (id, "containerId", "policyId", "policyVersion", value)
      VALUES (gen_random_uuid(), ${containers["web-3"]!}::uuid, ${policyId}::uuid, ${policyVersion}, 'unsigned')`;
    await db.$executeRaw`UPDATE "Verdict" SET "namespaceId" = ${namespaces["edge/pay"]!}::uuid WHERE "containerId" = ${containers["web-3"]!}::uuid`;
    expect(await astray()).toEqual([]);
    await expectPolicyFigureIsRows();
    expect(await names("unsigned", { cluster: "prod", namespace: "pay" })).toEqual(["prod/pay/pay-5"]);
    expect(await names("unsigned", { cluster: "prod", namespace: "web" })).toEqual(["prod/web/pay-3", "prod/web/web-3"]);
    expect(await names("verified", { cluster: "edge" })).toEqual(["edge/pay/edge-2"]);
    expect(await names("verified", { cluster: "prod" })).toEqual([]);
  });
});
