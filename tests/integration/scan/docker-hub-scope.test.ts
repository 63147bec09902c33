import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listImages } from "@/lib/data/images";
import { createDb, type Db } from "@/lib/db/client";
import { imageListQuery } from "@/lib/dto/read";
import { parseImageReference } from "@/lib/kube/image-ref";
import { importKyvernoPolicy } from "@/lib/policy/import-cluster";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { loadActivePolicies, savePolicyDocument } from "@/lib/policy/store";
import { evaluateImage } from "@/lib/scan/evaluate-image";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { seedInventory } from "@/tests/support/inventory";

const PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const DIGEST = `sha256:${"7".repeat(64)}`;

/**
 * Docker Hub names end to end: containers written `redis`, `library/redis`, `docker.io/redis:7` and
 * `index.docker.io/library/redis` run one canonical image, and a Kyverno-imported scope
 * (`docker.io/library/redis*`) and a user scope (`docker.io/redis*`) give each of them a verdict.
 */
describe("Docker Hub image names in scopes", () => {
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

  it("every written form is one image, in scope of both policies", async () => {
    const written = ["redis", "library/redis", "docker.io/redis:7", "index.docker.io/library/redis", "bitnami/redis"];
    const canonical = written.map((w) => parseImageReference(w)!.name);
    expect(new Set(canonical.slice(0, 4))).toEqual(new Set(["index.docker.io/library/redis"]));
    // inventory stores the canonical name and keeps the reference as written
    const seeded = await seedInventory(db, {
      cluster: "c",
      namespaces: [{ name: "cache", pods: written.map((w, i) => ({ name: `p${i}`, containers: [{ name: "redis", image: `${canonical[i]}@${DIGEST}` }] })) }],
    });
    for (const [i, w] of written.entries()) {
      await db.container.update({ where: { id: seeded.containers[`cache/p${i}/redis`]! }, data: { imageRef: `${w}@${DIGEST}` } });
    }
    const kyverno = importKyvernoPolicy({
      apiVersion: "kyverno.io/v1",
      kind: "ClusterPolicy",
      metadata: { name: "redis" },
      spec: { rules: [{ name: "r", verifyImages: [{ imageReferences: ["docker.io/library/redis*"], attestors: [{ entries: [{ keys: { publicKeys: PEM } }] }] }] }] },
    }).documents[0]!;
    await savePolicyDocument(db, kyverno, { actor: "import", source: "cluster_import", readOnly: true, sourceCluster: "c", sourceObject: "ClusterPolicy/redis" });
    await savePolicyDocument(db, parsePolicyDocuments(`apiVersion: signet.dev/v1\nkind: Policy\nmetadata: { name: user }\nspec:\n  scope: { images: ["docker.io/redis*"] }\n  authorities: [ { name: k, key: { pem: ${JSON.stringify(PEM)} } } ]`)[0]!, { actor: "t" });
    const policies = await loadActivePolicies(db);
    for (const imageId of new Set(seeded.images.values())) {
      await evaluateImage(db, { imageId, facts: [], discovery: { outcome: "none" }, policies, now: new Date(), trigger: "scan" });
    }
    const verdicts = await db.verdict.findMany({ include: { policy: true, container: { include: { pod: true } } } });
    const applied = (pod: string) => verdicts.filter((v) => v.container.pod.name === pod && v.value !== "unmatched").map((v) => v.policy.name).sort();
    for (const i of [0, 1, 2, 3]) expect(applied(`p${i}`), written[i]).toEqual(["kyverno-redis-r", "user"]);
    // bitnami/redis is another repository: neither scope applies
    expect(applied("p4")).toEqual([]);
  });

  it("search finds the image by any Docker Hub spelling", async () => {
    const found = async (q: string) => (await listImages(db, imageListQuery.parse({ q }))).rows.map((r) => `${r.registry}/${r.repository}`).sort();
    for (const q of ["docker.io/redis", "docker.io/library/redis:7", "index.docker.io/library/redis", "redis"]) {
      expect(await found(q), q).toContain("index.docker.io/library/redis");
    }
    expect(await found("docker.io/redis")).toEqual(["index.docker.io/library/redis"]);
    expect(await found("docker.io/bitnami/redis")).toEqual(["index.docker.io/bitnami/redis"]);
  });
});
