import { spawnSync } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditChain } from "@/lib/audit/store";
import { listContainersInBuckets } from "@/lib/data/drilldown";
import { createDb, getDb, type Db } from "@/lib/db/client";
import { containerListQuery } from "@/lib/dto/drilldown";
import { resetEnvCache } from "@/lib/env";
import { getLogger } from "@/lib/log";
import { publicKeyFingerprint } from "@/lib/policy/compile";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { savePolicyDocument } from "@/lib/policy/store";
import { checkImages, createScan, startScan, type PipelineContext } from "@/lib/scan/pipeline";
import { createScanAdapters } from "@/lib/scan/real-adapters";
import { createKeyAuthority } from "@/lib/trust/authorities";
import { getInventory, takeUsageSnapshots } from "@/lib/trust/inventory";
import { loadFleet } from "@/lib/trust/load-fleet";
import { previewRevocation, revokeAuthority, revokedWorkloads } from "@/lib/trust/revoke";
import { rotateAuthority } from "@/lib/trust/rotate-authority";
import { updateTrustSettings } from "@/lib/trust/settings";
import { shortFingerprint } from "@/lib/ui/format";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { createNamespace, createPod, setPodStatus, startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { ROOT, waitFor } from "@/tests/support/process";
import { createCosignWorkspace, cosignSign, generateExtraKey, pushRandomImage, type CosignWorkspace } from "@/tests/support/registry-cosign";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";

/**
 * The trust lifecycle on real parts: images signed by real cosign in a real registry, pods in a real
 * kube-apiserver, the scan pipeline, then a staged rotation from key A to key B (re-sign list shrinks
 * as images are re-signed with B), a revocation preview and the revocation itself.
 *
 *   a1 (payments)  A only   → re-signed with B during the test
 *   a2 (payments)  A only
 *   a3 (tools)     A only   (also under the audit-mode policy that embeds A inline)
 *   ab (payments)  A and B
 *
 * Key B signs in the v3 bundle format: two classic signatures of one image share one payload layer
 * digest, which the evidence store keys on (see the report), so B's signatures are separate artifacts.
 */
describe("trust lifecycle end to end", () => {
  let tdb: TestDatabase;
  let db: Db;
  let kube: KubeApiserver;
  let registry: TestRegistry;
  let ws: CosignWorkspace;
  let keyB: string;
  let pubA: string;
  let pubB: string;
  let pubQa: string;
  let ctx: PipelineContext;
  const digests: Record<string, string> = {};
  const actor = "admin@test";

  beforeAll(async () => {
    [tdb, kube, registry, ws] = await Promise.all([createTestDatabase(), startKubeApiserver(), startRegistry(), createCosignWorkspace()]);
    db = createDb(tdb.url, 6);
    process.env.DATABASE_URL = tdb.url;
    process.env.KUBECONFIG = kube.kubeconfigPath;
    process.env.SIGNET_KUBE_CONTEXTS = "admin";
    process.env.SIGNET_REGISTRY_INSECURE = registry.host;
    resetEnvCache();
    const h = registry.host;
    keyB = await generateExtraKey(ws, "b");
    pubA = await fs.readFile(ws.pub, "utf8");
    pubB = await fs.readFile(keyB.replace(/cosign\.key$/, "cosign.pub"), "utf8");
    pubQa = await fs.readFile((await generateExtraKey(ws, "qa")).replace(/cosign\.key$/, "cosign.pub"), "utf8");
    const names = ["a1", "a2", "a3", "ab"];
    const pushed = await Promise.all(names.map((n) => pushRandomImage(ws, h, `apps/${n}`, "v1")));
    names.forEach((n, i) => (digests[n] = pushed[i]!));
    for (const n of names) await cosignSign(ws, `${h}/apps/${n}@${digests[n]}`, { bundle: false });
    // B signs in the v3 bundle format (its own referrer artifact)
    await cosignSign(ws, `${h}/apps/ab@${digests.ab}`, { bundle: true, key: keyB });

    await createNamespace(kube, "payments");
    await createNamespace(kube, "tools");
    for (const [ns, n] of [["payments", "a1"], ["payments", "a2"], ["tools", "a3"], ["payments", "ab"]] as const) {
      await createPod(kube, { namespace: ns, name: n, containers: [{ name: "app", image: `${h}/apps/${n}:v1` }] });
      await setPodStatus(kube, ns, n, { containers: [{ name: "app", imageID: `${h}/apps/${n}@${digests[n]}` }] });
    }

    await createKeyAuthority(db, { name: "key-a", publicKeyPem: pubA, owner: "platform", source: "cosign.pub" }, actor);
    const docs = parsePolicyDocuments(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: release }
spec:
  mode: enforce
  requireTlog: false
  scope: { images: ["${h}/apps/**"] }
  authorities: [ { name: ci, key: { ref: key-a } } ]
---
apiVersion: signet.dev/v1
kind: Policy
metadata: { name: tools-audit }
spec:
  mode: audit
  requireTlog: false
  scope: { namespaces: [tools], images: ["${h}/apps/**"] }
  authorities: [ { name: legacy, key: { pem: ${JSON.stringify(pubA)} } } ]
---
apiVersion: signet.dev/v1
kind: Policy
metadata: { name: two-party }
spec:
  requireTlog: false
  scope: { images: ["${h}/apps/ab"] }
  authorities: [ { name: team, key: { ref: key-a } }, { name: qa, key: { pem: ${JSON.stringify(pubQa)} } } ]
  require: { signatures: { atLeast: 2, of: [team, qa] } }`);
    for (const d of docs) await savePolicyDocument(db, d, { actor });

    ctx = { db, adapters: createScanAdapters(), log: getLogger(), enqueueImageCheck: (p) => checkImages(ctx, p) };
  }, 240_000);

  afterAll(async () => {
    await db?.$disconnect();
    await getDb().$disconnect().catch(() => undefined);
    await Promise.all([kube?.stop(), registry?.stop(), ws?.cleanup()]);
    await tdb?.drop();
  });

  const scan = async () => {
    const id = await createScan(db, { trigger: "test" });
    await startScan(ctx, id);
    return waitFor(async () => {
      const s = await db.scan.findUniqueOrThrow({ where: { id } });
      return ["succeeded", "partial", "failed"].includes(s.status) ? s : undefined;
    }, 60_000, "scan to finish");
  };
  const verdicts = (pod: string) =>
    db.verdict.findMany({ where: { container: { pod: { name: pod, deletedAt: null } } }, include: { policy: true }, orderBy: { policy: { name: "asc" } } });
  /** `signet …` as an operator runs it: bin/signet.mjs in a child process. */
  const signet = (args: string[]) =>
    spawnSync(process.execPath, [path.join(ROOT, "bin", "signet.mjs"), ...args], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, DATABASE_URL: tdb.url, LOG_LEVEL: "error" },
      timeout: 60_000,
    });
  const values = async (pod: string) => (await verdicts(pod)).map((v) => `${v.policy.name}:${v.value}`);
  /** Every page (of 1) of the containers list by signer (the Keys page's usage link): its total, header figures and pods. */
  const signerList = async (signer: string, scope: { cluster?: string; namespace?: string } = {}) => {
    const first = await listContainersInBuckets(db, containerListQuery.parse({ signer, ...scope, pageSize: "1" }));
    const rows = [...first.rows];
    for (let page = 2; page <= first.total; page++) rows.push(...(await listContainersInBuckets(db, containerListQuery.parse({ signer, ...scope, pageSize: "1", page: String(page) }))).rows);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    return { total: first.total, signer: first.signer, pods: rows.map((r) => `${r.namespace}/${r.pod}`).sort() };
  };
  /** Each Keys row's usage figures are the list its link opens: containers = rows, images and namespaces of those rows. */
  const expectUsageListsAgree = async () => {
    const inv = await getInventory(db);
    for (const e of inv) {
      const list = await signerList(e.ref);
      expect([e.ref, list.total, list.pods.length, list.signer?.images, list.signer?.namespaces, list.signer?.name]).toEqual([
        e.ref,
        e.usage.containers,
        e.usage.containers,
        e.usage.images,
        e.usage.namespaces,
        e.name,
      ]);
    }
    return inv;
  };

  it("scans, and the inventory shows key A with its live usage and the inline copy merged", async () => {
    expect((await scan()).status).toBe("succeeded");
    for (const p of ["a1", "a2"]) expect(await values(p)).toEqual(["release:verified"]);
    expect(await values("ab")).toEqual(["release:verified", "two-party:failed"]);
    expect(await values("a3")).toEqual(["release:verified", "tools-audit:verified"]);

    const inv = await getInventory(db);
    const a = inv.find((e) => e.ref === "stored:key-a")!;
    expect(a).toMatchObject({ status: "active", source: "cosign.pub", owner: "platform", algorithm: "ecdsa-prime256v1", usage: { containers: 4, images: 4, namespaces: 2 } });
    expect(a.policies.map((p) => `${p.policy}/${p.alias}/${p.mode}`).sort()).toEqual(["release/ci/enforce", "tools-audit/legacy/audit", "two-party/team/audit"]);
    // the inline PEM is the same key: no separate entry (only the qa key, which is not stored, has one)
    expect(inv.filter((e) => e.source === "policy").map((e) => [e.name, e.policies.map((p) => `${p.policy}/${p.alias}`)])).toEqual([[shortFingerprint(publicKeyFingerprint(pubQa)), ["two-party/qa"]]]);
  });

  it("each key's usage figures open exactly the containers they count (/containers?signer=)", async () => {
    await expectUsageListsAgree();
    expect((await signerList("stored:key-a")).pods).toEqual(["payments/a1", "payments/a2", "payments/ab", "tools/a3"]);
    // in a namespace: the containers there, with their images and namespace
    const payments = await signerList("stored:key-a", { namespace: "payments" });
    expect([payments.total, payments.pods, payments.signer]).toEqual([3, ["payments/a1", "payments/a2", "payments/ab"], { ref: "stored:key-a", name: "key-a", images: 3, namespaces: 1 }]);
    // the qa key's signature is not there: it verifies nothing, and its list is empty under its one name
    const qa = publicKeyFingerprint(pubQa);
    expect(await signerList(qa)).toEqual({ total: 0, signer: { ref: qa, name: shortFingerprint(qa), images: 0, namespaces: 0 }, pods: [] });
    // an authority no longer in force lists nothing and names none; a signer is a list of its own
    expect(await signerList("stored:nope")).toEqual({ total: 0, signer: null, pods: [] });
    expect(containerListQuery.safeParse({ signer: "stored:key-a", bucket: "verified" }).success).toBe(false);
    expect(containerListQuery.safeParse({ signer: "stored:key-a", verdict: "verified" }).success).toBe(false);
  });

  it("loads the fleet's facts without reading Evidence.raw, named as the verdicts name them", async () => {
    const ids = (fleet: Awaited<ReturnType<typeof loadFleet>>) => fleet.flatMap((i) => i.facts.map((f) => f.id)).sort();
    const before = ids(await loadFleet(db));
    const cited = (await db.verdict.findMany({ select: { evidenceIds: true } })).flatMap((v) => v.evidenceIds);
    expect(before.length).toBeGreaterThanOrEqual(5);
    for (const id of cited) expect(before).toContain(id);
    // the same facts with every raw record replaced by one naming another layer (rolled back afterwards):
    // the layer index comes from its column
    const rollback = new Error("rollback");
    await expect(
      db.$transaction(async (tx) => {
        expect(await tx.$executeRaw`UPDATE "Evidence" SET raw = '{"layer":{"index":99}}'::jsonb`).toBeGreaterThanOrEqual(5);
        expect(ids(await loadFleet(tx))).toEqual(before);
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    expect(await db.evidence.count({ where: { raw: { path: ["layer", "index"], equals: 99 } } })).toBe(0);
  });

  it("rotating from A to B shows the re-sign list, which shrinks as images are re-signed with B", async () => {
    await updateTrustSettings(db, { retireSafeDays: 3 }, actor);
    const r = await rotateAuthority(db, "key-a", { newName: "key-b", publicKeyPem: pubB }, actor, { adapters: ctx.adapters });
    expect(r.policies.sort()).toEqual(["release", "tools-audit", "two-party"]);
    expect(r.reevaluated).toBe(4);
    // dual trust: everything still verifies, relying on the retiring key is reported
    for (const p of ["a1", "a2"]) expect(await values(p)).toEqual(["release:verified"]);
    // the old and the new key are ONE authority: ab, signed by A and B, still has one vote of two
    expect(await values("ab")).toEqual(["release:verified", "two-party:failed"]);
    const release = await db.policy.findUniqueOrThrow({ where: { name: "release" }, include: { versions: { orderBy: { version: "desc" }, take: 1 } } });
    expect((release.versions[0]!.spec as { authorities: unknown[] }).authorities).toEqual([{ name: "ci", keys: [{ ref: "key-a" }, { ref: "key-b" }], status: "active" }]);
    // only A's signature relies on the retiring key: ab (A and B) is not flagged
    expect(((await verdicts("ab"))[0]!.reasons as { code: string }[]).map((x) => x.code)).not.toContain("retiring-authority");
    const a2 = (await verdicts("a2"))[0]!;
    expect((a2.reasons as { code: string }[]).map((x) => x.code)).toContain("retiring-authority");

    const t1 = new Date(Date.now() - 60_000);
    await takeUsageSnapshots(db, t1);
    let a = (await getInventory(db)).find((e) => e.ref === "stored:key-a")!;
    expect(a.status).toBe("retiring");
    expect(a.resign!.list.map((x) => x.image.split("/").pop()).sort()).toEqual(["a1", "a2", "a3"]);
    expect(a.resign!.safety.safe).toBe(false);
    const b = (await expectUsageListsAgree()).find((e) => e.ref === "stored:key-b")!;
    expect(b.usage).toEqual({ containers: 1, images: 1, namespaces: 1 }); // ab
    expect((await signerList("stored:key-b")).pods).toEqual(["payments/ab"]);

    await cosignSign(ws, `${registry.host}/apps/a1@${digests.a1}`, { bundle: true, key: keyB });
    expect((await scan()).status).toBe("succeeded");
    await takeUsageSnapshots(db);
    a = (await getInventory(db)).find((e) => e.ref === "stored:key-a")!;
    expect(a.resign!.list.map((x) => x.image.split("/").pop()).sort()).toEqual(["a2", "a3"]);
    expect(a.trend.map((t) => t.resignImages)).toEqual([3, 2]);
    expect(a.resign!.safeDays).toBe(3);
  });

  it("previews the blast radius of revoking A: exactly the workloads signed only by A, per policy and mode", async () => {
    const before = await db.verdict.findMany({ orderBy: { id: "asc" } });
    const eventsBefore = await db.verificationEvent.count();
    const p = await previewRevocation(db, "key-a");
    const workloads = [...new Set(p.radius.affected.map((x) => `${x.namespace}/${x.workload}`))].sort();
    expect(workloads).toEqual(["payments/Pod/a2", "tools/Pod/a3"]);
    expect(p.radius).toMatchObject({ containers: 2, images: 2, workloads: 2, namespaces: 2 });
    expect(p.radius.byPolicy.sort((x, y) => x.policy.localeCompare(y.policy))).toEqual([
      { policy: "release", mode: "enforce", containers: 2, images: 2 },
      { policy: "tools-audit", mode: "audit", containers: 1, images: 1 },
    ]);
    expect(p.radius.affected.every((x) => x.before === "verified" && x.after === "failed")).toBe(true);
    // by fingerprint, from the CLI, the preview is the same
    const fp = (await db.authority.findUniqueOrThrow({ where: { name: "key-a" } })).fingerprint!;
    const cli = signet(["revoke", "--preview", `sha256:${fp}`, "--json"]);
    expect(cli.status, cli.stderr).toBe(0);
    const fromCli = JSON.parse(cli.stdout) as typeof p;
    expect(fromCli.label).toBe("key-a");
    expect([...new Set(fromCli.radius.affected.map((x) => `${x.namespace}/${x.workload}`))].sort()).toEqual(workloads);
    const keysCli = signet(["keys"]);
    expect(keysCli.status, keysCli.stderr).toBe(0);
    expect(keysCli.stdout).toMatch(/key-a\s+key\s+retiring\s+sha256:/);
    expect(keysCli.stdout).toMatch(/re-sign list of key-a:\n.*apps\/a2@.*\n.*apps\/a3@/);
    // nothing written
    expect(await db.verdict.findMany({ orderBy: { id: "asc" } })).toEqual(before);
    expect(await db.verificationEvent.count()).toBe(eventsBefore);
  });

  it("revokes A: affected verdicts fail with reason revoked at once, the others are unchanged", async () => {
    const untouched = await db.verdict.findMany({ where: { container: { pod: { name: { in: ["a1", "ab"] } } } }, orderBy: { id: "asc" } });
    const fp = (await db.authority.findUniqueOrThrow({ where: { name: "key-a" } })).fingerprint!;
    const cli = signet(["revoke", `sha256:${fp}`, "--reason", "key leaked", "--actor", actor, "--json"]);
    expect(cli.status, cli.stderr).toBe(0);
    const r = JSON.parse(cli.stdout) as { revoked: string; reevaluated: number; policies: string[] };
    expect(r).toMatchObject({ revoked: "key-a", reevaluated: 2 });
    // the rotation turned tools-audit's inline copy of A into a reference to key-a: revoking key-a covers it
    expect(r.policies).toEqual([]);
    for (const p of ["a2", "a3"]) {
      const vs = await verdicts(p);
      expect(vs.length).toBeGreaterThan(0);
      for (const v of vs) {
        expect(v.value).toBe("failed");
        expect((v.reasons as { code: string }[]).map((x) => x.code)).toContain("revoked");
      }
    }
    expect(await values("a3")).toEqual(["release:failed", "tools-audit:failed"]);
    expect(await db.verdict.findMany({ where: { container: { pod: { name: { in: ["a1", "ab"] } } } }, orderBy: { id: "asc" } })).toEqual(untouched);

    const stored = await db.authority.findUniqueOrThrow({ where: { name: "key-a" } });
    expect(stored).toMatchObject({ status: "revoked", revokedReason: "key leaked" });
    const admin = await db.verificationEvent.findFirstOrThrow({ where: { kind: "admin", actor }, orderBy: { seq: "desc" } });
    expect(admin.details).toMatchObject({ action: "authority.revoke", authority: "key-a", reason: "key leaked", blastRadius: { containers: 2, workloads: 2 } });
    const events = await db.verificationEvent.findMany({ where: { kind: "verdict", verdict: "failed", details: { path: ["trigger"], equals: "revocation" } } });
    expect(events.map((e) => `${e.namespace}/${e.workload}/${e.policyName}`).sort()).toEqual(["payments/Pod/a2/release", "tools/Pod/a3/release", "tools/Pod/a3/tools-audit"]);
    const flagged = await revokedWorkloads(db);
    expect(flagged.map((w) => `${w.namespace}/${w.workload}`).sort()).toEqual(["payments/Pod/a2", "tools/Pod/a3"]);
    expect((await verifyAuditChain(db)).ok).toBe(true);
    // a revoked key cannot be revoked twice
    await expect(revokeAuthority(db, "key-a", "again", actor, { adapters: ctx.adapters })).rejects.toThrow(/revoked already/);
  });
});
