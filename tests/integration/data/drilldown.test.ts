import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getClusterDetail, getContainerDetail, getNamespaceWorkloads, getWorkloadDetail } from "@/lib/data/drilldown";
import { listImages } from "@/lib/data/images";
import { listRejections } from "@/lib/data/rejections";
import { rejectionQuery } from "@/lib/dto/dashboard";
import { createDb, type Db } from "@/lib/db/client";
import { imageListQuery } from "@/lib/dto/read";
import { publicKeyFingerprint } from "@/lib/policy/compile";
import type { EvidenceFact } from "@/lib/policy/facts";
import { loadActivePolicies } from "@/lib/policy/store";
import { evaluateImage } from "@/lib/scan/evaluate-image";
import { addImageReferences } from "@/lib/scan/persist-inventory";
import { writeCoverageSnapshot } from "@/lib/scan/snapshot";
import { authorityNames, authorityPolicies } from "@/lib/trust/inventory";
import { shortFingerprint } from "@/lib/ui/format";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { seedInventory } from "@/tests/support/inventory";
import { saveKeyPolicy } from "@/tests/support/policies";

const PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const FP = publicKeyFingerprint(PEM);
const d = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;

/**
 * The drill-down read models over an evaluated inventory: prod/pay runs Deployment/api (pods p1
 * verified, p2 unsigned) and a bare pod p3 (unsigned) under an enforce policy; prod/dev runs one
 * container no policy applies to.
 */
describe("drill-down data", () => {
  let tdb: TestDatabase;
  let db: Db;
  let seeded: Awaited<ReturnType<typeof seedInventory>>;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
    seeded = await seedInventory(db, {
      cluster: "prod",
      namespaces: [
        {
          name: "pay",
          pods: [
            { name: "p1", workload: "api", containers: [{ name: "app", image: `ghcr.io/acme/pay@${d(1)}` }] },
            { name: "p2", workload: "api", containers: [{ name: "app", image: `ghcr.io/acme/pay@${d(2)}` }] },
            { name: "p3", containers: [{ name: "tool", image: `ghcr.io/acme/tool@${d(3)}` }] },
          ],
        },
        { name: "dev", pods: [{ name: "x", containers: [{ name: "x", image: `docker.io/library/x@${d(4)}` }] }] },
      ],
    });
    // the reference as the pod spec wrote it: a tag, resolved to the digest
    await db.container.update({ where: { id: seeded.containers["pay/p1/app"]! }, data: { imageRef: "ghcr.io/acme/pay:v1.2.3" } });
    await addImageReferences(db, [{ image: seeded.images.get(`ghcr.io/acme/pay@${d(1)}`)!, ref: "ghcr.io/acme/pay:v1.2.3" }], new Date());
    await saveKeyPolicy(db, PEM, { namespaces: ["pay"] }, { authority: "k" });
    const policies = await loadActivePolicies(db);
    for (const [ref, imageId] of seeded.images) {
      const verified = ref.endsWith(d(1));
      if (verified) await db.image.update({ where: { id: imageId }, data: { signers: [`key:${FP}`] } });
      const facts: EvidenceFact[] = verified ? [{ id: `${d(100)}#0`, kind: "signature", status: "valid", reasons: [], signer: { kind: "key", fingerprints: [FP] }, tlog: null }] : [];
      await evaluateImage(db, { imageId, facts, discovery: verified ? { outcome: "found" } : { outcome: "none" }, policies, now: new Date(), trigger: "scan" });
    }
    await writeCoverageSnapshot(db);
    await db.cluster.update({ where: { name: "prod" }, data: { lastError: "Unauthorized: token expired", lastErrorAt: new Date() } });
    await db.scan.create({
      data: {
        status: "partial",
        errors: [
          { cluster: "prod", stage: "inventory", message: "Unauthorized: token expired" },
          { cluster: "other", stage: "inventory", message: "not this cluster" },
          { stage: "resolve", message: "ghcr.io/acme/gone:1: manifest unknown" },
        ],
      },
    });
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("cluster: latest coverage, namespaces worst first, errors of this cluster only", async () => {
    const c = (await getClusterDetail(db, "prod"))!;
    expect(c.latest).toMatchObject({ containersTotal: 4, containersVerified: 1, containersUnsigned: 2, containersUnmatched: 1 });
    expect(c.trend).toHaveLength(1);
    // a namespace no policy covers comes after the covered ones
    expect(c.namespaces.map((n) => [n.namespace, n.containersTotal, n.containersVerified])).toEqual([
      ["pay", 3, 1],
      ["dev", 1, 0],
    ]);
    expect(c.lastError).toBe("Unauthorized: token expired");
    expect(c.scans[0]!.errors).toEqual(["inventory: Unauthorized: token expired", "resolve: ghcr.io/acme/gone:1: manifest unknown"]);
    expect(await getClusterDetail(db, "nope")).toBeNull();
  });

  it("namespace: workloads with containers, images, tags and verdicts per policy, failing first", async () => {
    const ns = (await getNamespaceWorkloads(db, "prod", "pay"))!;
    expect(ns).toMatchObject({ containers: 3, workloadsTotal: 2, page: 1 });
    expect(ns.workloads.map((w) => w.containersTotal)).toEqual([2, 1]);
    expect(ns.workloads.map((w) => [w.workload, w.worst, w.containers.map((c) => `${c.pod}:${c.worst}`)])).toEqual([
      ["Deployment/api", "unsigned", ["p2:unsigned", "p1:verified"]],
      ["Pod/p3", "unsigned", ["p3:unsigned"]],
    ]);
    const p1 = ns.workloads[0]!.containers[1]!;
    expect(p1).toMatchObject({ tag: "v1.2.3", image: "ghcr.io/acme/pay", digest: d(1), imageId: seeded.images.get(`ghcr.io/acme/pay@${d(1)}`) });
    expect(p1.verdicts).toEqual([expect.objectContaining({ policy: "release", mode: "enforce", verdict: "verified", policyVersion: 1 })]);
    expect(ns.workloads[0]!.containers[0]!.tag).toBeNull();
    expect(ns.workloads[0]!.containers[0]!.verdicts[0]!.reasons.length).toBeGreaterThan(0);
    // a workload lists its first (worst) containers, and counts them all
    const capped = (await getNamespaceWorkloads(db, "prod", "pay", { perWorkload: 1 }))!;
    expect(capped.workloads.map((w) => [w.workload, w.containersTotal, w.containers.map((c) => c.pod)])).toEqual([
      ["Deployment/api", 2, ["p2"]],
      ["Pod/p3", 1, ["p3"]],
    ]);
    expect((await getNamespaceWorkloads(db, "prod", "dev"))!.workloads[0]!.worst).toBe("unmatched");
    expect(await getNamespaceWorkloads(db, "prod", "nope")).toBeNull();
  });

  it("workload and container: pods of a workload or a bare pod; one container with its image, signers and verdicts", async () => {
    const api = (await getWorkloadDetail(db, "prod", "pay", "Deployment", "api"))!;
    expect(api.pods.map((p) => p.name)).toEqual(["p1", "p2"]);
    const bare = (await getWorkloadDetail(db, "prod", "pay", "Pod", "p3"))!;
    expect(bare.pods.map((p) => p.containers.map((c) => c.name))).toEqual([["tool"]]);
    expect(await getWorkloadDetail(db, "prod", "pay", "Bogus", "api")).toBeNull();
    expect(await getWorkloadDetail(db, "prod", "pay", "StatefulSet", "api")).toBeNull();

    const c = (await getContainerDetail(db, seeded.containers["pay/p1/app"]!))!;
    expect(c).toMatchObject({ cluster: "prod", namespace: "pay", workload: "Deployment/api", pod: "p1", tag: "v1.2.3", signers: [`key:${FP}`], imageVerdict: "verified", worst: "verified" });
    expect(await getContainerDetail(db, "00000000-0000-4000-8000-000000000000")).toBeNull();
  });

  it("a workload's rejection count is the rejections list its link opens (figure = rows)", async () => {
    const cluster = await db.cluster.findUniqueOrThrow({ where: { name: "prod" } });
    const at = new Date(Date.now() - 3_600_000);
    const old = new Date(Date.now() - 40 * 86_400_000);
    const base = { clusterId: cluster.id, controller: "policy_controller" as const, count: 2, firstSeen: at, lastSeen: at };
    await db.admissionRejection.createMany({
      data: [
        { ...base, eventUid: "w1", namespace: "pay", workloadKind: "ReplicaSet", workloadName: "api-5f7c9d", image: "ghcr.io/acme/pay:v2", message: "denied" },
        { ...base, eventUid: "w2", namespace: "pay", workloadKind: "Pod", workloadName: "api-5f7c9d-x1", image: "ghcr.io/acme/pay:v2", message: "denied" },
        // another workload whose message names "api": not the workload's
        { ...base, eventUid: "w3", namespace: "pay", workloadKind: "Pod", workloadName: "p3", image: "ghcr.io/acme/tool:1", message: "denied: api mismatch" },
        // another namespace, and an older one
        { ...base, eventUid: "w4", namespace: "dev", workloadKind: "ReplicaSet", workloadName: "api-1", image: "x:1", message: "denied" },
        { ...base, eventUid: "w5", namespace: "pay", workloadKind: "ReplicaSet", workloadName: "api-old", image: "x:1", message: "denied", firstSeen: old, lastSeen: old },
      ],
    });
    try {
      const api = (await getWorkloadDetail(db, "prod", "pay", "Deployment", "api"))!;
      const listed = await listRejections(db, rejectionQuery.parse({ cluster: "prod", namespace: "pay", workload: "api" }));
      expect([api.rejections, listed.total, listed.rows.length]).toEqual([2, 2, 2]);
      expect(listed.rows.map((r) => r.workload).sort()).toEqual(["Pod/api-5f7c9d-x1", "ReplicaSet/api-5f7c9d"]);
    } finally {
      await db.admissionRejection.deleteMany({ where: { eventUid: { in: ["w1", "w2", "w3", "w4", "w5"] } } });
    }
  });

  it("image list: tags of running containers shown and searchable", async () => {
    const all = await listImages(db, imageListQuery.parse({}));
    expect(all.rows.find((r) => r.digest === d(1))!.tags).toEqual(["v1.2.3"]);
    expect(all.rows.find((r) => r.digest === d(2))!.tags).toEqual([]);
    const byTag = await listImages(db, imageListQuery.parse({ q: "v1.2.3" }));
    expect(byTag.rows.map((r) => r.digest)).toEqual([d(1)]);
  });

  it("one name per key: the inline key is named by its short fingerprint until a stored authority holds it; Used by matches Keys", async () => {
    expect(await authorityNames(db)).toEqual({ [`key:${FP}`]: shortFingerprint(FP) });
    await db.authority.create({ data: { name: "release-2026", kind: "key", publicKeyPem: PEM, fingerprint: FP } });
    expect(await authorityNames(db)).toEqual({ [`key:${FP}`]: "release-2026" });
    // the policy's inline key is the stored one: the stored authority is used by the policy
    expect((await authorityPolicies(db))["release-2026"]).toEqual(["release"]);
  });
});

/**
 * The namespace page's Workloads card in pages: every workload on exactly one page, worst first across
 * pages, the figures (workloads, running containers) the sum of the rows; prod/big runs Deployment/a
 * (3 pods, unsigned), Deployment/b (verified), Deployment/c (2 pods: one verified, one unsigned) and bare
 * pods d (verified) and e (no policy: its image is out of the policy's scope).
 */
describe("namespace workloads in pages", () => {
  let tdb: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
    const pod = (name: string, n: number, workload?: string, image = `ghcr.io/acme/big${n}`) => ({ name, workload, containers: [{ name: "app", image: `${image}@${d(n)}` }] });
    const seeded = await seedInventory(db, {
      cluster: "prod",
      namespaces: [
        {
          name: "big",
          pods: [pod("a1", 10, "a"), pod("a2", 11, "a"), pod("a3", 12, "a"), pod("b1", 13, "b"), pod("c1", 14, "c"), pod("c2", 15, "c"), pod("d", 16), pod("e", 17, undefined, "docker.io/library/e")],
        },
      ],
    });
    await saveKeyPolicy(db, PEM, { images: ["ghcr.io/**"] }, { authority: "k" });
    const policies = await loadActivePolicies(db);
    const verified = new Set([d(13), d(14), d(16)]);
    for (const [ref, imageId] of seeded.images) {
      const ok = verified.has(ref.split("@")[1]!);
      const facts: EvidenceFact[] = ok ? [{ id: `${ref}#0`, kind: "signature", status: "valid", reasons: [], signer: { kind: "key", fingerprints: [FP] }, tlog: null }] : [];
      await evaluateImage(db, { imageId, facts, discovery: ok ? { outcome: "found" } : { outcome: "none" }, policies, now: new Date(), trigger: "scan" });
    }
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("lists every workload once across its pages, failing first, and the figures count the rows", async () => {
    const first = (await getNamespaceWorkloads(db, "prod", "big", { pageSize: 2, perWorkload: 2 }))!;
    expect([first.workloadsTotal, first.containers, first.pageSize]).toEqual([5, 8, 2]);
    const pages = [first];
    for (let page = 2; page <= Math.ceil(first.workloadsTotal / 2); page++) pages.push((await getNamespaceWorkloads(db, "prod", "big", { page, pageSize: 2, perWorkload: 2 }))!);
    const all = pages.flatMap((p) => p.workloads);
    // figure = rows: every workload once, the running containers the sum of the workloads' counts
    // (the drill-down's order: failed, unsigned, error, no policy, verified)
    expect(all.map((w) => w.workload)).toEqual(["Deployment/a", "Deployment/c", "Pod/e", "Deployment/b", "Pod/d"]);
    expect(new Set(all.map((w) => w.workload)).size).toBe(first.workloadsTotal);
    expect(all.reduce((n, w) => n + w.containersTotal, 0)).toBe(first.containers);
    for (const p of pages) expect([p.workloadsTotal, p.containers]).toEqual([5, 8]);
    expect(all.map((w) => w.worst)).toEqual(["unsigned", "unsigned", "unmatched", "verified", "verified"]);
    // each workload lists its worst containers first, at most perWorkload of them
    expect(all.map((w) => [w.containersTotal, w.containers.map((c) => `${c.pod}:${c.worst}`)])).toEqual([
      [3, ["a1:unsigned", "a2:unsigned"]],
      [2, ["c2:unsigned", "c1:verified"]],
      [1, ["e:unmatched"]],
      [1, ["b1:verified"]],
      [1, ["d:verified"]],
    ]);
    // a page past the last lists nothing and still counts everything
    expect(await getNamespaceWorkloads(db, "prod", "big", { page: 4, pageSize: 2 })).toMatchObject({ workloads: [], workloadsTotal: 5, containers: 8, page: 4 });
    // each workload's count of containers opens its page, which counts and pages its pods: count = rows
    for (const w of all) {
      const [kind, name] = w.workload.split("/") as [string, string];
      const first = (await getWorkloadDetail(db, "prod", "big", kind, name, new Date(), { pageSize: 2 }))!;
      const pods = [...first.pods];
      for (let page = 2; page <= Math.ceil(first.podsTotal / 2); page++) pods.push(...(await getWorkloadDetail(db, "prod", "big", kind, name, new Date(), { page, pageSize: 2 }))!.pods);
      expect([w.workload, first.containersTotal, pods.reduce((n, p) => n + p.containers.length, 0), first.podsTotal, new Set(pods.map((p) => p.name)).size]).toEqual([
        w.workload,
        w.containersTotal,
        w.containersTotal,
        pods.length,
        pods.length,
      ]);
    }
    expect((await getWorkloadDetail(db, "prod", "big", "Deployment", "a", new Date(), { pageSize: 2 }))!.pods.map((p) => p.name)).toEqual(["a1", "a2"]);
  });
});
