import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAuditEvents } from "@/lib/audit/store";
import { getAuditChainStatus, iterateAuditEvents } from "@/lib/data/audit";
import { buildComplianceReport } from "@/lib/data/exports";
import { getImageDetail, iterateImages, listImageFacets } from "@/lib/data/images";
import { listContainersInBuckets } from "@/lib/data/drilldown";
import { getNamespaceDetail, listNamespaceCoverage } from "@/lib/data/namespaces";
import { getPolicyDetail, listPolicies } from "@/lib/data/policies";
import { listRejections } from "@/lib/data/rejections";
import { createDb, type Db } from "@/lib/db/client";
import { complianceQuery, rejectionQuery } from "@/lib/dto/dashboard";
import { containerListQuery, IN_SCOPE_VERDICTS, NOT_VERIFIED_IN_SCOPE } from "@/lib/dto/drilldown";
import { auditQuery, imageListQuery } from "@/lib/dto/read";
import { publicKeyFingerprint } from "@/lib/policy/compile";
import type { EvidenceFact } from "@/lib/policy/facts";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { loadActivePolicies, savePolicyDocument } from "@/lib/policy/store";
import { evaluateImage } from "@/lib/scan/evaluate-image";
import { writeCoverageSnapshot } from "@/lib/scan/snapshot";
import { listAuthorities } from "@/lib/trust/inventory";
import { csvField, csvLine } from "@/lib/ui/csv";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { seedInventory } from "@/tests/support/inventory";

const PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const FP = publicKeyFingerprint(PEM);
const d = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;

/**
 * The dashboard's read models over an evaluated inventory: prod/pay runs 3 images (2 signed) under an
 * enforce policy, prod/web runs 2 unsigned images under an audit policy.
 */
describe("dashboard data layer", () => {
  let tdb: TestDatabase;
  let db: Db;
  let seeded: Awaited<ReturnType<typeof seedInventory>>;
  let releaseId: string;
  let webId: string;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
    seeded = await seedInventory(db, {
      cluster: "prod",
      namespaces: [
        { name: "pay", labels: { team: "pay" }, pods: [1, 2, 3].map((i) => ({ name: `p${i}`, workload: "api", containers: [{ name: "app", image: `ghcr.io/acme/pay@${d(i)}` }] })) },
        { name: "web", pods: [4, 5].map((i) => ({ name: `w${i}`, containers: [{ name: "app", image: `docker.io/library/web@${d(i)}` }] })) },
      ],
    });
    const doc = (name: string, mode: string, ns: string) =>
      parsePolicyDocuments(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: ${name} }
spec:
  mode: ${mode}
  requireTlog: false
  scope: { namespaces: [${ns}] }
  authorities: [ { name: k, key: { pem: ${JSON.stringify(PEM)} } } ]`)[0]!;
    releaseId = (await savePolicyDocument(db, doc("release", "enforce", "pay"), { actor: "test" })).policyId;
    webId = (await savePolicyDocument(db, doc("web-audit", "audit", "web"), { actor: "test" })).policyId;
    const policies = await loadActivePolicies(db);
    const signed: EvidenceFact[] = [{ id: "s", kind: "signature", status: "valid", reasons: [], signer: { kind: "key", fingerprints: [FP] }, tlog: null }];
    let i = 0;
    for (const [ref, imageId] of seeded.images) {
      i++;
      const verified = ref.includes("pay") && i !== 3;
      if (verified) {
        await db.evidence.create({
          data: {
            imageId,
            kind: "signature",
            artifactDigest: d(100 + i),
            layerDigest: d(200 + i),
            mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
            status: "valid",
            signerKind: "key",
            keyFingerprint: FP,
            tlogLogIndex: BigInt(4242 + i),
            certExtensions: { sourceRepositoryUri: "https://github.com/acme/pay", sourceRepositoryDigest: "abc123", buildSignerUri: null },
          },
        });
        await db.image.update({ where: { id: imageId }, data: { signers: [`key:${FP}`] } });
      }
      // evidence ids as lib/sigstore names them: "<artifact manifest digest>#<layer index>"
      const facts: EvidenceFact[] = verified ? [{ ...signed[0]!, id: `${d(100 + i)}#0` }] : [];
      await evaluateImage(db, { imageId, facts, discovery: verified ? { outcome: "found" } : { outcome: "none" }, policies, now: new Date(), trigger: "scan" });
    }
    await writeCoverageSnapshot(db);
    const cluster = await db.cluster.findUniqueOrThrow({ where: { name: "prod" } });
    const now = Date.now();
    await db.admissionRejection.createMany({
      data: [
        { clusterId: cluster.id, namespace: "pay", workloadKind: "ReplicaSet", workloadName: "api-1", image: "ghcr.io/acme/evil:1", controller: "policy_controller", message: "no matching signatures", eventUid: "e1", firstSeen: new Date(now - 3_600_000), lastSeen: new Date(now - 3_600_000), count: 4 },
        { clusterId: cluster.id, namespace: "web", image: "docker.io/x:1", controller: "kyverno", message: "verify-signature failed", eventUid: "e2", firstSeen: new Date(now - 2 * 86_400_000), lastSeen: new Date(now - 2 * 86_400_000), count: 1 },
        { clusterId: cluster.id, namespace: "web", image: "docker.io/old:1", controller: "kyverno", message: "old", eventUid: "e3", firstSeen: new Date(now - 60 * 86_400_000), lastSeen: new Date(now - 60 * 86_400_000), count: 1 },
      ],
    });
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("image facets and the CSV iteration follow the running inventory and filters", async () => {
    const f = await listImageFacets(db);
    expect(f).toEqual({ clusters: ["prod"], namespaces: ["pay", "web"], registries: ["docker.io", "ghcr.io"], signers: [`key:${FP}`], policies: ["release", "web-audit"] });
    const all = [];
    for await (const r of iterateImages(db, imageListQuery.parse({ pageSize: "1" }))) all.push(r);
    expect(all).toHaveLength(5);
    const verified = [];
    for await (const r of iterateImages(db, imageListQuery.parse({ verdict: "verified" }))) verified.push(r.digest);
    expect(verified).toEqual([d(1), d(2)]);
    // `failing`: failed, unsigned or error (the overview's "Failed · unsigned · error" tile links here)
    const failing = [];
    for await (const r of iterateImages(db, imageListQuery.parse({ verdict: "failing" }))) failing.push(r.digest);
    const expected = all.filter((r) => r.verdict === "failed" || r.verdict === "unsigned" || r.verdict === "error").map((r) => r.digest);
    expect(expected.length).toBeGreaterThan(0);
    expect(failing.sort()).toEqual(expected.sort());
    const capped = [];
    for await (const r of iterateImages(db, imageListQuery.parse({}), 2)) capped.push(r);
    expect(capped).toHaveLength(2);
  });

  it("image detail: evidence with Rekor index and source, placements with verdicts, history", async () => {
    const id = seeded.images.get(`ghcr.io/acme/pay@${d(1)}`)!;
    const img = (await getImageDetail(db, id))!;
    expect(img).toMatchObject({ digest: d(1), verdict: "verified", source: { repository: "https://github.com/acme/pay", commit: "abc123", builder: null } });
    expect(img.evidence).toEqual([expect.objectContaining({ kind: "signature", status: "valid", tlogLogIndex: "4243", keyFingerprint: FP })]);
    // null extensions are left out
    expect(img.evidence[0]!.certExtensions).toEqual({ sourceRepositoryUri: "https://github.com/acme/pay", sourceRepositoryDigest: "abc123" });
    expect(img.containers).toEqual([expect.objectContaining({ namespace: "pay", workload: "Deployment/api", verdicts: [expect.objectContaining({ policy: "release", verdict: "verified", policyVersion: 1 })] })]);
    expect(img.history.map((h) => h.verdict)).toEqual(["verified"]);
    expect(await getImageDetail(db, "00000000-0000-4000-8000-000000000000")).toBeNull();
  });

  it("namespaces: coverage at the latest snapshot; applicable policies and what enforcing would break", async () => {
    const list = await listNamespaceCoverage(db);
    expect(list.namespaces.map((n) => [n.namespace, n.containersTotal, n.containersVerified, n.coveragePct])).toEqual([
      ["pay", 3, 2, 66.6],
      ["web", 2, 0, 0],
    ]);
    const web = (await getNamespaceDetail(db, "prod", "web"))!;
    expect(web.trend).toHaveLength(1);
    expect(web.policies).toEqual([expect.objectContaining({ name: "web-audit", mode: "audit", containers: 2, verified: 0 })]);
    expect(web.policies[0]!.wouldBreak.map((w) => [w.pod, w.verdict])).toEqual(expect.arrayContaining([["w4", "unsigned"], ["w5", "unsigned"]]));
    const pay = (await getNamespaceDetail(db, "prod", "pay"))!;
    expect(pay.labels).toEqual({ team: "pay" });
    // an enforced policy already rejects what it does not verify: nothing listed
    expect(pay.policies).toEqual([expect.objectContaining({ name: "release", containers: 3, verified: 2, wouldBreak: [] })]);
    expect(await getNamespaceDetail(db, "prod", "nope")).toBeNull();
  });

  it("policies: verdict mix per policy, versions with their events, YAML, and what would break", async () => {
    const { policies } = await listPolicies(db);
    expect(policies.map((p) => [p.name, p.verdicts])).toEqual([
      ["release", { verified: 2, unsigned: 1 }],
      ["web-audit", { unsigned: 2 }],
    ]);
    const release = (await getPolicyDetail(db, releaseId))!;
    expect(release.versions).toEqual([expect.objectContaining({ version: 1, createdBy: "test", events: { verified: 2, unsigned: 1 } })]);
    expect(parsePolicyDocuments(release.yaml)[0]!.metadata.name).toBe("release");
    // an enforced policy lists the running containers it does not verify too (the Policies page's "Not verified" count links here)
    expect(release.wouldBreak.map((w) => w.verdict)).toEqual(["unsigned"]);
    const web = (await getPolicyDetail(db, webId))!;
    expect(web.wouldBreak).toHaveLength(2);
    expect(web.wouldBreak[0]).toMatchObject({ cluster: "prod", namespace: "web", verdict: "unsigned" });
  });

  it("rejections: period, filters, counts per day and attempts", async () => {
    const r = await listRejections(db, rejectionQuery.parse({}));
    expect(r.total).toBe(2);
    expect(r.attempts).toBe(5);
    expect(r.perDay.reduce((a, p) => a + p.count, 0)).toBe(5);
    expect(r.rows[0]).toMatchObject({ cluster: "prod", namespace: "pay", workload: "ReplicaSet/api-1", controller: "policy_controller", count: 4 });
    expect((await listRejections(db, rejectionQuery.parse({ controller: "kyverno" }))).total).toBe(1);
    expect((await listRejections(db, rejectionQuery.parse({ days: "90" }))).total).toBe(3);
    // each bar of the per-day chart opens that day's rejections: their attempts are the bar's figure
    const bars = (await listRejections(db, rejectionQuery.parse({ days: "90" }))).perDay;
    expect(bars).toHaveLength(3);
    for (const bar of bars) {
      const day = await listRejections(db, rejectionQuery.parse({ day: bar.day }));
      expect([bar.day, day.attempts, day.rows.length]).toEqual([bar.day, bar.count, day.total]);
      expect(day.perDay).toEqual([bar]);
      expect(day.total).toBeGreaterThan(0);
    }
    expect(rejectionQuery.safeParse({ day: "2026-02-30" }).success).toBe(false);
    expect(rejectionQuery.safeParse({ day: "yesterday" }).success).toBe(false);
    expect((await listRejections(db, rejectionQuery.parse({ q: "EVIL" }))).rows.map((x) => x.image)).toEqual(["ghcr.io/acme/evil:1"]);
  });

  it("rejections: Signet's own denials say whether their caller authenticated; rejections from Events do not", async () => {
    const cluster = await db.cluster.findUniqueOrThrow({ where: { name: "prod" } });
    const at = new Date(Date.now() - 60_000);
    const row = (name: string, callerAuthenticated: boolean) => ({
      clusterId: cluster.id, namespace: "pay", workloadKind: "Pod", workloadName: name, image: `ghcr.io/acme/${name}:1`, controller: "signet" as const,
      webhook: "validate.signet.dev", policyName: "release", decision: "denied", callerAuthenticated, message: "not verified", eventUid: `signet:${name}`, firstSeen: at, lastSeen: at,
    });
    await db.admissionRejection.createMany({ data: [row("forged", false), row("genuine", true)] });
    try {
      const signet = await listRejections(db, rejectionQuery.parse({ controller: "signet" }));
      expect(signet.rows.map((r) => [r.workload, r.decision, r.callerAuthenticated]).sort()).toEqual([
        ["Pod/forged", "denied", false],
        ["Pod/genuine", "denied", true],
      ]);
      expect((await listRejections(db, rejectionQuery.parse({ controller: "policy_controller" }))).rows.map((r) => r.callerAuthenticated)).toEqual([null]);
    } finally {
      await db.admissionRejection.deleteMany({ where: { controller: "signet" } });
    }
  });

  it("rejections: a rejected workload that runs links to its page; one that never ran, or runs elsewhere, does not", async () => {
    const cluster = await db.cluster.findUniqueOrThrow({ where: { name: "prod" } });
    const at = new Date(Date.now() - 60_000);
    const row = (namespace: string, workloadKind: string, workloadName: string) => ({
      clusterId: cluster.id, namespace, workloadKind, workloadName, image: "ghcr.io/acme/x:1", controller: "signet" as const,
      webhook: "validate.signet.dev", policyName: "release", decision: "warned", message: "not verified", eventUid: `signet:run-${namespace}-${workloadName}`, firstSeen: at, lastSeen: at,
    });
    // a Deployment's pods (pay/api), a bare pod (web/w4), a bare pod of another namespace (p1 runs in pay), a pod that never ran
    await db.admissionRejection.createMany({ data: [row("pay", "Deployment", "api"), row("web", "Pod", "w4"), row("web", "Pod", "p1"), row("pay", "Pod", "never")] });
    try {
      const rows = (await listRejections(db, rejectionQuery.parse({ controller: "signet" }))).rows;
      expect(rows.map((r) => [`${r.namespace}/${r.workload}`, r.workloadRunning]).sort()).toEqual([
        ["pay/Deployment/api", true],
        ["pay/Pod/never", false],
        ["web/Pod/p1", false],
        ["web/Pod/w4", true],
      ]);
      // the Events' rejection of a ReplicaSet that does not run itself
      expect((await listRejections(db, rejectionQuery.parse({ controller: "policy_controller" }))).rows.map((r) => r.workloadRunning)).toEqual([false]);
    } finally {
      await db.admissionRejection.deleteMany({ where: { controller: "signet" } });
    }
  });

  it("rejections under a policy, and under the policies trusting a key (the policy and Keys pages' links)", async () => {
    const cluster = await db.cluster.findUniqueOrThrow({ where: { name: "prod" } });
    const at = new Date(Date.now() - 60_000);
    const row = (name: string, policyName: string) => ({
      clusterId: cluster.id, namespace: "pay", workloadKind: "Pod", workloadName: name, image: `ghcr.io/acme/${name}:1`, controller: "signet" as const,
      webhook: "validate.signet.dev", policyName, decision: "denied", callerAuthenticated: true, message: "not verified", eventUid: `signet:${name}`, firstSeen: at, lastSeen: at,
    });
    await db.admissionRejection.createMany({ data: [row("under-release", "release"), row("under-web", "web-audit"), row("under-other", "other")] });
    try {
      const workloads = async (o: Record<string, string>) => (await listRejections(db, rejectionQuery.parse(o))).rows.map((r) => r.workload).sort();
      expect(await workloads({ policy: "release" })).toEqual(["Pod/under-release"]);
      // each row names the policy it was recorded under, linked when Signet has it
      const policyOf = new Map((await listRejections(db, rejectionQuery.parse({ controller: "signet" }))).rows.map((r) => [r.workload, r.policyId]));
      expect(Object.fromEntries(policyOf)).toEqual({ "Pod/under-release": releaseId, "Pod/under-web": webId, "Pod/under-other": null });
      expect(await workloads({ policy: "nope" })).toEqual([]);
      // both policies trust the one key (written inline in each): its rejections are theirs, not the others'
      const [key, ...more] = await listAuthorities(db);
      expect(more).toEqual([]);
      expect(key!.policies.map((p) => p.policy).sort()).toEqual(["release", "web-audit"]);
      expect(await workloads({ key: key!.name })).toEqual(["Pod/under-release", "Pod/under-web"]);
      expect(await workloads({ key: key!.name, policy: "web-audit" })).toEqual(["Pod/under-web"]);
      expect(await workloads({ key: "nobody" })).toEqual([]);
    } finally {
      await db.admissionRejection.deleteMany({ where: { controller: "signet" } });
    }
  });

  it("audit chain status is walked for every request (never a cached answer); export iteration pages through everything", async () => {
    const first = await getAuditChainStatus(db, tdb.url);
    expect(first).toMatchObject({ ok: true, problem: null });
    expect(first.checked).toBeGreaterThan(0);
    await appendAuditEvents(db, [{ kind: "system", details: { note: "grow" } }]);
    const grown = await getAuditChainStatus(db, tdb.url);
    expect(grown).toMatchObject({ ok: true, checked: first.checked + 1, head: { seq: expect.any(String) } });
    // concurrent callers share a walk that starts after the one in progress, never an older answer
    const [a, b, c] = [getAuditChainStatus(db, tdb.url), getAuditChainStatus(db, tdb.url), getAuditChainStatus(db, tdb.url)];
    const [ra, rb, rc] = await Promise.all([a, b, c]);
    expect(rb.checkedAt).toBe(rc.checkedAt);
    expect(rb.checkedAt >= ra.checkedAt).toBe(true);
    expect(b).toBe(c);
    expect(a).not.toBe(b);

    const seqs: string[] = [];
    for await (const e of iterateAuditEvents(db, auditQuery.parse({}))) seqs.push(e.seq);
    expect(seqs).toHaveLength(grown.checked);
    expect(seqs.map(BigInt)).toEqual([...seqs.map(BigInt)].sort((x, y) => (x > y ? -1 : 1)));
    const verdicts = [];
    for await (const e of iterateAuditEvents(db, auditQuery.parse({ kind: "verdict" }))) verdicts.push(e);
    expect(verdicts).toHaveLength(5);
  });

  it("compliance report: one row per running container and applicable policy, with signers and Rekor entries", async () => {
    const r = await buildComplianceReport(db, complianceQuery.parse({}));
    expect(r.summary).toEqual({ rows: 5, digests: 5, verified: 2 });
    const row = r.rows.find((x) => x.digest === d(1))!;
    expect(row).toMatchObject({ cluster: "prod", namespace: "pay", policy: "release", policyVersion: 1, verdict: "verified", signers: [`key:${FP}`], rekorLogIndexes: ["4243"], eventsInRange: 1 });
    const webOnly = await buildComplianceReport(db, complianceQuery.parse({ namespace: "web" }));
    expect(webOnly.rows.map((x) => x.verdict)).toEqual(["unsigned", "unsigned"]);
    // a range before the verdicts were recorded counts no events
    const old = await buildComplianceReport(db, complianceQuery.parse({ from: "2020-01-01", to: "2020-02-01" }));
    expect(old.rows.every((x) => x.eventsInRange === 0)).toBe(true);
  });

  it("CSV fields are quoted and spreadsheet formulas neutralised", () => {
    expect(csvField('a,"b"')).toBe('"a,""b"""');
    expect(csvField("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)");
    expect(csvField(null)).toBe("");
    expect(csvLine(["x", ["a", "b"], 3])).toBe("x,a b,3\r\n");
  });

  it("trust chain: a valid co-signer no policy trusts cannot change the source shown, and fields never mix", async () => {
    const id = seeded.images.get(`ghcr.io/acme/pay@${d(1)}`)!;
    // anyone with a (public-good style) certificate can attach a valid signature choosing its extensions
    await db.evidence.create({
      data: {
        imageId: id,
        kind: "signature",
        artifactDigest: d(300),
        layerDigest: d(301),
        mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
        status: "valid",
        signerKind: "keyless",
        certIdentity: "mallory@evil.test",
        certIssuer: "https://accounts.google.com",
        tlogLogIndex: 1n,
        certExtensions: { sourceRepositoryUri: "https://github.com/evil/x", sourceRepositoryDigest: "bad", buildSignerUri: "https://evil.test/builder", buildConfigUri: "https://evil.test/wf.yml" },
      },
    });
    const img = (await getImageDetail(db, id))!;
    // still the trusted signature's statement, and its null builder is not filled from the co-signer
    expect(img.source).toEqual({ repository: "https://github.com/acme/pay", commit: "abc123", builder: null, workflow: null, evidenceId: expect.any(String) });
    const trusted = img.evidence.find((e) => e.id === img.source.evidenceId)!;
    expect(trusted).toMatchObject({ keyFingerprint: FP, trusted: true });
    expect(img.evidence.find((e) => e.certIdentity === "mallory@evil.test")).toMatchObject({ status: "valid", trusted: false });

    // an image no policy verified shows no source at all, whatever a co-signer states
    const unverified = seeded.images.get(`ghcr.io/acme/pay@${d(3)}`)!;
    await db.evidence.create({
      data: {
        imageId: unverified,
        kind: "signature",
        artifactDigest: d(302),
        layerDigest: d(303),
        mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
        status: "valid",
        signerKind: "keyless",
        certIdentity: "mallory@evil.test",
        certIssuer: "https://accounts.google.com",
        certExtensions: { sourceRepositoryUri: "https://github.com/evil/x" },
      },
    });
    const other = (await getImageDetail(db, unverified))!;
    expect(other.source).toEqual({ repository: null, commit: null, builder: null, workflow: null, evidenceId: null });
    expect(other.evidence.every((e) => !e.trusted)).toBe(true);
  });

  it("a namespace's counts under a policy open the containers they count: those awaiting a verdict too (figure = rows)", async () => {
    const list = (namespace: string, policy: string, verdict: readonly string[], extra: Record<string, string> = {}) =>
      listContainersInBuckets(db, containerListQuery.parse({ cluster: "prod", namespace, policy, verdict: verdict.join(","), ...extra }));
    const figuresAndRows = async (namespace: string) => {
      const detail = (await getNamespaceDetail(db, "prod", namespace))!;
      return Promise.all(
        detail.policies.map(async (p) => {
          const [all, verified, notVerified] = await Promise.all([list(namespace, p.id, IN_SCOPE_VERDICTS), list(namespace, p.id, ["verified"]), list(namespace, p.id, NOT_VERIFIED_IN_SCOPE)]);
          return {
            policy: p.name,
            figures: [p.containers, p.verified, p.containers - p.verified],
            totals: [all.total, verified.total, notVerified.total],
            rows: [all.rows.length, verified.rows.length, notVerified.rows.length],
          };
        }),
      );
    };
    const agree = (r: { figures: number[]; totals: number[]; rows: number[] }[]) => r.every((x) => JSON.stringify(x.figures) === JSON.stringify(x.totals) && JSON.stringify(x.totals) === JSON.stringify(x.rows));
    const pay = await figuresAndRows("pay");
    expect(pay).toEqual([{ policy: "release", figures: [3, 2, 1], totals: [3, 2, 1], rows: [3, 2, 1] }]);

    // a policy saved since the last evaluation: the namespace page counts its containers (not verified
    // yet), and its links open them, marked as awaiting a verdict
    const fresh = (
      await savePolicyDocument(
        db,
        parsePolicyDocuments(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: web-new }
spec:
  mode: audit
  requireTlog: false
  scope: { namespaces: [web] }
  authorities: [ { name: k, key: { pem: ${JSON.stringify(PEM)} } } ]`)[0]!,
        { actor: "test" },
      )
    ).policyId;
    const web = await figuresAndRows("web");
    expect(web).toEqual([
      { policy: "web-audit", figures: [2, 0, 2], totals: [2, 0, 2], rows: [2, 0, 2] },
      { policy: "web-new", figures: [2, 0, 2], totals: [2, 0, 2], rows: [2, 0, 2] },
    ]);
    const pending = await list("web", fresh, ["pending"]);
    expect(pending.rows.map((r) => [r.pod, r.pending, r.verdicts.some((v) => v.policyId === fresh)]).sort()).toEqual([
      ["w4", true, false],
      ["w5", true, false],
    ]);
    // no stored verdict yet: the policy's own counts (Verdict rows) are zero, and so is their list
    expect((await listContainersInBuckets(db, containerListQuery.parse({ policy: fresh }))).total).toBe(0);
    // not in its scope: nothing awaits a verdict in pay
    expect((await list("pay", fresh, ["pending"])).total).toBe(0);

    // one container evaluated since: the stored verdicts first, then those awaiting one, in pages
    const w4 = seeded.images.get(`docker.io/library/web@${d(4)}`)!;
    await evaluateImage(db, { imageId: w4, facts: [], discovery: { outcome: "none" }, policies: await loadActivePolicies(db), now: new Date(), trigger: "scan" });
    const paged = await Promise.all([1, 2, 3].map((page) => list("web", fresh, IN_SCOPE_VERDICTS, { pageSize: "1", page: String(page) })));
    expect(paged.map((l) => [l.total, l.rows.map((r) => `${r.pod}:${r.pending ? "pending" : r.verdicts.find((v) => v.policyId === fresh)?.verdict}`)])).toEqual([
      [2, ["w4:unsigned"]],
      [2, ["w5:pending"]],
      [2, []],
    ]);
    expect(agree(await figuresAndRows("web"))).toBe(true);
    expect(() => containerListQuery.parse({ policy: fresh, verdict: "nope" })).toThrow();

    // a disabled policy awaits no verdict: the namespace page no longer lists it, its list has none pending
    await db.policy.update({ where: { id: fresh }, data: { enabled: false } });
    expect((await list("web", fresh, ["pending"])).total).toBe(0);
  });
});
