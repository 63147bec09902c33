import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { podContainers } from "@/lib/kube/inventory";
import type { ClusterInventory, ContainerRecord, PodRecord, WorkloadRef } from "@/lib/kube/types";
import { keepInventory, persistInventory, persistInventoryChanges, persistRejections, storedListVersions, updateRunningContainers } from "@/lib/scan/persist-inventory";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";

const dig = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
const container = (name: string, repo: string, digest: string | null, kind: ContainerRecord["kind"] = "app"): ContainerRecord => ({
  kind,
  name,
  imageRef: `${repo}:v1`,
  image: { registry: "ghcr.io", repository: repo, tag: "v1", digest: null, name: `ghcr.io/${repo}` },
  digest,
  digestSource: digest ? "observed" : "unknown",
  digestOrigin: digest ? "status" : null,
  needsResolution: !digest,
  imageID: digest ? `ghcr.io/${repo}@${digest}` : null,
  observedRepository: null,
});
const pod = (ns: string, name: string, containers: ContainerRecord[], workload: WorkloadRef = { kind: "Deployment", name: "api" }): PodRecord => ({
  namespace: ns,
  uid: `uid-${ns}-${name}`,
  name,
  phase: "Running",
  nodeName: "n1",
  workload,
  containers,
  pullSecrets: [],
  serviceAccount: null,
});
const inventory = (pods: PodRecord[], at: Date, error: ClusterInventory["error"] = null): ClusterInventory => ({
  cluster: { name: "prod", source: "kubeconfig", context: "prod", server: "https://127.0.0.1:6443" },
  collectedAt: at,
  error,
  namespaces: error ? [] : [{ name: "pay", uid: "u1", labels: { env: "prod" } }, { name: "web", uid: "u2", labels: {} }],
  workloads: [],
  pods: error ? [] : pods,
  warnings: [],
  stats: { namespacePages: 1, podPages: 1, replicaSetPages: 1, jobPages: 1, pods: pods.length, containers: 0, distinctDigests: 0, containersNeedingResolution: 0, durationMs: 1 },
});

describe("persist a cluster inventory with set-based upserts", () => {
  let tdb: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("writes namespaces, workloads, pods, containers and images, then tracks changes and deletions", async () => {
    const t1 = new Date("2026-11-25T10:00:00Z");
    const r1 = await persistInventory(
      db,
      inventory(
        [
          pod("pay", "api-1", [container("app", "acme/api", dig(1)), container("init", "acme/migrate", dig(2), "init")]),
          pod("pay", "api-2", [container("app", "acme/api", dig(1))]),
          pod("web", "solo", [container("app", "acme/web", null)], { kind: "Pod", name: "solo" }),
        ],
        t1,
      ),
    );
    expect(r1).toMatchObject({ pods: 3, containers: 4, images: 2, deletedPods: 0 });
    expect(r1.imageIds).toHaveLength(2);
    expect(await db.workload.count()).toBe(2);
    const ns = await db.namespace.findFirstOrThrow({ where: { name: "pay" } });
    expect(ns.labels).toEqual({ env: "prod" });
    const solo = await db.container.findFirstOrThrow({ where: { pod: { name: "solo" } } });
    expect(solo).toMatchObject({ digest: null, digestSource: "unknown", imageId: null, imageRef: "acme/web:v1" });

    expect(r1.unchanged).toBe(false);
    // unchanged re-inventory (listed in another order): nothing reported as changed, no pod row written
    const podsBefore = await db.pod.findMany({ orderBy: { uid: "asc" } });
    const r2 = await persistInventory(
      db,
      inventory(
        [
          pod("web", "solo", [container("app", "acme/web", null)], { kind: "Pod", name: "solo" }),
          pod("pay", "api-2", [container("app", "acme/api", dig(1))]),
          pod("pay", "api-1", [container("app", "acme/api", dig(1)), container("init", "acme/migrate", dig(2), "init")]),
        ],
        new Date("2026-11-25T10:10:00Z"),
      ),
    );
    expect(r2.imageIds).toEqual([]);
    expect(r2).toMatchObject({ unchanged: true, pods: 3, containers: 4, deletedPods: 0 });
    expect(await db.pod.findMany({ orderBy: { uid: "asc" } })).toEqual(podsBefore);

    // api-2 gone, api-1's app moved to a new digest
    const t3 = new Date("2026-11-25T10:20:00Z");
    const r3 = await persistInventory(db, inventory([pod("pay", "api-1", [container("app", "acme/api", dig(3)), container("init", "acme/migrate", dig(2), "init")]), pod("web", "solo", [container("app", "acme/web", null)], { kind: "Pod", name: "solo" })], t3));
    expect(r3.deletedPods).toBe(1);
    expect(r3.unchanged).toBe(false);
    const newImage = await db.image.findFirstOrThrow({ where: { digest: dig(3) } });
    expect(r3.imageIds).toEqual([newImage.id]);
    expect((await db.pod.findFirstOrThrow({ where: { name: "api-2" } })).deletedAt).toEqual(t3);
    expect(await db.container.count({ where: { pod: { deletedAt: null } } })).toBe(3);
    // the references containers wrote, one row per image and reference (the image list's search by
    // tag): none for the container without a digest; the moved digest adds its own; none twice
    const refs = await db.imageReference.findMany({ include: { image: { select: { digest: true } } } });
    expect(refs.map((r) => `${r.image.digest.slice(-1)} ${r.ref}`).sort()).toEqual(["1 acme/api:v1", "2 acme/migrate:v1", "3 acme/api:v1"]);
    expect(refs.find((r) => r.image.digest === dig(1))!.firstSeen).toEqual(t1);
  });

  it("a pod whose image holds U+0000 (the API server accepts it) is stored with U+FFFD and never fails the cluster's inventory", async () => {
    const poisoned = podContainers({
      spec: { containers: [{ name: "app", image: "ghcr.io/acme/api\u0000:v1" }] },
      status: { containerStatuses: [{ name: "app", imageID: "ghcr.io/acme/api@sha256:\u0000" }] },
    });
    expect(poisoned.map((c) => [c.imageRef, c.imageID])).toEqual([["ghcr.io/acme/api\uFFFD:v1", "ghcr.io/acme/api@sha256:\uFFFD"]]);
    const at = new Date("2026-11-25T09:00:00Z");
    const r = await persistInventory(db, { ...inventory([pod("web", "poisoned", poisoned), pod("web", "fine", [container("app", "acme/fine", dig(9))])], at), cluster: { name: "tenant", source: "kubeconfig", context: "tenant", server: "https://127.0.0.1:6443" } });
    expect(r).toMatchObject({ pods: 2, containers: 2 });
    const stored = await db.container.findMany({ where: { pod: { cluster: { name: "tenant" } } }, orderBy: { imageRef: "asc" } });
    expect(stored.map((c) => c.imageRef)).toEqual(["acme/fine:v1", "ghcr.io/acme/api\uFFFD:v1"]);
    await db.cluster.delete({ where: { name: "tenant" } });
  });

  it("stores every field of pods and containers as listed, quotes, commas, backslashes, braces and non-ASCII included, and finds them unchanged on the next list", async () => {
    // the rows travel as one JSON document per statement (json_to_recordset): nothing of a value may be lost or re-escaped
    const odd = 'we"ird, {a}\\b \u00e9\u6f22\ud83d\ude00 NULL';
    const c = { ...container("app", "acme/odd", dig(20)), name: "c,1", imageRef: `acme/odd:${odd}` };
    const bare = { ...container("side", "acme/odd", null), imageRef: "acme/odd:latest" };
    const p: PodRecord = { ...pod("odd", "p,1", [c, bare], { kind: "Pod", name: "p,1" }), uid: `uid-${odd}`, phase: null, nodeName: odd, pullSecrets: ["reg,cred", odd, "NULL"], serviceAccount: odd };
    const q: PodRecord = { ...pod("odd", "p2", [container("app", "acme/odd", dig(20))]), phase: "Pending", nodeName: null, pullSecrets: [] };
    const inv = (at: Date): ClusterInventory => ({ ...inventory([p, q], at), cluster: { name: "odd", source: "kubeconfig", context: "odd", server: "https://127.0.0.1:6443" }, namespaces: [{ name: "odd", uid: "u9", labels: { k: odd } }] });
    const r1 = await persistInventory(db, inv(new Date("2026-11-25T09:10:00Z")));
    expect(r1).toMatchObject({ pods: 2, containers: 3, images: 1, written: { pods: 2, containers: 3 } });
    const stored = await db.pod.findMany({ where: { cluster: { name: "odd" } }, include: { containers: { orderBy: { name: "asc" } }, workload: true }, orderBy: { name: "asc" } });
    expect(stored.map((s) => ({ uid: s.uid, name: s.name, phase: s.phase, nodeName: s.nodeName, pullSecrets: s.pullSecrets, serviceAccount: s.serviceAccount, workload: s.workload && [s.workload.kind, s.workload.name] }))).toEqual([
      { uid: `uid-${odd}`, name: "p,1", phase: null, nodeName: odd, pullSecrets: ["reg,cred", odd, "NULL"], serviceAccount: odd, workload: ["Pod", "p,1"] },
      { uid: "uid-odd-p2", name: "p2", phase: "Pending", nodeName: null, pullSecrets: [], serviceAccount: null, workload: ["Deployment", "api"] },
    ]);
    expect(stored[0]!.containers.map((x) => [x.kind, x.name, x.imageRef, x.digest, x.digestSource, x.imageId !== null])).toEqual([
      ["app", "c,1", `acme/odd:${odd}`, dig(20), "observed", true],
      ["app", "side", "acme/odd:latest", null, "unknown", false],
    ]);
    const refs = await db.imageReference.findMany({ where: { image: { digest: dig(20) } }, orderBy: { ref: "asc" } });
    expect(refs.map((r) => r.ref)).toEqual(["acme/odd:v1", `acme/odd:${odd}`]);
    // compared row by row with what was stored: equal, so nothing is written again
    const r2 = await persistInventory(db, inv(new Date("2026-11-25T09:20:00Z")), { compareRows: true });
    expect(r2).toMatchObject({ unchanged: false, written: { pods: 0, containers: 0 }, deletedPods: 0 });
    await db.cluster.delete({ where: { name: "odd" } });
  });

  it("a failed inventory records the cluster error and keeps the stored inventory", async () => {
    const before = await db.pod.count({ where: { deletedAt: null } });
    const r = await persistInventory(db, inventory([], new Date("2026-11-25T10:30:00Z"), { kind: "unauthorized", message: "token expired", status: 401, at: new Date("2026-11-25T10:30:00Z") }));
    expect(r.pods).toBe(0);
    expect(await db.pod.count({ where: { deletedAt: null } })).toBe(before);
    const cluster = await db.cluster.findUniqueOrThrow({ where: { name: "prod" } });
    expect(cluster.lastError).toBe("unauthorized: token expired");
    expect(cluster.lastInventoryAt).toEqual(new Date("2026-11-25T10:20:00Z"));
  });

  it("upserts admission rejections by event uid", async () => {
    const rej = {
      cluster: "prod", namespace: "pay", workloadKind: "Deployment" as const, workloadName: "api", image: "ghcr.io/acme/api:v1", images: [],
      controller: "kyverno" as const, webhook: "validate.kyverno.svc-fail", policyName: "check-images", policyNames: [],
      message: "admission webhook \"validate.kyverno.svc-fail\" denied the request: …", eventUid: "ev-1",
      firstSeen: new Date("2026-11-25T09:00:00Z"), lastSeen: new Date("2026-11-25T09:05:00Z"), count: 3,
      involvedObject: { kind: "ReplicaSet", name: "api-123" }, eventApi: "core/v1" as const,
    };
    const base = { cluster: { name: "prod", source: "kubeconfig" as const, context: "prod", server: null }, collectedAt: new Date(), error: null, warnings: [] };
    await persistRejections(db, { ...base, rejections: [rej] });
    await persistRejections(db, { ...base, rejections: [{ ...rej, count: 5, lastSeen: new Date("2026-11-25T09:09:00Z") }] });
    const rows = await db.admissionRejection.findMany();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ count: 5, controller: "kyverno", policyName: "check-images", lastSeen: new Date("2026-11-25T09:09:00Z") });
  });
  it("writes a watch's changes with the same rows; a list taken earlier neither drops nor revives them", async () => {
    const cluster = { name: "watched", source: "kubeconfig" as const, context: "watched", server: "https://127.0.0.1:6443" };
    const t0 = new Date("2026-11-26T10:00:00Z");
    const base = { ...inventory([pod("pay", "a", [container("app", "acme/a", dig(11))])], t0), cluster };
    await persistInventory(db, base);
    const liveIn = (name: string) => db.pod.findFirstOrThrow({ where: { name, cluster: { name: "watched" } } });

    // a pod added by the watch (new image), and a label change of its namespace
    const t1 = new Date("2026-11-26T10:00:05Z");
    const added = await persistInventoryChanges(db, {
      cluster,
      collectedAt: t1,
      namespaces: [{ name: "pay", uid: "u1", labels: { env: "staging" } }],
      pods: [pod("pay", "b", [container("app", "acme/b", dig(12))])],
      deletedUids: [],
    });
    const imageB = await db.image.findFirstOrThrow({ where: { digest: dig(12) } });
    const imageA = await db.image.findFirstOrThrow({ where: { digest: dig(11) } });
    expect(added.imageIds).toEqual([imageB.id]);
    expect(added.namespaceImageIds.sort()).toEqual([imageA.id, imageB.id].sort());
    expect(imageB.runningContainers).toBe(1);
    // where each image runs, for the image list's cluster filter: kept with the count
    const watched = await db.cluster.findUniqueOrThrow({ where: { name: "watched" } });
    const runsIn = async (imageId: string) => (await db.image.findUniqueOrThrow({ where: { id: imageId } })).runningClusters;
    expect(imageB.runningClusters).toEqual([watched.id]);
    expect((await liveIn("b")).deletedAt).toBeNull();
    expect((await db.namespace.findFirstOrThrow({ where: { name: "pay", cluster: { name: "watched" } } })).labels).toEqual({ env: "staging" });
    expect((await db.cluster.findUniqueOrThrow({ where: { name: "watched" } })).inventoryHash).toBeNull();

    // a deleted pod leaves: marked deleted, its image no longer counted
    const t2 = new Date("2026-11-26T10:00:06Z");
    const gone = await persistInventoryChanges(db, { cluster, collectedAt: t2, namespaces: [], pods: [], deletedUids: [(await liveIn("a")).uid] });
    expect(gone).toMatchObject({ deletedPods: 1, imageIds: [] });
    expect(gone.touchedImageIds).toEqual([imageA.id]);
    expect((await liveIn("a")).deletedAt).toEqual(t2);
    expect((await db.image.findUniqueOrThrow({ where: { id: imageA.id } })).runningContainers).toBe(0);
    expect(await runsIn(imageA.id)).toEqual([]);
    expect(await runsIn(imageB.id)).toEqual([watched.id]);
    // the scan's recount of every image agrees
    await updateRunningContainers(db);
    expect(await runsIn(imageA.id)).toEqual([]);
    expect(await runsIn(imageB.id)).toEqual([watched.id]);

    // a full list taken before both changes (a scan's) is written after them: b stays, a stays deleted
    const stale = { ...inventory([pod("pay", "a", [container("app", "acme/a", dig(11))])], new Date("2026-11-26T10:00:04Z")), cluster };
    const r = await persistInventory(db, stale);
    expect(r.deletedPods).toBe(0);
    expect((await liveIn("b")).deletedAt).toBeNull();
    expect((await liveIn("a")).deletedAt).toEqual(t2);

    // a later list without b does remove it
    const later = { ...inventory([], new Date("2026-11-26T10:01:00Z")), cluster };
    expect((await persistInventory(db, later)).deletedPods).toBe(1);
    expect((await liveIn("b")).deletedAt).not.toBeNull();
    // and its image leaves the counts with it, without the scan's recount (a watch's relist has none)
    expect(await db.image.findUniqueOrThrow({ where: { id: imageB.id } })).toMatchObject({ runningContainers: 0, runningClusters: [] });
    // a list bringing it back counts it again
    await persistInventory(db, { ...inventory([pod("pay", "b2", [container("app", "acme/b", dig(12))])], new Date("2026-11-26T10:02:00Z")), cluster });
    expect(await db.image.findUniqueOrThrow({ where: { id: imageB.id } })).toMatchObject({ runningContainers: 1, runningClusters: [watched.id] });
  });

  it("stores where a complete inventory's lists were taken while its rows are that inventory; keepInventory writes only the inventory time and seen images", async () => {
    const cluster = { name: "lists", source: "kubeconfig" as const, context: "lists", server: "https://127.0.0.1:6443" };
    const versions = { server: cluster.server, namespaces: "10", pods: "12", replicasets: "11", jobs: "11" };
    const t1 = new Date("2026-11-25T10:00:00Z");
    const inv = { ...inventory([pod("pay", "l-1", [container("app", "acme/lists", dig(90))])], t1), cluster };
    await persistInventory(db, { ...inv, listVersions: versions });
    expect(await storedListVersions(db, "lists")).toEqual(versions);
    // the same rows again, from a source without list versions (a pod watch's snapshot): none stored
    await persistInventory(db, inv);
    expect(await storedListVersions(db, "lists")).toBeNull();
    await persistInventory(db, { ...inv, listVersions: versions });
    expect(await storedListVersions(db, "lists")).toEqual(versions);
    // a watch's write changes rows the lists did not see: the versions no longer describe them
    await persistInventoryChanges(db, { cluster, collectedAt: new Date("2026-11-25T10:01:00Z"), namespaces: [], pods: [pod("pay", "l-2", [container("app", "acme/lists", dig(90))])], deletedUids: [] });
    expect(await storedListVersions(db, "lists")).toBeNull();
    expect(await storedListVersions(db, "no-such-cluster")).toBeNull();

    const t3 = new Date("2026-11-25T10:05:00Z");
    const kept = await keepInventory(db, "lists", t3);
    expect(kept.pods).toBe(2);
    const row = await db.cluster.findUniqueOrThrow({ where: { name: "lists" } });
    expect(row.lastInventoryAt).toEqual(t3);
    const image = await db.image.findFirstOrThrow({ where: { repository: "acme/lists", digest: dig(90) } });
    expect(image.lastSeen).toEqual(t3);
    await expect(keepInventory(db, "no-such-cluster", t3)).rejects.toThrow(/no stored inventory/);
  });

  it("holds no image's row lock: a check updating an image it runs does not wait for an inventory, which marks it seen after", async () => {
    const cluster = { name: "locks", source: "kubeconfig" as const, context: "locks", server: "https://127.0.0.1:6443" };
    const t1 = new Date("2026-11-25T11:00:00Z");
    await persistInventory(db, { ...inventory([pod("pay", "k-1", [container("app", "acme/locks", dig(95))])], t1), cluster });
    const image = await db.image.findFirstOrThrow({ where: { repository: "acme/locks", digest: dig(95) } });
    // a check's transaction holds the image row (as storeEvidenceBatch or an evaluation does)
    const check = new pg.Client({ connectionString: tdb.url });
    await check.connect();
    try {
      await check.query("BEGIN");
      await check.query(`UPDATE "Image" SET "revalidatedAt" = now() WHERE id = $1`, [image.id]);
      // an inventory of a second pod running it (a new container: written in the inventory's transaction)
      const t2 = new Date("2026-11-25T11:05:00Z");
      const written = persistInventory(db, { ...inventory([pod("pay", "k-1", [container("app", "acme/locks", dig(95))]), pod("pay", "k-2", [container("app", "acme/locks", dig(95))])], t2), cluster });
      // the inventory's own rows commit while the check holds the image: it never locked the row
      const committed = await waitUntil(async () => (await db.container.count({ where: { imageId: image.id, pod: { deletedAt: null } } })) === 2, 10_000);
      expect(committed).toBe(true);
      await check.query("COMMIT");
      const r = await written;
      expect(r.imageIds).toEqual([image.id]);
      // then the image is marked seen and recounted
      expect(await db.image.findUniqueOrThrow({ where: { id: image.id } })).toMatchObject({ lastSeen: t2, runningContainers: 2 });
    } finally {
      await check.end();
    }
  });
});

async function waitUntil(ok: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
