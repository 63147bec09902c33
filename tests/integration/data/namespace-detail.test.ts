import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { getNamespaceDetail, WOULD_BREAK_SHOWN } from "@/lib/data/namespaces";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { seedInventory } from "@/tests/support/inventory";
import { generateSigningKey } from "@/tests/support/registry-fixtures";
import { saveSigningPolicy } from "@/tests/support/scan";

/**
 * A namespace page counts every running container of the namespace, however many: it read at most
 * 5,000 and its figures were silently low past that. The containers enforcement would reject are
 * counted all and listed up to WOULD_BREAK_SHOWN.
 */
describe("a namespace with more containers than a page holds", () => {
  let tdb: TestDatabase;
  let db: Db;
  const PODS = 5_100;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
    await saveSigningPolicy(db, "registry.example", generateSigningKey().publicKeyPem, { mode: "audit" });
    await seedInventory(db, {
      cluster: "prod",
      namespaces: [
        {
          name: "batch",
          pods: Array.from({ length: PODS }, (_, i) => ({ name: `job-${i}`, containers: [{ name: "app", image: `registry.example/apps/job@sha256:${(i % 50).toString(16).padStart(64, "0")}` }] })),
        },
      ],
    });
    // every container judged: the first ten (by id) verified, the rest unsigned
    await db.$executeRaw`
      INSERT INTO "Verdict" (id, "containerId", "policyId", "policyVersion", value, "lastKnownValue")
      SELECT gen_random_uuid(), c.id, p.id, p."currentVersion",
             (CASE WHEN row_number() OVER (ORDER BY c.id) <= 10 THEN 'verified' ELSE 'unsigned' END)::"VerdictValue",
             (CASE WHEN row_number() OVER (ORDER BY c.id) <= 10 THEN 'verified' ELSE 'unsigned' END)::"VerdictValue"
      FROM "Container" c CROSS JOIN "Policy" p`;
  }, 180_000);

  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("counts all of them; lists the first of those enforcement would reject and counts the rest", async () => {
    const detail = (await getNamespaceDetail(db, "prod", "batch"))!;
    expect(detail.policies).toHaveLength(1);
    const [policy] = detail.policies;
    expect(policy).toMatchObject({ mode: "audit", containers: PODS, verified: 10, wouldBreakTotal: PODS - 10 });
    expect(policy!.wouldBreak).toHaveLength(WOULD_BREAK_SHOWN);
    expect(new Set(policy!.wouldBreak.map((w) => w.verdict))).toEqual(new Set(["unsigned"]));
  }, 60_000);
});
