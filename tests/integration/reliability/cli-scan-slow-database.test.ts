import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHAIN_LOCK } from "@/lib/audit/store";
import { createDb, type Db } from "@/lib/db/client";
import { runSignet } from "@/tests/support/cli";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { waitFor } from "@/tests/support/process";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { generateSigningKey } from "@/tests/support/registry-fixtures";
import { pushSignedImages, saveSigningPolicy, seedPods } from "@/tests/support/scan";

/**
 * `signet scan` on a database made slow on purpose: a competing session holds the audit chain's lock
 * (every batch of a first scan appends verdict events under it) for longer than Prisma's default
 * 2 s wait for a connection and node-postgres' 5 s, and every settlement of scan items sleeps in a trigger. Batches of one
 * image pile up behind the lock, holding their connections; the scan must wait, not fail (it failed
 * with "Unable to start a transaction in the given time" when its pool was smaller than its
 * concurrency and transactions waited Prisma's default 2 s).
 */
describe("signet scan on a slow database", () => {
  let tdb: TestDatabase;
  let db: Db;
  let kube: KubeApiserver;
  let registry: TestRegistry;
  const IMAGES = 12;

  beforeAll(async () => {
    [tdb, kube, registry] = await Promise.all([createTestDatabase(), startKubeApiserver(), startRegistry()]);
    db = createDb(tdb.url, 2);
    const key = generateSigningKey();
    const images = await pushSignedImages(registry.url, registry.host, key, IMAGES, { repos: 4 });
    await seedPods(kube, registry.host, images, { perPod: 2, namespaces: 2, prefix: "slow" });
    await saveSigningPolicy(db, registry.host, key.publicKeyPem);
  }, 180_000);

  afterAll(async () => {
    await db?.$disconnect();
    await Promise.all([kube?.stop(), registry?.stop()]);
    await tdb?.drop();
  });

  it("completes while a competing transaction holds the audit chain's lock and statements sleep", async () => {
    const blocker = new pg.Client({ connectionString: tdb.url });
    await blocker.connect();
    try {
      await blocker.query(`
        CREATE FUNCTION test_slow_statement() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$;
        CREATE TRIGGER test_slow_settle AFTER UPDATE ON "ScanItem" FOR EACH STATEMENT EXECUTE FUNCTION test_slow_statement();`);
      await blocker.query("SELECT pg_advisory_lock($1)", [CHAIN_LOCK]);
      const scan = runSignet(["scan", "--kubeconfig", kube.kubeconfigPath, "--context", "admin", "--wait", "--json"], {
        DATABASE_URL: tdb.url,
        SIGNET_REGISTRY_INSECURE: registry.host,
        KUBECONFIG: "",
        SIGNET_KUBE_CONTEXTS: "",
        SIGNET_SECRET_KEY: randomBytes(32).toString("base64"),
        LOG_LEVEL: "warn",
        // one image per batch: as many transactions at once as the scan runs batches
        SIGNET_SCAN_BATCH_SIZE: "1",
        SIGNET_WORKER_CONCURRENCY: "8",
      });
      let exited = false;
      void scan.then(() => (exited = true));
      // batches queue up behind the lock, each holding its connection
      const waiting = async () =>
        (await blocker.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted", [CHAIN_LOCK])).rows[0]!.n;
      const queued = await waitFor(async () => (exited ? -1 : (await waiting()) >= 4 ? await waiting() : undefined), 90_000, "batches waiting for the chain lock");
      expect(queued).toBeGreaterThanOrEqual(4);
      // longer than Prisma's default wait for a connection (2 s) and the pool's connect timeout (5 s):
      // the scan before lib/db/transaction.ts died here ("timeout exceeded when trying to connect")
      await new Promise((r) => setTimeout(r, 10_000));
      expect(exited).toBe(false);
      await blocker.query("SELECT pg_advisory_unlock($1)", [CHAIN_LOCK]);

      const r = await scan;
      expect(r.stderr).not.toMatch(/signet scan:|Transaction API error|"level":(50|60)/);
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout);
      expect(s).toMatchObject({ status: "succeeded", images: { total: IMAGES, checked: IMAGES, errors: 0, fetched: IMAGES, reevaluated: IMAGES } });
      const containers = await db.container.count({ where: { pod: { deletedAt: null } } });
      expect(containers).toBe(IMAGES);
      expect(await db.verdict.count({ where: { value: "verified" } })).toBe(containers);
      expect(s.verdicts).toEqual({ verified: containers });
    } finally {
      await blocker.end();
    }
  }, 180_000);
});
