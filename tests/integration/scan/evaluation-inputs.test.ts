import { generateKeyPairSync } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { loadActivePolicies } from "@/lib/policy/store";
import { evaluateImage } from "@/lib/scan/evaluate-image";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { seedInventory } from "@/tests/support/inventory";
import { keySignatureFact, savePolicy } from "@/tests/support/policies";

const PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const DIGEST = `sha256:${"cd".repeat(32)}`;
const IMAGE = `ghcr.io/acme/app@${DIGEST}`;

/**
 * An evaluation records the part of the image's digest its live containers make, with the snapshot it
 * read them under (ADR 0027); the next one takes it instead of reading the containers while no change
 * of them is unseen by that snapshot. Every kind of change the digest covers must make the next
 * evaluation read again: a container added, moved or re-referenced, a pod deleted or moved to another
 * workload, a namespace relabelled — including a change committed by a transaction still open when
 * the snapshot was taken. Each case below fails if its trigger is missing (the recorded part would be
 * taken, and the change would get no verdict).
 */
describe("the containers' part of an evaluation, recorded", () => {
  let tdb: TestDatabase;
  let db: Db;
  let imageId: string;
  let clusterId: string;
  let containers: Record<string, string>;
  const facts = [keySignatureFact(PEM, "m1/l1")];

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
    const seeded = await seedInventory(db, {
      cluster: "prod-eu",
      namespaces: [
        { name: "payments", labels: { env: "prod" }, pods: [{ name: "api-1", workload: "api", containers: [{ name: "app", image: IMAGE }] }] },
        { name: "sandbox", labels: { env: "dev" }, pods: [{ name: "try", containers: [{ name: "app", image: IMAGE }] }] },
      ],
    });
    imageId = seeded.images.get(IMAGE)!;
    clusterId = seeded.clusterId;
    containers = seeded.containers;
    await db.authority.create({ data: { name: "release-key", kind: "key", publicKeyPem: PEM } });
    await savePolicy(db, {
      name: "prod",
      requireTlog: false,
      scope: { namespaceSelector: { matchLabels: { env: "prod" } }, images: ["ghcr.io/acme/**"] },
      authorities: [{ name: "release", key: { ref: "release-key" } }],
    });
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  const run = async () => evaluateImage(db, { imageId, facts, discovery: { outcome: "found" }, policies: await loadActivePolicies(db), now: new Date(), trigger: "scan" });
  const verdicted = async () => (await db.verdict.findMany({ select: { containerId: true } })).map((v) => v.containerId).sort();
  const pending = async () => db.imageInventoryChange.count({ where: { imageId } });

  it("is recorded by an evaluation, taken by the next one, and its seen changes pruned", async () => {
    expect(await run()).toEqual({ containers: 2, verdicts: 1, changed: 1 });
    const image = await db.image.findUniqueOrThrow({ where: { id: imageId } });
    expect(image.containersInputs).toMatch(/^\d+:\d+:/);
    expect(image).toMatchObject({ evaluatedContainers: 2, evaluatedVerdicts: 1 });
    expect(await pending()).toBe(0);
    expect(await run()).toEqual({ containers: 2, verdicts: 1, changed: 0, reused: true });
    // taken, not read: a recorded part that no longer matches makes the evaluation run in full
    await db.image.update({ where: { id: imageId }, data: { containersDigest: "tampered" } });
    expect((await run()).reused).toBeUndefined();
    expect((await db.image.findUniqueOrThrow({ where: { id: imageId } })).containersDigest).not.toBe("tampered");
    expect((await run()).reused).toBe(true);
  });

  it("a container added is read, and gets its verdict", async () => {
    const pod = await db.pod.findFirstOrThrow({ where: { name: "api-1" } });
    const added = await db.container.create({ data: { podId: pod.id, imageId, kind: "app", name: "sidecar", imageRef: IMAGE, digest: DIGEST, digestSource: "observed" } });
    expect(await pending()).toBe(1);
    expect(await run()).toMatchObject({ containers: 3, verdicts: 2, changed: 1 });
    expect(await verdicted()).toEqual([containers["payments/api-1/app"], added.id].sort());
    expect(await pending()).toBe(0);
    containers["payments/api-1/sidecar"] = added.id;
  });

  it("a namespace relabelled into scope is read", async () => {
    await db.namespace.updateMany({ where: { name: "sandbox" }, data: { labels: { env: "prod" } } });
    expect(await run()).toMatchObject({ containers: 3, verdicts: 3, changed: 1 });
    expect(await verdicted()).toContain(containers["sandbox/try/app"]);
  });

  it("a pod deleted is read: its container leaves the image", async () => {
    await db.pod.updateMany({ where: { name: "try" }, data: { deletedAt: new Date() } });
    expect(await run()).toMatchObject({ containers: 2, verdicts: 2 });
    expect((await db.image.findUniqueOrThrow({ where: { id: imageId } })).evaluatedContainers).toBe(2);
  });

  it("a pod moved to another workload, and a container re-referenced, are read", async () => {
    const other = await db.workload.create({ data: { clusterId, namespaceId: (await db.namespace.findFirstOrThrow({ where: { name: "payments" } })).id, kind: "StatefulSet", name: "api" } });
    const before = (await db.image.findUniqueOrThrow({ where: { id: imageId } })).containersDigest;
    await db.pod.updateMany({ where: { name: "api-1" }, data: { workloadId: other.id } });
    expect((await run()).reused).toBeUndefined();
    const moved = (await db.image.findUniqueOrThrow({ where: { id: imageId } })).containersDigest;
    expect(moved).not.toBe(before);
    await db.container.update({ where: { id: containers["payments/api-1/sidecar"]! }, data: { imageRef: `ghcr.io/acme/app:1.2@${DIGEST}` } });
    expect((await run()).reused).toBeUndefined();
    expect((await db.image.findUniqueOrThrow({ where: { id: imageId } })).containersDigest).not.toBe(moved);
    expect((await run()).reused).toBe(true);
  });

  it("a change committed by a transaction open while the evaluation read is read next time", async () => {
    const pod = await db.pod.findFirstOrThrow({ where: { name: "api-1" } });
    const client = new pg.Client({ connectionString: tdb.url });
    await client.connect();
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO "Container" (id, "podId", "imageId", kind, name, "imageRef", digest, "digestSource") VALUES (gen_random_uuid(), $1, $2, 'app', 'late', $3, $4, 'observed') RETURNING id`,
        [pod.id, imageId, IMAGE, DIGEST],
      );
      // evaluated in full while that transaction is open (its recorded part made not to match): the
      // part recorded now does not have its container, and the snapshot recorded with it shows the
      // transaction in progress
      await db.image.update({ where: { id: imageId }, data: { containersDigest: "tampered" } });
      expect(await run()).toMatchObject({ containers: 2, changed: 0 });
      const recorded = await db.image.findUniqueOrThrow({ where: { id: imageId } });
      expect(recorded.containersDigest).not.toBe("tampered");
      await client.query("COMMIT");
      // its change was not visible in the snapshot recorded: read now, and the container judged
      expect(await run()).toMatchObject({ containers: 3, changed: 1 });
      expect(await verdicted()).toContain(rows[0]!.id);
    } finally {
      await client.end();
    }
  });

  it("writes each verdict with its container's namespace (the list by policy in a namespace reads it), without the database's fallback", async () => {
    const pod = await db.pod.findFirstOrThrow({ where: { name: "api-1" } });
    // the trigger that fills a verdict inserted without its namespace is off: the evaluation gives it
    await db.$executeRaw`ALTER TABLE "Verdict" DISABLE TRIGGER "Verdict_namespace_insert"`;
    try {
      const added = await db.container.create({ data: { podId: pod.id, imageId, kind: "app", name: "metrics", imageRef: IMAGE, digest: DIGEST, digestSource: "observed" } });
      expect(await run()).toMatchObject({ changed: 1 });
      expect(await db.verdict.findFirstOrThrow({ where: { containerId: added.id }, select: { namespaceId: true } })).toEqual({ namespaceId: pod.namespaceId });
      expect(await db.verdict.count({ where: { namespaceId: null } })).toBe(0);
    } finally {
      await db.$executeRaw`ALTER TABLE "Verdict" ENABLE TRIGGER "Verdict_namespace_insert"`;
    }
  });
});
