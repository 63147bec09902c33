import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditChain } from "@/lib/audit/store";
import { getContainerDetail } from "@/lib/data/drilldown";
import { createDb, type Db } from "@/lib/db/client";
import { publicKeyFingerprint } from "@/lib/policy/compile";
import type { EvidenceFact } from "@/lib/policy/facts";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { loadActivePolicies, savePolicyDocument } from "@/lib/policy/store";
import { evaluateImage } from "@/lib/scan/evaluate-image";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { seedInventory } from "@/tests/support/inventory";
import { keySignatureFact } from "@/tests/support/policies";

const PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const DIGEST = `sha256:${"ab".repeat(32)}`;
const IMAGE = `ghcr.io/acme/app@${DIGEST}`;

describe("evaluate an image and store verdicts + events", () => {
  let tdb: TestDatabase;
  let db: Db;
  let imageId: string;
  let containers: Record<string, string>;
  const facts: EvidenceFact[] = [keySignatureFact(PEM, "m1/l1")];
  const policyYaml = (mode: string) => `apiVersion: signet.dev/v1
kind: Policy
metadata: { name: prod }
spec:
  mode: ${mode}
  requireTlog: false
  scope: { namespaceSelector: { matchLabels: { env: prod } }, images: ["ghcr.io/acme/**"] }
  authorities: [ { name: release, key: { ref: release-key } } ]`;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
    const seeded = await seedInventory(db, {
      cluster: "prod-eu",
      namespaces: [
        { name: "payments", labels: { env: "prod" }, pods: [{ name: "api-1", workload: "api", containers: [{ name: "app", image: IMAGE }] }, { name: "api-2", workload: "api", containers: [{ name: "app", image: IMAGE }] }] },
        { name: "sandbox", labels: { env: "dev" }, pods: [{ name: "try", containers: [{ name: "app", image: IMAGE }] }] },
      ],
    });
    imageId = seeded.images.get(IMAGE)!;
    containers = seeded.containers;
    await db.authority.create({ data: { name: "release-key", kind: "key", publicKeyPem: PEM } });
    await savePolicyDocument(db, parsePolicyDocuments(policyYaml("enforce"))[0]!, { actor: "test" });
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  const run = async (trigger: string, f = facts) =>
    evaluateImage(db, { imageId, facts: f, discovery: { outcome: "found" }, policies: await loadActivePolicies(db), now: new Date(), trigger });

  it("stores verified verdicts for in-scope containers only, with one event each", async () => {
    const r = await run("scan");
    expect(r).toEqual({ containers: 3, verdicts: 2, changed: 2 });
    const rows = await db.verdict.findMany({ include: { container: true } });
    expect(rows.map((v) => v.containerId).sort()).toEqual([containers["payments/api-1/app"], containers["payments/api-2/app"]].sort());
    expect(rows.every((v) => v.value === "verified" && v.policyVersion === 1 && v.evidenceIds[0] === "m1/l1")).toBe(true);
    const events = await db.verificationEvent.findMany({ where: { kind: "verdict" } });
    expect(events).toHaveLength(2);
    // the sandbox container has no applicable policy: the image is verified where policies apply
    expect(await db.image.findUniqueOrThrow({ where: { id: imageId } })).toMatchObject({
      verdict: "verified",
      runningContainers: 3,
      signers: [`key:${publicKeyFingerprint(PEM)}`],
    });
    expect(events[0]).toMatchObject({ verdict: "verified", previousVerdict: null, clusterName: "prod-eu", namespace: "payments", workload: "Deployment/api", imageDigest: DIGEST, policyName: "prod" });
  });

  it("a rescan with nothing changed writes no event", async () => {
    const before = await db.verificationEvent.count();
    expect((await run("scan")).changed).toBe(0);
    expect(await db.verificationEvent.count()).toBe(before);
  });

  it("unchanged inputs rewrite no verdict, only the image's evaluatedAt; a namespace relabelled into or out of scope is evaluated again", async () => {
    const before = await db.verdict.findMany({ orderBy: { id: "asc" } });
    const imageBefore = await db.image.findUniqueOrThrow({ where: { id: imageId } });
    const r = await run("scan");
    expect(r).toEqual({ containers: 3, verdicts: 2, changed: 0, reused: true });
    // the rows as they were (evaluatedAt included): the image's evaluatedAt says they were confirmed
    expect(await db.verdict.findMany({ orderBy: { id: "asc" } })).toEqual(before);
    const imageAfter = await db.image.findUniqueOrThrow({ where: { id: imageId } });
    expect(imageAfter.evaluatedAt!.getTime()).toBeGreaterThan(imageBefore.evaluatedAt!.getTime());
    expect(imageAfter.evaluatedAt!.getTime()).toBeGreaterThan(Math.max(...before.map((v) => v.evaluatedAt.getTime())));
    // and the pages show that time for a running container's verdicts
    const shown = await getContainerDetail(db, containers["payments/api-1/app"]!);
    expect(shown?.verdicts.map((v) => v.evaluatedAt)).toEqual([imageAfter.evaluatedAt!.toISOString()]);

    // the sandbox namespace gains env=prod: its container is now in scope
    const sandbox = await db.namespace.findFirstOrThrow({ where: { name: "sandbox" } });
    await db.namespace.update({ where: { id: sandbox.id }, data: { labels: { env: "prod" } } });
    expect((await run("scan")).changed).toBe(1);
    expect(await db.verdict.count({ where: { containerId: containers["sandbox/try/app"] } })).toBe(1);
    // and out again: the verdict goes, with an unmatched event
    await db.namespace.update({ where: { id: sandbox.id }, data: { labels: { env: "dev" } } });
    expect((await run("scan")).changed).toBe(1);
    expect(await db.verdict.count({ where: { containerId: containers["sandbox/try/app"] } })).toBe(0);
    expect((await db.verificationEvent.findFirstOrThrow({ orderBy: { seq: "desc" } })).verdict).toBe("unmatched");
  });

  it("revoking the key turns verdicts to failed (reason revoked) with events naming the previous verdict", async () => {
    await db.authority.update({ where: { name: "release-key" }, data: { status: "revoked" } });
    expect((await run("revocation")).changed).toBe(2);
    const rows = await db.verdict.findMany();
    expect(rows.every((v) => v.value === "failed" && (v.reasons as { code: string }[]).some((x) => x.code === "revoked"))).toBe(true);
    expect((await db.image.findUniqueOrThrow({ where: { id: imageId } })).verdict).toBe("failed");
    const last = await db.verificationEvent.findFirst({ orderBy: { seq: "desc" } });
    expect(last).toMatchObject({ verdict: "failed", previousVerdict: "verified", details: expect.objectContaining({ trigger: "revocation" }) });
  });

  it("a signature that disappeared makes the image unsigned; a policy change bumps the version", async () => {
    await db.authority.update({ where: { name: "release-key" }, data: { status: "active" } });
    const gone = await evaluateImage(db, { imageId, facts: [], discovery: { outcome: "none" }, policies: await loadActivePolicies(db), now: new Date(), trigger: "scan" });
    expect(gone.changed).toBe(2);
    expect((await db.verdict.findMany()).every((v) => v.value === "unsigned")).toBe(true);

    await savePolicyDocument(db, parsePolicyDocuments(policyYaml("warn"))[0]!, { actor: "test" });
    await run("policy-change");
    expect((await db.verdict.findMany()).every((v) => v.value === "verified" && v.policyVersion === 2)).toBe(true);
    expect((await verifyAuditChain(db)).ok).toBe(true);
  });
});
