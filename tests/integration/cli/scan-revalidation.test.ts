import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { resetEnvCache } from "@/lib/env";
import { createScanAdapters } from "@/lib/scan/real-adapters";
import { revalidateHotImages } from "@/lib/watch/revalidate";
import { runSignet } from "@/tests/support/cli";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { waitFor } from "@/tests/support/process";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { generateSigningKey, pushSignedImage } from "@/tests/support/registry-fixtures";
import { saveSigningPolicy, seedPods } from "@/tests/support/scan";

/**
 * `signet scan --kubeconfig` reuses stored evidence confirmed current against the registry less than
 * SIGNET_REVALIDATE_SECONDS ago (Image.revalidatedAt: a discovery, a matching tag listing, a worker's
 * revalidation cycle) without asking the registry; past that bound it lists the repository again, so a
 * deleted signature turns verified into unsigned at the first scan past the bound.
 */
describe("signet scan: stored evidence reused within the revalidation bound", () => {
  let tdb: TestDatabase;
  let db: Db;
  let kube: KubeApiserver;
  let registry: TestRegistry;
  let env: Record<string, string>;
  const digests: Record<string, string> = {};

  const scan = async (revalidateSeconds: string) => {
    const r = await runSignet(["scan", "--kubeconfig", kube.kubeconfigPath, "--context", "admin", "--json"], { ...env, SIGNET_REVALIDATE_SECONDS: revalidateSeconds });
    let s;
    try {
      s = JSON.parse(r.stdout);
    } catch {
      throw new Error(`signet scan: no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
    }
    return { code: r.code, s };
  };
  const verdictOf = async (repo: string) =>
    (await db.verdict.findMany({ where: { container: { pod: { deletedAt: null }, image: { repository: repo } } } })).map((v) => v.value);
  /** Waits until every running image's last confirmation is at least `seconds` old (by the database's clock). */
  const olderThan = (seconds: number) =>
    waitFor(
      async () => {
        const [r] = await db.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM "Image" WHERE "runningContainers" > 0 AND ("revalidatedAt" IS NULL OR "revalidatedAt" > now() - make_interval(secs => ${seconds}))`;
        return r!.n === 0 ? true : undefined;
      },
      30_000,
      `confirmations older than ${seconds} s`,
    );

  beforeAll(async () => {
    [tdb, kube, registry] = await Promise.all([createTestDatabase(), startKubeApiserver(), startRegistry()]);
    db = createDb(tdb.url, 2);
    const key = generateSigningKey();
    for (const repo of ["apps/api", "apps/web"]) {
      digests[repo] = (await pushSignedImage(registry.url, registry.host, repo, key)).digest;
      await seedPods(kube, registry.host, [{ repo, digest: digests[repo]! }], { perPod: 1, namespaces: 1, prefix: repo.split("/")[1] });
    }
    await saveSigningPolicy(db, registry.host, key.publicKeyPem);
    env = { DATABASE_URL: tdb.url, SIGNET_REGISTRY_INSECURE: registry.host, KUBECONFIG: "", SIGNET_KUBE_CONTEXTS: "", SIGNET_SECRET_KEY: randomBytes(32).toString("base64"), LOG_LEVEL: "warn" };
  }, 120_000);

  afterAll(async () => {
    await db?.$disconnect();
    await Promise.all([kube?.stop(), registry?.stop()]);
    await tdb?.drop();
  });

  it("a rescan within the bound asks the registry nothing; a signature deleted meanwhile is noticed by the first scan past the bound", async () => {
    const first = await scan("600");
    expect(first.s).toMatchObject({ status: "succeeded", images: { total: 2, fetched: 2, revalidated: 0, reused: 0 }, verdicts: { verified: 2 } });
    const confirmed = await db.image.findMany({ where: { runningContainers: { gt: 0 } }, select: { revalidatedAt: true, discoveredAt: true } });
    expect(confirmed.map((i) => i.revalidatedAt?.getTime())).toEqual(confirmed.map((i) => i.discoveredAt?.getTime()));

    // the api image's signature is deleted from the registry
    const sigTag = `sha256-${digests["apps/api"]!.slice(7)}.sig`;
    const head = await fetch(`${registry.url}/v2/apps/api/manifests/${sigTag}`, { method: "HEAD", headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
    expect((await fetch(`${registry.url}/v2/apps/api/manifests/${head.headers.get("docker-content-digest")!}`, { method: "DELETE" })).status).toBe(202);

    // within the bound (600 s): both images' evidence reused as stored, no tag listing — the deletion is not seen yet
    const within = await scan("600");
    expect(within.s).toMatchObject({ status: "succeeded", images: { total: 2, checked: 2, fetched: 0, revalidated: 0, reused: 2, reevaluated: 0, verdictsKept: 2 } });
    expect(await verdictOf("apps/api")).toEqual(["verified"]);

    // past the bound (1 s here): the repositories are listed again, the deleted signature is noticed
    await olderThan(1);
    const past = await scan("1");
    expect(past.s).toMatchObject({ status: "succeeded", images: { total: 2, fetched: 1, revalidated: 1, reused: 0, reevaluated: 1, verdictsKept: 1 }, verdicts: { verified: 1, unsigned: 1 } });
    expect(past.code).toBe(1); // the enforce-mode policy rejects the now unsigned container
    expect(await verdictOf("apps/api")).toEqual(["unsigned"]);
    expect(await verdictOf("apps/web")).toEqual(["verified"]);
    const api = await db.image.findFirstOrThrow({ where: { repository: "apps/api" } });
    const events = await db.verificationEvent.findMany({ where: { kind: "verdict", imageDigest: api.digest }, orderBy: { seq: "asc" } });
    expect(events.map((e) => [e.previousVerdict, e.verdict])).toEqual([
      [null, "verified"],
      ["verified", "unsigned"],
    ]);
  }, 180_000);

  it("a worker's revalidation cycle records its confirmation, which the next CLI scan reuses", async () => {
    // the last confirmations an hour old: past the 600 s bound below
    await db.$executeRaw`UPDATE "Image" SET "revalidatedAt" = now() - interval '1 hour' WHERE "runningContainers" > 0`;
    const startedAt = new Date();
    // the worker's cycle over the cluster's hot repositories (lib/watch/revalidate.ts), as the worker runs it
    // (the adapters read the registry settings and credentials as the worker's do: from its environment and database)
    Object.assign(process.env, { SIGNET_REGISTRY_INSECURE: registry.host, DATABASE_URL: tdb.url });
    resetEnvCache();
    try {
      const r = await revalidateHotImages({ db, adapters: createScanAdapters(), clusters: ["admin"] });
      expect(r).toMatchObject({ images: 2, repositories: 2, changed: [] });
    } finally {
      delete process.env.SIGNET_REGISTRY_INSECURE;
      delete process.env.DATABASE_URL;
      resetEnvCache();
    }
    const after = await db.image.findMany({ where: { runningContainers: { gt: 0 } }, select: { revalidatedAt: true } });
    expect(after).toHaveLength(2);
    for (const a of after) expect(a.revalidatedAt!.getTime()).toBeGreaterThanOrEqual(startedAt.getTime());
    // confirmed by the worker within the bound: reused, no listing
    const s = await scan("600");
    expect(s.s).toMatchObject({ status: "succeeded", images: { total: 2, fetched: 0, revalidated: 0, reused: 2 }, verdicts: { verified: 1, unsigned: 1 } });
  }, 180_000);

  it("a bound of 0 lists every repository at every scan", async () => {
    const s = await scan("0");
    expect(s.s).toMatchObject({ status: "succeeded", images: { total: 2, fetched: 0, revalidated: 2, reused: 0 } });
  }, 120_000);
});
