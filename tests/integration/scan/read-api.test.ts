import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUCKETS, bucketCounts } from "@/lib/coverage/compute";
import { getOverview } from "@/lib/data/coverage";
import { listAuditEvents } from "@/lib/data/audit";
import { listContainersInBuckets } from "@/lib/data/drilldown";
import { listImages } from "@/lib/data/images";
import { getPolicyDetail } from "@/lib/data/policies";
import { createDb, type Db } from "@/lib/db/client";
import { containerListQuery } from "@/lib/dto/drilldown";
import { auditQuery, imageListQuery } from "@/lib/dto/read";
import { publicKeyFingerprint } from "@/lib/policy/compile";
import type { EvidenceFact } from "@/lib/policy/facts";
import { loadActivePolicies } from "@/lib/policy/store";
import { evaluateImage } from "@/lib/scan/evaluate-image";
import { writeCoverageSnapshot } from "@/lib/scan/snapshot";
import { normalizeFingerprint } from "@/lib/trust/facts";
import { authorityNames } from "@/lib/trust/inventory";
import { auditEventLinks } from "@/lib/ui/audit-links";
import { links } from "@/lib/ui/links";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { seedInventory } from "@/tests/support/inventory";
import { saveKeyPolicy } from "@/tests/support/policies";

const PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const d = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;

describe("read API data layer over evaluated inventory", () => {
  let tdb: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
    const seeded = await seedInventory(db, {
      cluster: "prod",
      namespaces: [
        { name: "pay", pods: [1, 2, 3].map((i) => ({ name: `p${i}`, containers: [{ name: "app", image: `ghcr.io/acme/pay@${d(i)}` }] })) },
        { name: "web", pods: [4, 5].map((i) => ({ name: `w${i}`, containers: [{ name: "app", image: `docker.io/library/web@${d(i)}` }] })) },
      ],
    });
    await saveKeyPolicy(db, PEM, undefined, { name: "all", authority: "k" });
    const policies = await loadActivePolicies(db);
    const signed: EvidenceFact[] = [{ id: "s", kind: "signature", status: "valid", reasons: [], signer: { kind: "key", fingerprints: [publicKeyFingerprint(PEM)] }, tlog: null }];
    let i = 0;
    for (const [ref, imageId] of seeded.images) {
      i++;
      const verified = ref.includes("pay") && i !== 3;
      await evaluateImage(db, {
        imageId,
        facts: verified ? signed : [],
        discovery: verified ? { outcome: "found" } : i === 5 ? { outcome: "error", reason: "timeout" } : { outcome: "none" },
        policies,
        now: new Date(Date.now() - (10 - i) * 1000),
        trigger: "scan",
      });
    }
    await writeCoverageSnapshot(db);
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("overview: fleet figures, clusters, worst namespaces and newest failures", async () => {
    const o = await getOverview(db);
    expect(o.fleet).toMatchObject({ containersTotal: 5, containersVerified: 2, containersUnsigned: 2, containersError: 1, imagesTotal: 5, imagesVerified: 2 });
    expect(o.clusters).toEqual([expect.objectContaining({ cluster: "prod", containersTotal: 5 })]);
    expect(o.worstNamespaces.map((n) => [n.namespace, n.coveragePct])).toEqual([["web", 0], ["pay", 66.6]]);
    expect(o.newestFailures).toHaveLength(3);
    expect(o.newestFailures[0]).toMatchObject({ verdict: "error", namespace: "web", policy: "all", mode: "enforce" });
    expect(o.trend).toHaveLength(1);
  });

  it("image list: filters, search, sort and paging", async () => {
    const all = await listImages(db, imageListQuery.parse({}));
    expect(all.total).toBe(5);
    expect((await listImages(db, imageListQuery.parse({ verdict: "verified" }))).rows.map((r) => r.digest)).toEqual([d(1), d(2)]);
    expect((await listImages(db, imageListQuery.parse({ namespace: "web" }))).total).toBe(2);
    expect((await listImages(db, imageListQuery.parse({ cluster: "nope" }))).total).toBe(0);
    // the cluster filter (the cluster page's links) reads where each image runs, as the scan wrote it
    expect((await listImages(db, imageListQuery.parse({ cluster: "prod" }))).total).toBe(5);
    expect((await listImages(db, imageListQuery.parse({ cluster: "prod", verdict: "verified" }))).rows.map((r) => r.digest)).toEqual([d(1), d(2)]);
    expect((await listImages(db, imageListQuery.parse({ registry: "docker.io" }))).total).toBe(2);
    expect((await listImages(db, imageListQuery.parse({ signer: `key:${publicKeyFingerprint(PEM)}` }))).total).toBe(2);
    expect((await listImages(db, imageListQuery.parse({ q: "PAY" }))).total).toBe(3);
    const page2 = await listImages(db, imageListQuery.parse({ pageSize: "2", page: "2", sort: "repository" }));
    expect(page2).toMatchObject({ total: 5, page: 2, pageSize: 2 });
    expect(page2.rows).toHaveLength(2);
    expect(() => imageListQuery.parse({ pageSize: "1000" })).toThrow();
  });

  it("audit events: newest first with keyset paging and filters", async () => {
    const first = await listAuditEvents(db, auditQuery.parse({ limit: "3" }));
    expect(first.events).toHaveLength(3);
    expect(BigInt(first.events[0]!.seq)).toBeGreaterThan(BigInt(first.events[2]!.seq));
    const second = await listAuditEvents(db, auditQuery.parse({ limit: "3", before: first.nextBefore! }));
    expect(second.events.length).toBeGreaterThan(0);
    expect(BigInt(second.events[0]!.seq)).toBeLessThan(BigInt(first.events[2]!.seq));
    expect((await listAuditEvents(db, auditQuery.parse({ kind: "admin" }))).events).toHaveLength(1);
    expect((await listAuditEvents(db, auditQuery.parse({ verdict: "unsigned" }))).events).toHaveLength(2);
  });

  it("audit events under a policy version: the list behind the policy page's counts; verdict rows name the key that signed", async () => {
    const list = async (q: Record<string, string>) => (await listAuditEvents(db, auditQuery.parse({ limit: "100", ...q }))).events;
    const policy = await db.policy.findUniqueOrThrow({ where: { name: "all" } });
    const detail = (await getPolicyDetail(db, policy.id))!;
    const v1 = detail.versions.find((v) => v.version === 1)!;
    // each count of the versions table and the rows its link opens are the same events
    for (const verdict of ["verified", "unsigned", "error"] as const) {
      const rows = await list({ kind: "verdict", policy: "all", policyVersion: "1", verdict });
      expect(rows).toHaveLength(v1.events[verdict] ?? 0);
      expect(rows.every((e) => e.policyName === "all" && e.policyVersion === 1 && e.verdict === verdict)).toBe(true);
    }
    expect(v1.events.verified).toBe(2);
    // the policy's creation is under it too; another version or policy has none of them
    expect((await list({ policy: "all" })).map((e) => e.kind).sort()).toEqual(["admin", "verdict", "verdict", "verdict", "verdict", "verdict"]);
    expect(await list({ policy: "all", policyVersion: "2" })).toEqual([]);
    expect(await list({ policy: "nope" })).toEqual([]);
    expect(() => auditQuery.parse({ policyVersion: "0" })).toThrow();

    // the verified events link to the key that signed their evidence, by its one name (an inline key: its short fingerprint)
    const names = await authorityNames(db);
    const keyName = names[`key:${normalizeFingerprint(publicKeyFingerprint(PEM))}`]!;
    expect(keyName).toBeTruthy();
    for (const e of await list({ kind: "verdict", verdict: "verified" })) {
      expect(e.signerKeys).toEqual([keyName]);
      expect(auditEventLinks(e)).toContainEqual({ label: `key ${keyName}`, href: links.authority(keyName) });
    }
    for (const e of await list({ kind: "verdict", verdict: "unsigned" })) expect(e.signerKeys).toEqual([]);
  });

  // last: it changes verdicts (a second policy, re-evaluations)
  it("image list by policy and stale verdicts: the lists behind a policy's counts and the Stale / unknown tile", async () => {
    const digests = async (o: Record<string, string>) => (await listImages(db, imageListQuery.parse(o))).rows.map((r) => r.digest).sort();
    expect(await digests({ policy: "all" })).toEqual([d(1), d(2), d(3), d(4), d(5)]);
    expect(await digests({ policy: "all", verdict: "failing" })).toEqual([d(3), d(4), d(5)]);
    expect(await digests({ policy: "all", verdict: "verified", namespace: "pay" })).toEqual([d(1), d(2)]);
    expect(await digests({ policy: "all", verdict: "verified", namespace: "web" })).toEqual([]);
    expect(await digests({ policy: "nope" })).toEqual([]);
    // d5's error has no last known verdict: unknown, in the Stale / unknown list
    expect(await digests({ verdict: "stale" })).toEqual([d(5)]);

    // a second policy over "web"; d4 now verified, d1 cannot be checked (its last known verdict stays: stale)
    await saveKeyPolicy(db, PEM, { namespaces: ["web"] }, { name: "web-only", authority: "k" });
    const policies = await loadActivePolicies(db);
    const signed: EvidenceFact[] = [{ id: "s", kind: "signature", status: "valid", reasons: [], signer: { kind: "key", fingerprints: [publicKeyFingerprint(PEM)] }, tlog: null }];
    const idOf = async (n: number) => (await db.image.findFirstOrThrow({ where: { digest: d(n) }, select: { id: true } })).id;
    const again = async (n: number, facts: EvidenceFact[], discovery: Parameters<typeof evaluateImage>[1]["discovery"]) =>
      evaluateImage(db, { imageId: await idOf(n), facts, discovery, policies, now: new Date(), trigger: "scan" });
    await again(4, signed, { outcome: "found" });
    await again(5, [], { outcome: "error", reason: "timeout" });
    await again(1, [], { outcome: "error", reason: "registry unreachable" });

    // the verdict under each policy, not the image's overall one
    expect(await digests({ policy: "web-only" })).toEqual([d(4), d(5)]);
    expect(await digests({ policy: "web-only", verdict: "verified" })).toEqual([d(4)]);
    expect(await digests({ policy: "web-only", verdict: "error" })).toEqual([d(5)]);
    expect(await digests({ policy: "web-only", verdict: "unmatched" })).toEqual([d(1), d(2), d(3)]);
    expect(await digests({ policy: "all", verdict: "verified" })).toEqual([d(2), d(4)]);
    expect(await digests({ policy: "all", verdict: "failing", namespace: "pay" })).toEqual([d(1), d(3)]);
    // stale (d1: its last known verdict) and unknown (d5) alike
    expect(await digests({ verdict: "stale" })).toEqual([d(1), d(5)]);
    expect(await digests({ policy: "web-only", verdict: "stale" })).toEqual([d(5)]);
    const allId = policies.find((p) => p.name === "all")!.id;
    expect((await db.image.findFirstOrThrow({ where: { digest: d(1) } })).policyVerdicts).toEqual([allId, `${allId}:error`, "error"].sort());

    // the overview's Stale / unknown tile and its error count open exactly the containers they count
    const pods = async (bucket: string, scope: Record<string, string> = {}) =>
      (await listContainersInBuckets(db, containerListQuery.parse({ bucket, ...scope }))).rows.map((r) => `${r.namespace}/${r.pod}:${r.bucket}`).sort();
    const tileAndList = async () => {
      await writeCoverageSnapshot(db);
      const fleet = (await getOverview(db)).fleet!;
      const list = await listContainersInBuckets(db, containerListQuery.parse({ bucket: "stale,error" }));
      const unknown = await listContainersInBuckets(db, containerListQuery.parse({ bucket: "error" }));
      return { tile: fleet.containersStale + fleet.containersError, rows: list.total, error: fleet.containersError, errorRows: unknown.total };
    };
    // the lists are of the latest snapshot's buckets: until the next one, p1's error above is in neither
    // tile nor list (p1 is verified as of the snapshot taken before it)
    expect(await pods("stale,error")).toEqual(["web/w5:error"]);
    expect(await pods("verified")).toContain("pay/p1:verified");
    await writeCoverageSnapshot(db);
    expect(await pods("stale,error")).toEqual(["pay/p1:stale", "web/w5:error"]);
    expect(await tileAndList()).toEqual({ tile: 2, rows: 2, error: 1, errorRows: 1 });
    expect(await pods("error", { cluster: "prod", namespace: "pay" })).toEqual([]);
    expect(await pods("unsigned")).toEqual(["pay/p3:unsigned"]);
    expect(() => containerListQuery.parse({ bucket: "nope" })).toThrow();
    expect(() => containerListQuery.parse({})).toThrow();
    expect(() => containerListQuery.parse({ bucket: "verified", policy: allId })).toThrow();

    // every bucket's count (a tile, a column, a total) opens as many containers as it counts, read
    // in pages: the verified and unmatched (most of a fleet) too
    const everyBucket = async (scope: Record<string, string> = {}) => {
      await writeCoverageSnapshot(db);
      const fleet = (await getOverview(db)).fleet!;
      const listed: Record<string, number> = {};
      for (const b of BUCKETS) {
        const ids = new Set<string>();
        for (let page = 1; ; page++) {
          const list = await listContainersInBuckets(db, containerListQuery.parse({ bucket: b, ...scope, pageSize: "2", page: String(page) }));
          list.rows.forEach((r) => ids.add(r.id));
          if (list.rows.length < 2) {
            expect(ids.size).toBe(list.total);
            break;
          }
        }
        listed[b] = ids.size;
      }
      const all = await listContainersInBuckets(db, containerListQuery.parse({ bucket: BUCKETS.join(","), ...scope, pageSize: "200" }));
      return { tiles: bucketCounts(fleet), listed, total: fleet.containersTotal, all: all.total, allRows: all.rows.length };
    };
    expect(await everyBucket()).toEqual({
      tiles: { verified: 2, failed: 0, unsigned: 1, error: 1, stale: 1, unmatched: 0 },
      listed: { verified: 2, failed: 0, unsigned: 1, error: 1, stale: 1, unmatched: 0 },
      total: 5,
      all: 5,
      allRows: 5,
    });
    expect(await pods("verified")).toEqual(["pay/p2:verified", "web/w4:verified"]);

    // a policy's counts (the Policies page, the policy page's "Now: N verified of M") open the
    // containers with that verdict under it
    const byPolicy = async (policyId: string, verdict?: string, scope: Record<string, string> = {}) =>
      (await listContainersInBuckets(db, containerListQuery.parse({ policy: policyId, ...(verdict ? { verdict } : {}), ...scope }))).rows.map((r) => `${r.namespace}/${r.pod}`).sort();
    for (const p of policies) {
      const counts = (await getPolicyDetail(db, p.id))!.verdicts;
      for (const v of ["verified", "failed", "unsigned", "error", "unmatched"] as const) {
        const list = await listContainersInBuckets(db, containerListQuery.parse({ policy: p.id, verdict: v, pageSize: "1" }));
        expect([p.name, v, list.total]).toEqual([p.name, v, counts[v] ?? 0]);
        expect(list.policy).toEqual({ id: p.id, name: p.name });
      }
      const evaluated = (["verified", "failed", "unsigned", "error"] as const).reduce((n, v) => n + (counts[v] ?? 0), 0);
      expect((await listContainersInBuckets(db, containerListQuery.parse({ policy: p.id }))).total).toBe(evaluated);
    }
    const webOnly = policies.find((p) => p.name === "web-only")!.id;
    expect(await byPolicy(webOnly, "verified")).toEqual(["web/w4"]);
    expect(await byPolicy(webOnly)).toEqual(["web/w4", "web/w5"]);
    expect(await byPolicy(allId, "failed,unsigned,error", { namespace: "pay" })).toEqual(["pay/p1", "pay/p3"]);
    expect(await byPolicy(allId, "verified", { namespace: "web" })).toEqual(["web/w4"]);
    expect(await byPolicy(allId, "unmatched")).toEqual([]);

    // a cluster that cannot be listed: every container judged there shows its last known verdict
    await db.cluster.update({ where: { name: "prod" }, data: { lastError: "connection refused", lastErrorAt: new Date() } });
    try {
      expect(await digests({ verdict: "stale" })).toEqual([d(1), d(2), d(3), d(4), d(5)]);
      expect(await digests({ policy: "web-only", verdict: "stale" })).toEqual([d(4), d(5)]);
      // stale by their cluster, but w5, whose verdicts were never known: unknown
      await writeCoverageSnapshot(db);
      expect(await pods("stale,error")).toEqual(["pay/p1:stale", "pay/p2:stale", "pay/p3:stale", "web/w4:stale", "web/w5:error"]);
      expect(await pods("unsigned")).toEqual([]);
      expect(await tileAndList()).toEqual({ tile: 5, rows: 5, error: 1, errorRows: 1 });
      // nothing is verified now: every container shows its last known verdict
      expect((await everyBucket({ cluster: "prod" })).listed).toEqual({ verified: 0, failed: 0, unsigned: 0, error: 1, stale: 4, unmatched: 0 });
    } finally {
      await db.cluster.update({ where: { name: "prod" }, data: { lastError: null, lastErrorAt: null } });
    }
  });
});
