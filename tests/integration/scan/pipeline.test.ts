import fs from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditChain } from "@/lib/audit/store";
import { createDb, getDb, type Db } from "@/lib/db/client";
import { resetEnvCache } from "@/lib/env";
import { sendJob } from "@/lib/jobs/boss";
import { diagnosticsPing } from "@/lib/jobs/definitions/diagnostics";
import { imageCheck, reevaluateAll, scanStart } from "@/lib/jobs/definitions/scan";
import type { JobDefinition } from "@/lib/jobs/registry";
import { startWorker, type RunningWorker } from "@/lib/jobs/worker";
import { getLogger } from "@/lib/log";
import { getOverview } from "@/lib/data/coverage";
import { listScanItems } from "@/lib/data/scans";
import { scanItemsQuery, SETTLED_ITEMS } from "@/lib/dto/drilldown";
import { createScan } from "@/lib/scan/pipeline";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { createNamespace, createPod, setPodStatus, startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { createCosignWorkspace, cosignAttest, cosignSign, generateExtraKey, pushRandomImage, type CosignWorkspace } from "@/tests/support/registry-cosign";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { saveKeyPolicy } from "@/tests/support/policies";
import { sendOnce, waitForScan } from "@/tests/support/scan";

/**
 * The whole pipeline on real parts: a kube-apiserver with pods, a registry holding images signed by
 * real cosign (classic and v3 bundle format, an attestation, a foreign key, an unsigned image), a
 * worker processing the pg-boss jobs, and real PostgreSQL.
 */
describe("scan pipeline end to end", () => {
  let tdb: TestDatabase;
  let db: Db;
  let kube: KubeApiserver;
  let registry: TestRegistry;
  let ws: CosignWorkspace;
  let worker: RunningWorker;
  const digests: Record<string, string> = {};
  let pub = "";
  /** The `release` policy over every apps image, or only in the given namespaces. */
  const saveRelease = (namespaces?: string[]) =>
    saveKeyPolicy(db, pub, { images: [`${registry.host}/apps/**`], ...(namespaces ? { namespaces } : {}) });

  beforeAll(async () => {
    // info: the registry logs every request it answers (the re-evaluation must cause none)
    [tdb, kube, registry, ws] = await Promise.all([createTestDatabase(), startKubeApiserver(), startRegistry({ logLevel: "info" }), createCosignWorkspace()]);
    db = createDb(tdb.url, 4);
    process.env.DATABASE_URL = tdb.url;
    process.env.KUBECONFIG = kube.kubeconfigPath;
    process.env.SIGNET_KUBE_CONTEXTS = "admin";
    process.env.SIGNET_REGISTRY_INSECURE = registry.host;
    // every scan here asks the registry (no reuse within the revalidation bound: revalidation-bound.test.ts)
    process.env.SIGNET_REVALIDATE_SECONDS = "0";
    resetEnvCache();

    const h = registry.host;
    const [classic, bundle, attested, foreign, unsigned] = await Promise.all(
      ["classic", "bundle", "attested", "foreign", "unsigned"].map((r) => pushRandomImage(ws, h, `apps/${r}`, "v1")),
    );
    Object.assign(digests, { classic, bundle, attested, foreign, unsigned });
    const otherKey = await generateExtraKey(ws, "other");
    await cosignSign(ws, `${h}/apps/classic@${classic}`, { bundle: false });
    await cosignSign(ws, `${h}/apps/bundle@${bundle}`, { bundle: true });
    await cosignSign(ws, `${h}/apps/attested@${attested}`, { bundle: false });
    await cosignAttest(ws, `${h}/apps/attested@${attested}`, { bundle: false });
    await cosignSign(ws, `${h}/apps/foreign@${foreign}`, { bundle: false, key: otherKey });

    await createNamespace(kube, "payments", { env: "prod" });
    await createNamespace(kube, "tools", { env: "dev" });
    const pods: [string, string, string][] = [
      ["payments", "classic", classic!],
      ["payments", "bundle", bundle!],
      ["payments", "attested", attested!],
      ["payments", "foreign", foreign!],
      ["tools", "unsigned", unsigned!],
    ];
    for (const [ns, name, digest] of pods) {
      await createPod(kube, { namespace: ns, name, containers: [{ name: "app", image: `${h}/apps/${name}:v1` }] });
      await setPodStatus(kube, ns, name, { containers: [{ name: "app", imageID: `${h}/apps/${name}@${digest}` }] });
    }
    // a pod whose runtime has not reported a digest: the tag is resolved through the registry
    await createPod(kube, { namespace: "tools", name: "pending", containers: [{ name: "app", image: `${h}/apps/classic:v1` }] });

    pub = await fs.readFile(ws.pub, "utf8");
    await saveRelease();
    // the tick (cron) is left out: the test drives scans itself
    worker = await startWorker({
      databaseUrl: tdb.url,
      jobs: [diagnosticsPing, scanStart, imageCheck, reevaluateAll] as unknown as JobDefinition[],
      log: getLogger(),
      heartbeatSeconds: 5,
      concurrency: 4,
    });
  }, 240_000);

  afterAll(async () => {
    await worker?.stop();
    await db?.$disconnect();
    await getDb().$disconnect().catch(() => undefined);
    await Promise.all([kube?.stop(), registry?.stop(), ws?.cleanup()]);
    await tdb?.drop();
  });

  /** A policy change as the web records it (a `reevaluate` scan), then its policy.reevaluate job, to the end. */
  const runReevaluation = async (reason: string, beforeJob?: (scanId: string) => Promise<void>) => {
    const scanId = await createScan(db, { trigger: reason, kind: "reevaluate" });
    await beforeJob?.(scanId);
    await sendOnce(tdb.url, (boss) => sendJob(boss, reevaluateAll, { reason, scanId }));
    return waitForScan(db, scanId, 120_000);
  };
  const registryRequests = () => registry.logs().split("\n").filter((l) => l.includes("response completed")).length;

  const runScan = async () => {
    const scanId = await createScan(db, { trigger: "test" });
    await sendOnce(tdb.url, (boss) => sendJob(boss, scanStart, { scanId }));
    return waitForScan(db, scanId, 120_000);
  };

  /** Every page (of 2) of a scan's items of these statuses (the scan page's list), each image once. */
  const itemsListed = async (scanId: string, status?: string) => {
    const first = (await listScanItems(db, scanId, scanItemsQuery.parse({ status, pageSize: "2" })))!;
    const rows = [...first.rows];
    for (let page = 2; page <= Math.ceil(first.total / 2); page++) rows.push(...(await listScanItems(db, scanId, scanItemsQuery.parse({ status, pageSize: "2", page: String(page) })))!.rows);
    expect(new Set(rows.map((r) => r.imageId)).size).toBe(rows.length);
    return { first, rows };
  };
  /** A scan's progress "done / total images" opens its items: done = the settled rows (done or error), total = every row. */
  const expectProgressListed = async (scan: { id: string; done: number; total: number }) => {
    const settled = await itemsListed(scan.id, SETTLED_ITEMS.join(","));
    const all = await itemsListed(scan.id);
    expect([settled.first.scan.done, settled.first.scan.total]).toEqual([scan.done, scan.total]);
    expect([settled.first.total, settled.rows.length, all.first.total, all.rows.length]).toEqual([scan.done, scan.done, scan.total, scan.total]);
    expect(settled.rows.every((r) => r.status !== "pending")).toBe(true);
    for (const status of ["pending", "done", "error"] as const) {
      const one = await itemsListed(scan.id, status);
      expect([one.first.total, one.rows.length]).toEqual([all.first.counts[status], all.first.counts[status]]);
      expect(one.rows.every((r) => r.status === status)).toBe(true);
    }
    return all;
  };

  const verdictOf = async (pod: string) => {
    const v = await db.verdict.findMany({ where: { container: { pod: { name: pod, deletedAt: null } } }, include: { policy: true } });
    return v.map((x) => x.value);
  };

  it("inventories, discovers, verifies and evaluates every running image", async () => {
    const scan = await runScan();
    expect(scan.status).toBe("succeeded");
    expect(scan.total).toBe(5);
    expect(scan.done).toBe(5);
    // every image's running containers and clusters, as the scan counted them once after its inventory
    // (a cluster's write leaves the recount to it), are the live containers' own
    const miscounted = await db.$queryRaw<{ id: string }[]>`
      SELECT i.id FROM "Image" i LEFT JOIN (
        SELECT c."imageId", count(*)::int AS n, array_agg(DISTINCT p."clusterId" ORDER BY p."clusterId") AS clusters
        FROM "Container" c JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL GROUP BY c."imageId") live ON live."imageId" = i.id
      WHERE i."runningContainers" <> COALESCE(live.n, 0) OR i."runningClusters" <> COALESCE(live.clusters, '{}')`;
    expect(miscounted).toEqual([]);
    expect(await db.image.count({ where: { runningContainers: { gt: 0 } } })).toBe(5);
    // the inventory tables were analyzed once written, before the checks read them (lib/db/statistics.ts)
    const analyzed = await db.$queryRaw<{ name: string }[]>`
      SELECT relname AS name FROM pg_stat_user_tables WHERE relname IN ('Pod', 'Container') AND analyze_count > 0 ORDER BY relname`;
    expect(analyzed.map((r) => r.name)).toEqual(["Container", "Pod"]);
    // its progress opens its five images, each checked
    const items = await expectProgressListed(scan);
    expect(items.first.counts).toEqual({ pending: 0, done: 5, error: 0 });
    expect(items.rows.map((r) => r.image!.split("/").pop()).sort()).toEqual(["attested", "bundle", "classic", "foreign", "unsigned"]);
    expect(await listScanItems(db, "00000000-0000-4000-8000-000000000000", scanItemsQuery.parse({}))).toBeNull();
    expect(scanItemsQuery.safeParse({ status: "stale" }).success).toBe(false);
    expect(await verdictOf("classic")).toEqual(["verified"]);
    expect(await verdictOf("bundle")).toEqual(["verified"]);
    expect(await verdictOf("attested")).toEqual(["verified"]);
    expect(await verdictOf("foreign")).toEqual(["failed"]);
    expect(await verdictOf("unsigned")).toEqual(["unsigned"]);
    // resolved through the registry, then verified like the observed one
    const pending = await db.container.findFirstOrThrow({ where: { pod: { name: "pending" } } });
    expect(pending).toMatchObject({ digest: digests.classic, digestSource: "resolved" });
    // the tag it was written with is the image's too (the image list's search by tag)
    expect(await db.imageReference.count({ where: { imageId: pending.imageId!, ref: pending.imageRef } })).toBe(1);
    expect(await verdictOf("pending")).toEqual(["verified"]);

    const attested = await db.image.findFirstOrThrow({ where: { digest: digests.attested }, include: { evidence: true } });
    expect(attested.evidence.map((e) => [e.kind, e.status]).sort()).toEqual([["attestation", "valid"], ["signature", "valid"]]);
    expect(attested.evidence.find((e) => e.kind === "attestation")?.predicateType).toBe("https://slsa.dev/provenance/v0.2");
    const bundle = await db.image.findFirstOrThrow({ where: { digest: digests.bundle }, include: { evidence: true } });
    expect(bundle.evidence.map((e) => e.kind)).toEqual(["bundle"]);

    const snapshot = await db.coverageSnapshot.findFirstOrThrow({ where: { scope: "fleet" }, orderBy: { takenAt: "desc" } });
    expect(snapshot).toMatchObject({ containersTotal: 6, containersVerified: 4, containersFailed: 1, containersUnsigned: 1, imagesTotal: 5, imagesVerified: 3 });
    expect(await db.verificationEvent.count({ where: { kind: "verdict" } })).toBe(6);
    expect((await verifyAuditChain(db)).ok).toBe(true);
  });

  it("a rescan with nothing changed records no new verdict event; a removed signature is noticed", async () => {
    const before = await db.verificationEvent.count({ where: { kind: "verdict" } });
    await runScan();
    expect(await db.verificationEvent.count({ where: { kind: "verdict" } })).toBe(before);

    // delete the classic signature tag from the registry: next pass says unsigned
    const sigTag = `sha256-${digests.classic!.slice(7)}.sig`;
    const head = await fetch(`${registry.url}/v2/apps/classic/manifests/${sigTag}`, { method: "HEAD", headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
    const manifestDigest = head.headers.get("docker-content-digest")!;
    const del = await fetch(`${registry.url}/v2/apps/classic/manifests/${manifestDigest}`, { method: "DELETE" });
    expect(del.status).toBe(202);
    await runScan();
    expect(await verdictOf("classic")).toEqual(["unsigned"]);
    expect(await verdictOf("pending")).toEqual(["unsigned"]);
    const ev = await db.verificationEvent.findFirstOrThrow({ where: { imageDigest: digests.classic, verdict: "unsigned" }, orderBy: { seq: "desc" } });
    expect(ev.previousVerdict).toBe("verified");
  });

  it("an image signed after the last scan is verified by the next one (its new .sig tag is in the tag listing)", async () => {
    const img = await db.image.findFirstOrThrow({ where: { digest: digests.unsigned } });
    expect(img.discovery).toBe("none");
    expect(await verdictOf("unsigned")).toEqual(["unsigned"]);
    await cosignSign(ws, `${registry.host}/apps/unsigned@${digests.unsigned}`, { bundle: false });
    await runScan();
    expect(await verdictOf("unsigned")).toEqual(["verified"]);
    const ev = await db.verificationEvent.findFirstOrThrow({ where: { imageDigest: digests.unsigned, verdict: "verified" }, orderBy: { seq: "desc" } });
    expect(ev.previousVerdict).toBe("unsigned");
  });

  it("fresh evidence is reused while its tags are unchanged; a signature added to a .sig manifest is found once stale", async () => {
    const img = await db.image.findFirstOrThrow({ where: { digest: digests.attested } });
    const layers = () => db.evidence.count({ where: { imageId: img.id, kind: "signature" } });
    expect(await layers()).toBe(1);
    const otherKey = await generateExtraKey(ws, "third");
    // a second signer: same .sig tag, a new manifest with two layers
    await cosignSign(ws, `${registry.host}/apps/attested@${digests.attested}`, { bundle: false, key: otherKey });
    await runScan();
    const reused = await db.image.findUniqueOrThrow({ where: { id: img.id } });
    expect(reused.discoveredAt?.getTime()).toBe(img.discoveredAt?.getTime()); // not fetched again
    expect(await layers()).toBe(1);
    process.env.SIGNET_EVIDENCE_MAX_AGE_MINUTES = "0";
    resetEnvCache();
    try {
      await runScan();
    } finally {
      delete process.env.SIGNET_EVIDENCE_MAX_AGE_MINUTES;
      resetEnvCache();
    }
    expect(await layers()).toBe(2);
    expect((await db.image.findUniqueOrThrow({ where: { id: img.id } })).discoveredAt!.getTime()).toBeGreaterThan(img.discoveredAt!.getTime());
    // the new signer's key is not trusted; the first signature still verifies
    expect(await verdictOf("attested")).toEqual(["verified"]);
  });

  it("a policy change is re-evaluated from stored evidence at once: no registry request, and every overview figure follows", async () => {
    // (the tests above left classic and pending unsigned, and signed the unsigned image)
    const before = await getOverview(db);
    expect(before.fleet).toMatchObject({ containersVerified: 3, containersFailed: 1, containersUnsigned: 2, containersUnmatched: 0 });
    const requests = registryRequests();
    expect(requests).toBeGreaterThan(0); // the registry does log what it answers
    // the release policy no longer applies to namespace tools (unsigned, pending)
    await saveRelease(["payments"]);
    const run = await runReevaluation("policy saved by test", async (scanId) => {
      // saved, not yet re-evaluated: the overview says so, and its figures are the previous snapshot's
      const during = await getOverview(db);
      expect(during.reevaluation).toMatchObject({ id: scanId, trigger: "policy saved by test" });
      expect(during.fleet).toEqual(before.fleet);
    });
    expect(run).toMatchObject({ kind: "reevaluate", status: "succeeded" });
    expect(registryRequests()).toBe(requests);
    // the overview's "re-evaluating… (done of total images)" opens the images it re-evaluated
    expect(run.total).toBeGreaterThan(0);
    expect((await expectProgressListed(run)).first.counts).toEqual({ pending: 0, done: run.total, error: 0 });
    expect(await verdictOf("pending")).toEqual([]);
    const after = await getOverview(db);
    expect(after.reevaluation).toBeNull();
    // one state: the tiles count what the failures list shows (the earlier contradiction: "0 failed or
    // unsigned, 2 unmatched" beside an unsigned row)
    expect(after.fleet).toMatchObject({ containersTotal: 6, containersVerified: 2, containersFailed: 1, containersUnsigned: 1, containersError: 0, containersUnmatched: 2 });
    const listed = after.newestFailures.map((f) => `${f.namespace}/${f.verdict}`).sort();
    expect(listed).toEqual(["payments/failed", "payments/unsigned"]);
    expect(after.counts).toMatchObject({ runningContainers: after.fleet!.containersTotal, distinctImages: after.fleet!.imagesTotal, namespaces: 2, clusters: 1 });
    // the last scan is still the last scan (a re-evaluation is not one)
    expect(after.lastScan?.status).toBe("succeeded");

    await saveRelease();
    expect((await runReevaluation("policy restored by test")).status).toBe("succeeded");
    expect(await verdictOf("pending")).toEqual(["unsigned"]);
    expect((await getOverview(db)).fleet).toEqual({ ...before.fleet!, takenAt: expect.any(String) });
  });

  it("a registry outage is an error verdict, never unsigned or verified; each keeps its last known verdict, counted as stale", async () => {
    const before = await getOverview(db);
    await registry.stop();
    const scan = await runScan();
    expect(scan.status).toBe("partial");
    // the images whose check failed are the error items of its progress, listed with their reason
    const items = await expectProgressListed(scan);
    expect(items.first.counts.error).toBeGreaterThan(0);
    expect((await itemsListed(scan.id, "error")).rows.every((r) => (r.error ?? "").length > 0)).toBe(true);
    for (const pod of ["bundle", "attested", "foreign", "unsigned"]) expect(await verdictOf(pod)).toEqual(["error"]);
    const img = await db.image.findFirstOrThrow({ where: { digest: digests.bundle } });
    expect(img.discovery).toBe("error");
    // evidence already stored is kept
    expect(await db.evidence.count({ where: { imageId: img.id } })).toBe(1);

    // the last known verdicts are kept beside the error
    const known = async (pod: string) => (await db.verdict.findMany({ where: { container: { pod: { name: pod, deletedAt: null } } } })).map((v) => [v.value, v.lastKnownValue]);
    expect(await known("bundle")).toEqual([["error", "verified"]]);
    expect(await known("foreign")).toEqual([["error", "failed"]]);
    expect(await known("classic")).toEqual([["error", "unsigned"]]);
    const o = await getOverview(db);
    // nothing is verified now, nothing is unknown, and nothing dropped to 0 %: all 6 are stale
    expect(o.fleet).toMatchObject({ containersTotal: 6, containersVerified: 0, containersError: 0, containersStale: 6, containersStaleVerified: before.fleet!.containersVerified });
    expect(o.newestFailures).toEqual([]);
    // one line per reason, not one row per image
    expect(o.stale.reduce((n, g) => n + g.containers, 0)).toBe(6);
    expect(o.stale.length).toBeLessThan(6);
    expect(o.stale[0]!.reason).toMatch(/ECONNREFUSED|connect|refused/i);
    expect(new Date(o.stale[0]!.since).getTime()).toBeGreaterThan(new Date(before.fleet!.takenAt).getTime());

    // a policy change during the outage, re-evaluated without the registry: "verified" under the old
    // version says nothing about the new one (unknown now); "failed" and "unsigned" stay stale
    await saveRelease(["payments", "tools"]);
    expect((await runReevaluation("policy saved during the outage")).status).toBe("partial");
    expect(await known("bundle")).toEqual([["error", null]]);
    expect(await known("foreign")).toEqual([["error", "failed"]]);
    expect(await known("classic")).toEqual([["error", "unsigned"]]);
    const verifiedBefore = before.fleet!.containersVerified;
    expect((await getOverview(db)).fleet).toMatchObject({ containersStale: 6 - verifiedBefore, containersStaleVerified: 0, containersError: verifiedBefore, containersVerified: 0 });
  });
});
