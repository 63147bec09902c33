import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditChain } from "@/lib/audit/store";
import { createDb, type Db } from "@/lib/db/client";
import { loadActivePolicies } from "@/lib/policy/store";
import { EVALUATION_BUDGET_CONTAINERS, evaluateImages, evaluationsInFlight, UNRESOLVED_CONTAINERS_A_TRANSACTION } from "@/lib/scan/evaluate-image";
import { reevaluateUnresolvedContainers } from "@/lib/scan/pipeline";
import { updateRunningContainers } from "@/lib/scan/persist-inventory";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { keySignatureFact, saveKeyPolicy } from "@/tests/support/policies";

const PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
/** Per image: more than half the budget, so two batches of one image each fit in it and three do not. */
const PER_IMAGE = Math.floor(EVALUATION_BUDGET_CONTAINERS * 0.4);

/**
 * The containers a process evaluates at once are bounded (ADR 0019, the 100,000-pod scan whose worker
 * exhausted its heap with eight first evaluations of 2,500 containers each in flight): batches of
 * images with many containers each wait for the budget before they read their containers, and every
 * container still gets exactly one verdict and one event.
 */
describe("evaluation budget: containers evaluated at once per process", () => {
  let tdb: TestDatabase;
  let db: Db;
  let imageIds: string[];

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 8);
    await saveKeyPolicy(db, PEM, { images: ["ghcr.io/acme/**"] });
    const cluster = await db.cluster.create({ data: { name: "big" } });
    const ns = await db.namespace.create({ data: { clusterId: cluster.id, name: "prod", labels: { env: "prod" } } });
    await db.$executeRaw`
      INSERT INTO "Image" (id, registry, repository, digest, discovery)
      SELECT gen_random_uuid(), 'ghcr.io', 'acme/app-' || g, 'sha256:' || encode(sha256(g::text::bytea), 'hex'), 'found' FROM generate_series(1, 3) g`;
    // PER_IMAGE bare pods with one container each, per image
    await db.$executeRaw`
      WITH slots AS (SELECT i.id, i.registry, i.repository, i.digest, k FROM "Image" i, generate_series(1, ${PER_IMAGE}::int) k),
      pods AS (
        INSERT INTO "Pod" (id, "clusterId", "namespaceId", uid, name)
        SELECT gen_random_uuid(), ${cluster.id}::uuid, ${ns.id}::uuid, s.id || '-' || s.k, split_part(s.repository, '/', 2) || '-' || s.k FROM slots s
        RETURNING id, uid)
      INSERT INTO "Container" (id, "podId", "imageId", kind, name, "imageRef", digest, "digestSource")
      SELECT gen_random_uuid(), p.id, s.id, 'app', 'app', s.registry || '/' || s.repository || ':v1', s.digest, 'observed'
      FROM slots s JOIN pods p ON p.uid = s.id || '-' || s.k`;
    // the running-container counts, as a scan recounts them before its checks (the budget reads them)
    await updateRunningContainers(db);
    imageIds = (await db.image.findMany({ select: { id: true }, orderBy: { repository: "asc" } })).map((i) => i.id);
  }, 120_000);
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("three first evaluations at once: two within the budget, the third after one of them; one verdict and one event per container", async () => {
    const policies = await loadActivePolicies(db);
    const now = new Date();
    const facts = [keySignatureFact(PEM, "sig-1")];
    let peak = 0;
    let waited = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { containers, waiting } = evaluationsInFlight();
        peak = Math.max(peak, containers);
        waited = Math.max(waited, waiting);
        await new Promise((r) => setImmediate(r));
      }
    })();
    // one batch per image, as three job slots of a worker run them
    const results = await Promise.all(imageIds.map((imageId) => evaluateImages(db, [{ imageId, facts, discovery: { outcome: "found" }, policies, now, trigger: "scan" }])));
    sampling = false;
    await sampler;
    expect(results.map(([r]) => r)).toEqual(imageIds.map(() => ({ containers: PER_IMAGE, verdicts: PER_IMAGE, changed: PER_IMAGE })));
    // two batches' containers at once, never three; the third waited its turn
    expect(peak).toBe(2 * PER_IMAGE);
    expect(peak).toBeLessThanOrEqual(EVALUATION_BUDGET_CONTAINERS);
    expect(waited).toBe(1);
    expect(evaluationsInFlight()).toEqual({ containers: 0, waiting: 0 });

    const [counts] = await db.$queryRaw<{ verdicts: number; verified: number; events: number; distinct: number }[]>`
      SELECT (SELECT count(*)::int FROM "Verdict") AS verdicts, (SELECT count(*)::int FROM "Verdict" WHERE value = 'verified') AS verified,
             (SELECT count(*)::int FROM "VerificationEvent" WHERE kind = 'verdict') AS events,
             (SELECT count(DISTINCT "containerId")::int FROM "VerificationEvent" WHERE kind = 'verdict') AS distinct`;
    expect(counts).toEqual({ verdicts: 3 * PER_IMAGE, verified: 3 * PER_IMAGE, events: 3 * PER_IMAGE, distinct: 3 * PER_IMAGE });
    expect((await verifyAuditChain(db)).ok).toBe(true);

    // evaluated again with nothing changed: the cheap path takes none of the budget and writes no event
    const again = await Promise.all(imageIds.map((imageId) => evaluateImages(db, [{ imageId, facts, discovery: { outcome: "found" }, policies, now: new Date(), trigger: "scan" }])));
    expect(again.map(([r]) => r!.reused)).toEqual([true, true, true]);
    expect(await db.verificationEvent.count({ where: { kind: "verdict" } })).toBe(3 * PER_IMAGE);
  }, 120_000);

  it("containers whose digest is unknown are evaluated a part at a time: each gets one error verdict and one event", async () => {
    // a registry outage leaves every container started by tag without a digest; 2.5 parts of them
    const n = Math.floor(UNRESOLVED_CONTAINERS_A_TRANSACTION * 2.5);
    const cluster = await db.cluster.findFirstOrThrow({ where: { name: "big" } });
    const ns = await db.namespace.create({ data: { clusterId: cluster.id, name: "tagged", labels: {} } });
    await db.$executeRaw`
      WITH pods AS (
        INSERT INTO "Pod" (id, "clusterId", "namespaceId", uid, name)
        SELECT gen_random_uuid(), ${cluster.id}::uuid, ${ns.id}::uuid, 'tagged-' || g, 'tagged-' || g FROM generate_series(1, ${n}::int) g
        RETURNING id, name)
      INSERT INTO "Container" (id, "podId", kind, name, "imageRef")
      SELECT gen_random_uuid(), p.id, 'app', 'app', 'ghcr.io/acme/' || p.name || ':v1' FROM pods p`;
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, evaluationsInFlight().containers);
        await new Promise((r) => setImmediate(r));
      }
    })();
    expect(await reevaluateUnresolvedContainers(db, { trigger: "scan" })).toBe(n);
    sampling = false;
    await sampler;
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(UNRESOLVED_CONTAINERS_A_TRANSACTION);
    const count = async () => {
      const [c] = await db.$queryRaw<{ verdicts: number; errors: number; events: number; distinct: number }[]>`
        SELECT (SELECT count(*)::int FROM "Verdict" v JOIN "Container" c ON c.id = v."containerId" WHERE c.digest IS NULL) AS verdicts,
               (SELECT count(*)::int FROM "Verdict" v JOIN "Container" c ON c.id = v."containerId" WHERE c.digest IS NULL AND v.value = 'error') AS errors,
               (SELECT count(*)::int FROM "VerificationEvent" WHERE kind = 'verdict' AND "imageDigest" IS NULL AND namespace = 'tagged') AS events,
               (SELECT count(DISTINCT "containerId")::int FROM "VerificationEvent" WHERE kind = 'verdict' AND "imageDigest" IS NULL AND namespace = 'tagged') AS distinct`;
      return c;
    };
    expect(await count()).toEqual({ verdicts: n, errors: n, events: n, distinct: n });
    // again with nothing changed: the same verdicts, no new event
    expect(await reevaluateUnresolvedContainers(db, { trigger: "scan" })).toBe(n);
    expect(await count()).toEqual({ verdicts: n, errors: n, events: n, distinct: n });
    expect((await verifyAuditChain(db)).ok).toBe(true);
  }, 120_000);
});
