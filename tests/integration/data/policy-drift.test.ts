import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DRIFT_DAYS, getPolicyDrift } from "@/lib/data/drift";
import { listContainersInBuckets } from "@/lib/data/drilldown";
import { containerListQuery } from "@/lib/dto/drilldown";
import { FAILING_VERDICTS } from "@/lib/dto/read";
import { listRejections } from "@/lib/data/rejections";
import { rejectionQuery } from "@/lib/dto/dashboard";
import { createDb, type Db } from "@/lib/db/client";
import { publicKeyFingerprint } from "@/lib/policy/compile";
import { importClusterImagePolicy } from "@/lib/policy/import-cluster";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { loadActivePolicies, savePolicyDocument } from "@/lib/policy/store";
import { evaluateImage } from "@/lib/scan/evaluate-image";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { seedInventory } from "@/tests/support/inventory";

const PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const FP = publicKeyFingerprint(PEM);
const d = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;

/** The drift view of an imported ClusterImagePolicy: the cluster's rejections beside Signet's verdicts. */
describe("policy drift", () => {
  let tdb: TestDatabase;
  let db: Db;
  let importedId: string;
  let ownId: string;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
    const seeded = await seedInventory(db, {
      cluster: "prod",
      namespaces: [{ name: "pay", pods: [1, 2].map((i) => ({ name: `p${i}`, workload: "api", containers: [{ name: "app", image: `ghcr.io/acme/pay@${d(i)}` }] })) }],
    });
    const cip = importClusterImagePolicy({
      apiVersion: "policy.sigstore.dev/v1beta1",
      kind: "ClusterImagePolicy",
      metadata: { name: "release" },
      spec: { images: [{ glob: "ghcr.io/acme/**" }], authorities: [{ name: "k", key: { data: PEM } }] },
    }).documents[0]!;
    importedId = (await savePolicyDocument(db, cip, { actor: "import", source: "cluster_import", readOnly: true, sourceCluster: "prod", sourceObject: "ClusterImagePolicy/release" })).policyId;
    ownId = (
      await savePolicyDocument(db, parsePolicyDocuments(`apiVersion: signet.dev/v1\nkind: Policy\nmetadata: { name: own }\nspec:\n  authorities: [ { name: k, key: { pem: ${JSON.stringify(PEM)} } } ]`)[0]!, { actor: "t" })
    ).policyId;
    const policies = await loadActivePolicies(db);
    for (const [ref, imageId] of seeded.images) {
      const signed = ref.endsWith(d(1));
      await evaluateImage(db, {
        imageId,
        facts: signed ? [{ id: `${d(100)}#0`, kind: "signature", status: "valid", reasons: [], signer: { kind: "key", fingerprints: [FP] }, tlog: null }] : [],
        discovery: signed ? { outcome: "found" } : { outcome: "none" },
        policies,
        now: new Date(),
        trigger: "scan",
      });
    }
    const cluster = await db.cluster.findUniqueOrThrow({ where: { name: "prod" } });
    const at = new Date();
    const base = { clusterId: cluster.id, namespace: "pay", workloadKind: "ReplicaSet", workloadName: "api-1", firstSeen: at, lastSeen: at, message: "denied" };
    await db.admissionRejection.createMany({
      data: [
        { ...base, eventUid: "unsigned", image: `ghcr.io/acme/pay@${d(2)}`, controller: "policy_controller", policyName: "release", count: 3 },
        { ...base, eventUid: "verified", image: `ghcr.io/acme/pay@${d(1)}`, controller: "policy_controller", policyName: "release" },
        { ...base, eventUid: "never-ran", image: "ghcr.io/acme/other:1", controller: "policy_controller", policyName: "release" },
        { ...base, eventUid: "other-policy", image: `ghcr.io/acme/pay@${d(2)}`, controller: "policy_controller", policyName: "other" },
        { ...base, eventUid: "other-engine", image: `ghcr.io/acme/pay@${d(2)}`, controller: "kyverno", policyName: "release" },
      ],
    });
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("lists the source's rejections with Signet's verdict and whether they agree", async () => {
    const drift = (await getPolicyDrift(db, importedId))!;
    expect(drift).toMatchObject({ imported: true, cluster: "prod", sourceObject: "ClusterImagePolicy/release", mode: "enforce" });
    expect(drift.summary).toEqual({ rejections: 3, agree: 1, disagree: 1, unknown: 1, runningDenied: 1 });
    const byImage = Object.fromEntries(drift.rejections.map((r) => [r.image, [r.signetVerdict, r.agreement, r.count]]));
    expect(byImage).toEqual({
      [`ghcr.io/acme/pay@${d(2)}`]: ["unsigned", "agree", 3],
      [`ghcr.io/acme/pay@${d(1)}`]: ["verified", "disagree", 1],
      "ghcr.io/acme/other:1": [null, "unknown", 1],
    });
    expect(drift.runningDenied).toEqual([expect.objectContaining({ namespace: "pay", image: `ghcr.io/acme/pay@${d(2)}`, verdict: "unsigned" })]);
  });

  it("the drift's counts open the lists they count (figure = rows): its rejections, the running containers it would deny", async () => {
    const name = (await db.policy.findUniqueOrThrow({ where: { id: importedId } })).name;
    const cluster = await db.cluster.findUniqueOrThrow({ where: { name: "prod" } });
    // a rejection older than the drift's period is neither counted nor listed
    const old = new Date(Date.now() - (DRIFT_DAYS + 2) * 86_400_000);
    await db.admissionRejection.create({
      data: { clusterId: cluster.id, namespace: "pay", eventUid: "too-old", image: "ghcr.io/acme/old:1", controller: "policy_controller", policyName: "release", message: "denied", firstSeen: old, lastSeen: old },
    });
    try {
      const drift = (await getPolicyDrift(db, importedId))!;
      const rejections = await listRejections(db, rejectionQuery.parse({ policy: name, days: String(DRIFT_DAYS) }));
      expect([drift.summary.rejections, rejections.total, rejections.rows.length]).toEqual([3, 3, 3]);
      const denied = await listContainersInBuckets(db, containerListQuery.parse({ policy: importedId, cluster: "prod", verdict: FAILING_VERDICTS.join(",") }));
      expect([drift.summary.runningDenied, denied.total, denied.rows.length]).toEqual([1, 1, 1]);
      expect(denied.rows.map((r) => r.id)).toEqual(drift.runningDenied.map((r) => r.containerId));
    } finally {
      await db.admissionRejection.deleteMany({ where: { eventUid: "too-old" } });
    }
  });

  it("the rejections list under the imported policy: its source object's, in its cluster, each row naming the policy", async () => {
    const name = (await db.policy.findUniqueOrThrow({ where: { id: importedId } })).name;
    const under = await listRejections(db, rejectionQuery.parse({ policy: name }));
    expect(under.rows.map((r) => r.image).sort()).toEqual(["ghcr.io/acme/other:1", `ghcr.io/acme/pay@${d(1)}`, `ghcr.io/acme/pay@${d(2)}`]);
    expect(under.rows.every((r) => r.controller === "policy_controller" && r.policyId === importedId)).toBe(true);
    const all = (await listRejections(db, rejectionQuery.parse({}))).rows;
    expect(all.filter((r) => r.policyId === null).map((r) => `${r.controller}/${r.policyName}`).sort()).toEqual(["kyverno/release", "policy_controller/other"]);
  });

  it("has nothing to compare for a policy written in Signet, and null for an unknown id", async () => {
    expect((await getPolicyDrift(db, ownId))!).toMatchObject({ imported: false, rejections: [], summary: { rejections: 0 } });
    expect(await getPolicyDrift(db, "00000000-0000-4000-8000-000000000000")).toBeNull();
  });
});
