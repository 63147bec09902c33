import fs from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditChain } from "@/lib/audit/store";
import { resetKeyring } from "@/lib/crypto/keys";
import { createDb, getDb, type Db } from "@/lib/db/client";
import { resetEnvCache } from "@/lib/env";
import { makeNotifyDeliver, notifyTick } from "@/lib/jobs/definitions/notify";
import { coverageRefresh, imageCheck } from "@/lib/jobs/definitions/scan";
import { checkImages, createScan, startScan, type PipelineContext } from "@/lib/scan/pipeline";
import { getScanAdapters } from "@/lib/scan/real-adapters";
import type { JobDefinition } from "@/lib/jobs/registry";
import { startWorker, type RunningWorker } from "@/lib/jobs/worker";
import { stopPodWatches } from "@/lib/kube/pod-watch";
import { getLogger } from "@/lib/log";
import { createWebhook } from "@/lib/notify/webhooks";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { createNamespace, createPod, setPodStatus, startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { waitFor } from "@/tests/support/process";
import { createCosignWorkspace, cosignSign, pushRandomImage, type CosignWorkspace } from "@/tests/support/registry-cosign";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { saveSigningPolicy } from "@/tests/support/scan";

/** The revalidation cadence of this test (SIGNET_REVALIDATE_SECONDS is 60 by default). */
const REVALIDATE_SECONDS = 2;

/**
 * Verification driven by the watch, on real parts: a kube-apiserver whose pods get their status
 * through the status subresource (no kubelet), a registry with images signed by real cosign, a webhook
 * receiver on 127.0.0.1, PostgreSQL, and a worker that runs image checks and notifications but never
 * the scan jobs: whatever happens here happens without a scan.
 */
describe("watch-driven verification", () => {
  let tdb: TestDatabase;
  let db: Db;
  let kube: KubeApiserver;
  let registry: TestRegistry;
  let ws: CosignWorkspace;
  let worker: RunningWorker;
  let server: http.Server;
  const received: { event?: string; summary?: string; lines?: string[] }[] = [];
  const digests: Record<string, string> = {};

  const containerOf = (pod: string) => db.container.findFirst({ where: { pod: { name: pod } }, include: { pod: true, verdicts: true } });
  const verdictsOf = async (pod: string) => ((await containerOf(pod))?.verdicts ?? []).map((v) => v.value);
  const runPod = async (name: string, image: string) => {
    const h = registry.host;
    await createPod(kube, { namespace: "apps", name, containers: [{ name: "app", image: `${h}/apps/${image}:v1` }] });
    await setPodStatus(kube, "apps", name, { containers: [{ name: "app", imageID: `${h}/apps/${image}@${digests[image]}` }] });
  };

  beforeAll(async () => {
    [tdb, kube, registry, ws] = await Promise.all([createTestDatabase(), startKubeApiserver(), startRegistry(), createCosignWorkspace()]);
    db = createDb(tdb.url, 4);
    server = http.createServer((req, res) => {
      let data = "";
      req.on("data", (c) => (data += c));
      req.on("end", () => {
        received.push(JSON.parse(data || "{}") as (typeof received)[number]);
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    Object.assign(process.env, {
      DATABASE_URL: tdb.url,
      KUBECONFIG: kube.kubeconfigPath,
      SIGNET_KUBE_CONTEXTS: "admin",
      SIGNET_REGISTRY_INSECURE: registry.host,
      SIGNET_SECRET_KEY: randomBytes(32).toString("base64"),
      SIGNET_EGRESS_ALLOW_INTERNAL: new URL(base).host,
    });
    resetEnvCache();
    resetKeyring();

    const h = registry.host;
    for (const name of ["signed", "unsigned", "revoked"]) digests[name] = await pushRandomImage(ws, h, `apps/${name}`, "v1");
    await cosignSign(ws, `${h}/apps/signed@${digests.signed}`, { bundle: false });
    await cosignSign(ws, `${h}/apps/revoked@${digests.revoked}`, { bundle: false });
    const pub = await fs.readFile(ws.pub, "utf8");
    await saveSigningPolicy(db, h, pub);
    await createWebhook(db, { name: "receiver", url: `${base}/hook`, format: "generic", events: ["failure.enforce"] }, "admin@test");
    await createNamespace(kube, "apps", { env: "prod" });
    // running before the worker starts: its first list finds it
    await runPod("early", "signed");

    // no scan.start, no scan.tick: nothing in this test may start a scan
    const deliver = makeNotifyDeliver({ retryLimit: 2, retryDelay: 1, retryBackoff: false });
    worker = await startWorker({
      databaseUrl: tdb.url,
      jobs: [imageCheck, coverageRefresh, notifyTick, deliver] as unknown as JobDefinition[],
      log: getLogger(),
      heartbeatSeconds: 5,
      concurrency: 4,
      watch: { flushMs: 200, revalidateSeconds: REVALIDATE_SECONDS, batchSize: 100, leaseSeconds: 15 },
    });
  }, 240_000);

  afterAll(async () => {
    await worker?.stop();
    stopPodWatches();
    await new Promise((r) => server?.close(r));
    await db?.$disconnect();
    await getDb().$disconnect().catch(() => undefined);
    await Promise.all([kube?.stop(), registry?.stop(), ws?.cleanup()]);
    await tdb?.drop();
  });

  it("the first list writes the running pods and verifies them without a scan", { timeout: 120_000 }, async () => {
    await waitFor(async () => ((await verdictsOf("early")).join() === "verified" ? true : undefined), 60_000, "the early pod verified");
    expect(worker.watches?.clusters()).toEqual(["admin"]);
    expect(await db.scan.count()).toBe(0);
  });

  it("a pod created with an unsigned image gets `unsigned` and a notification, without any scan", { timeout: 180_000 }, async () => {
    await runPod("intruder", "unsigned");
    await waitFor(async () => ((await verdictsOf("intruder")).join() === "unsigned" ? true : undefined), 60_000, "the unsigned verdict");
    const c = (await containerOf("intruder"))!;
    expect(c.digest).toBe(digests.unsigned);
    expect(c.pod.deletedAt).toBeNull();
    const hook = await waitFor(
      async () => received.find((r) => r.event === "failure.enforce" && r.lines?.some((l) => l.includes("Pod/intruder"))),
      60_000,
      "the failure notification",
    );
    expect(hook.summary).toBe("1 new failure in enforce-mode policies");
    expect(hook.lines).toEqual(["admin/apps Pod/intruder — release (unsigned)"]);
    // one verdict event for the new container, none repeated
    expect(await db.verificationEvent.count({ where: { kind: "verdict", containerId: c.id } })).toBe(1);
    expect(await db.scan.count()).toBe(0);
  });

  it("a deleted pod leaves the coverage at once", { timeout: 300_000 }, async () => {
    await runPod("leaving", "signed");
    await waitFor(async () => ((await verdictsOf("leaving")).join() === "verified" ? true : undefined), 60_000, "the leaving pod verified");
    // early + intruder + leaving
    await waitFor(
      async () => {
        const s = await db.coverageSnapshot.findFirst({ where: { scope: "fleet" }, orderBy: { takenAt: "desc" } });
        return s?.containersTotal === 3 ? s : undefined;
      },
      60_000,
      "coverage counting the new pod",
    );
    const deletedAt = new Date();
    await kube.request("DELETE", "/api/v1/namespaces/apps/pods/leaving?gracePeriodSeconds=0");
    await waitFor(async () => ((await containerOf("leaving"))?.pod.deletedAt ? true : undefined), 60_000, "the pod marked deleted");
    const snapshot = await waitFor(
      async () => {
        const s = await db.coverageSnapshot.findFirst({ where: { scope: "fleet" }, orderBy: { takenAt: "desc" } });
        return s && s.takenAt >= deletedAt && s.containersTotal === 2 ? s : undefined;
      },
      60_000,
      "coverage without the deleted pod",
    );
    expect(snapshot).toMatchObject({ containersTotal: 2, containersVerified: 1, containersUnsigned: 1 });
    const image = await db.image.findFirstOrThrow({ where: { digest: digests.signed } });
    expect(image.runningContainers).toBe(1);
    expect(await db.scan.count()).toBe(0);
  });

  it(`a signature deleted from the registry turns verified into unsigned within the revalidation bound (${REVALIDATE_SECONDS} s here)`, { timeout: 180_000 }, async () => {
    await runPod("revoked", "revoked");
    await waitFor(async () => ((await verdictsOf("revoked")).join() === "verified" ? true : undefined), 60_000, "the revoked pod verified first");
    const sigTag = `sha256-${digests.revoked!.slice(7)}.sig`;
    const head = await fetch(`${registry.url}/v2/apps/revoked/manifests/${sigTag}`, { method: "HEAD", headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
    const manifestDigest = head.headers.get("docker-content-digest")!;
    expect((await fetch(`${registry.url}/v2/apps/revoked/manifests/${manifestDigest}`, { method: "DELETE" })).status).toBe(202);
    // the bound: one revalidation cycle, then one image check; the deadline leaves room for a loaded machine
    await waitFor(async () => ((await verdictsOf("revoked")).join() === "unsigned" ? true : undefined), 60_000, "the verdict to turn unsigned");
    const c = (await containerOf("revoked"))!;
    const events = await db.verificationEvent.findMany({ where: { kind: "verdict", containerId: c.id }, orderBy: { seq: "asc" } });
    expect(events.map((e) => [e.previousVerdict, e.verdict])).toEqual([
      [null, "verified"],
      ["verified", "unsigned"],
    ]);
    expect(events[1]!.details).toMatchObject({ trigger: "revalidate", mode: "enforce" });
    expect(worker.watches!.stats.rediscoveries).toBeGreaterThanOrEqual(1);
    expect(await db.scan.count()).toBe(0);
    expect((await verifyAuditChain(db)).ok).toBe(true);
  });

  it("a namespace deleted is marked deleted; a scan keeps the inventory the watch wrote (no list) and every running container has its verdict", { timeout: 240_000 }, async () => {
    const cw = worker.watches!.watchOf("admin")!;
    await createNamespace(kube, "scratch");
    await createPod(kube, { namespace: "scratch", name: "temp", containers: [{ name: "app", image: `${registry.host}/apps/signed:v1` }] });
    await setPodStatus(kube, "scratch", "temp", { containers: [{ name: "app", imageID: `${registry.host}/apps/signed@${digests.signed}` }] });
    await waitFor(async () => ((await verdictsOf("temp")).join() === "verified" ? true : undefined), 60_000, "the scratch pod verified");
    // no namespace controller here: the pod goes first, then the namespace is finalized by hand
    await kube.request("DELETE", "/api/v1/namespaces/scratch/pods/temp?gracePeriodSeconds=0");
    await kube.request("DELETE", "/api/v1/namespaces/scratch");
    await kube.request("PUT", "/api/v1/namespaces/scratch/finalize", { apiVersion: "v1", kind: "Namespace", metadata: { name: "scratch" }, spec: { finalizers: [] } });
    const ns = await waitFor(
      async () => {
        const n = await db.namespace.findFirst({ where: { name: "scratch" } });
        return n?.deletedAt ? n : undefined;
      },
      60_000,
      "the namespace marked deleted",
    );
    expect(ns.deletedAt).not.toBeNull();
    expect((await db.namespace.findFirstOrThrow({ where: { name: "apps" } })).deletedAt).toBeNull();

    // a scan in the process following the cluster: its inventory is the stored one, brought in step
    await runPod("late", "unsigned");
    await waitFor(async () => ((await containerOf("late"))?.digest ? true : undefined), 60_000, "the late pod written by the watch");
    const lists = cw.stats.lists;
    const before = await db.cluster.findFirstOrThrow({ where: { name: "admin" } });
    // the watch's writes are not one list: the stored inventory has no digest of one
    expect(before.inventoryHash).toBeNull();
    const ctx: PipelineContext = { db, adapters: getScanAdapters(), log: getLogger(), enqueueImageCheck: (p) => checkImages(ctx, p) };
    const id = await createScan(db, { trigger: "test" });
    await startScan(ctx, id);
    const scan = await waitFor(async () => {
      const s = await db.scan.findUniqueOrThrow({ where: { id } });
      return ["succeeded", "partial", "failed"].includes(s.status) ? s : undefined;
    }, 120_000, "the scan to finish");
    expect(scan.status).toBe("succeeded");
    // not listed, neither by the watch nor by the scan (whose write of a list would store its digest)
    expect(cw.stats.lists).toBe(lists);
    const after = await db.cluster.findFirstOrThrow({ where: { name: "admin" } });
    expect(after.inventoryHash).toBeNull();
    expect(after.lastInventoryAt!.getTime()).toBeGreaterThan(before.lastInventoryAt!.getTime());
    expect(await verdictsOf("late")).toEqual(["unsigned"]);
    const live = await db.container.findMany({ where: { pod: { deletedAt: null } }, include: { verdicts: true, pod: true } });
    expect(live.map((c) => c.pod.name).sort()).toEqual(["early", "intruder", "late", "revoked"]);
    for (const c of live) expect(c.verdicts).toHaveLength(1);
    expect(live.find((c) => c.pod.name === "early")!.verdicts[0]!.value).toBe("verified");
  });
});
