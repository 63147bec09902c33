import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetKeyring } from "@/lib/crypto/keys";
import { createDb, type Db } from "@/lib/db/client";
import { resetEnvCache } from "@/lib/env";
import { createBoss, sendJob } from "@/lib/jobs/boss";
import { notifyTick } from "@/lib/jobs/definitions/notify";
import { listLeases } from "@/lib/jobs/lease";
import { createWebhook } from "@/lib/notify/webhooks";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { startKubeApiserver, writeKubeconfig, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { spawnTs, waitFor, type Spawned } from "@/tests/support/process";
import { generateSigningKey, pushSignedImage } from "@/tests/support/registry-fixtures";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { pushSignedImages, saveSigningPolicy, seedPods } from "@/tests/support/scan";

/**
 * Two real worker processes on one PostgreSQL, each following one of two clusters (contexts `east`
 * and `west` of one real kube-apiserver: every pod runs in both), a real registry whose access log
 * the test reads, a webhook receiver; no scan ever starts.
 *
 * - Revalidation of hot repositories runs once per repository per cycle however many workers follow
 *   clusters running it: the registry sees one tag listing per repository per cycle of the worker
 *   that owns it (the one following `east`, the first cluster by name), none from the other.
 * - `notify.tick` runs on both workers, and the test sends more ticks all along: every new failure is
 *   told exactly once (the notifications' event ranges are disjoint and add up to the failures).
 */
const HOT_REPOS = 4;
const UNSIGNED = 6;
const REVALIDATE_SECONDS = 2;

describe("two workers: one revalidation per repository, one notification per failure", () => {
  let tdb: TestDatabase;
  let db: Db;
  let kube: KubeApiserver;
  let registry: TestRegistry;
  let server: http.Server;
  let kubeconfig: string;
  const workers: Record<"east" | "west", Spawned | undefined> = { east: undefined, west: undefined };
  const received: { event?: string; data?: { count?: number; firstSeq?: string; lastSeq?: string } }[] = [];
  const key = generateSigningKey();
  const secretKey = randomBytes(32).toString("base64");
  let webhookHost = "";

  beforeAll(async () => {
    [tdb, kube, registry] = await Promise.all([createTestDatabase(), startKubeApiserver(), startRegistry({ logLevel: "info" })]);
    db = createDb(tdb.url, 4);
    server = http.createServer((req, res) => {
      let data = "";
      req.on("data", (c) => (data += c));
      req.on("end", () => {
        received.push(JSON.parse(data || "{}") as (typeof received)[number]);
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    webhookHost = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    // two clusters the workers tell apart, one API server behind both
    kubeconfig = await writeKubeconfig(path.join(kube.dir, "two.kubeconfig"), [
      { name: "east", server: kube.url, token: kube.tokens.admin, caPem: kube.caPem },
      { name: "west", server: kube.url, token: kube.tokens.admin, caPem: kube.caPem },
    ]);
    Object.assign(process.env, { DATABASE_URL: tdb.url, SIGNET_SECRET_KEY: secretKey, SIGNET_EGRESS_ALLOW_INTERNAL: webhookHost });
    resetEnvCache();
    resetKeyring();
    const signed = await pushSignedImages(registry.url, registry.host, key, HOT_REPOS * 2, { repos: HOT_REPOS });
    await seedPods(kube, registry.host, signed, { perPod: 2, namespaces: 1, prefix: "hot" });
    await saveSigningPolicy(db, registry.host, key.publicKeyPem);
    await createWebhook(db, { name: "receiver", url: `http://${webhookHost}/hook`, format: "generic", events: ["failure.enforce"] }, "admin@test");
    // a full scan that just finished: with a day's interval, the scheduler starts none during the test
    await db.scan.create({ data: { kind: "full", trigger: "test", status: "succeeded", stage: "done", finishedAt: new Date() } });
  }, 180_000);

  afterAll(async () => {
    for (const w of Object.values(workers)) {
      if (w && w.proc.exitCode === null && w.proc.signalCode === null) {
        w.proc.kill("SIGTERM");
        await w.exited;
      }
    }
    await new Promise((r) => server?.close(r));
    await db?.$disconnect();
    await Promise.all([kube?.stop(), registry?.stop()]);
    await tdb?.drop();
  });

  const start = (cluster: "east" | "west") =>
    (workers[cluster] = spawnTs("scripts/worker.ts", [], {
      DATABASE_URL: tdb.url,
      KUBECONFIG: kubeconfig,
      // each worker is configured with one of the clusters: which worker follows which is certain
      SIGNET_KUBE_CONTEXTS: cluster,
      SIGNET_REGISTRY_INSECURE: registry.host,
      SIGNET_SECRET_KEY: secretKey,
      SIGNET_EGRESS_ALLOW_INTERNAL: webhookHost,
      SIGNET_WORKER_CONCURRENCY: "2",
      SIGNET_HEARTBEAT_SECONDS: "2",
      SIGNET_SCAN_INTERVAL_MINUTES: "1440",
      SIGNET_WATCH: "true",
      SIGNET_WATCH_FLUSH_MS: "300",
      SIGNET_REVALIDATE_SECONDS: String(REVALIDATE_SECONDS),
      LOG_LEVEL: "info",
    }));

  /** The revalidation cycles a worker logged: how many repositories each listed. */
  const cycles = (cluster: "east" | "west"): number[] =>
    workers[cluster]!.output()
      .split("\n")
      .filter((l) => l.includes("hot repositories revalidated"))
      .map((l) => (JSON.parse(l) as { repositories: number }).repositories);
  /** Tag listings of each hot repository the registry answered so far. */
  const listings = (): Map<string, number> => {
    const n = new Map<string, number>();
    for (const r of registry.requests()) {
      const m = /^\/v2\/(apps\/svc-\d+)\/tags\/list/.exec(r.uri);
      if (m && r.method === "GET") n.set(m[1]!, (n.get(m[1]!) ?? 0) + 1);
    }
    return n;
  };
  const quiet = async () => {
    const jobs = await db.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'image.check' AND state IN ('created', 'retry', 'active')`);
    return jobs[0]?.n === 0;
  };

  it("each worker follows its cluster; every running container is verified", { timeout: 300_000 }, async () => {
    start("east");
    start("west");
    const pid = (holder: string) => Number(holder.split(":")[1]);
    await waitFor(
      async () => {
        const leases = await listLeases(db);
        const of = (c: string) => leases.find((l) => l.cluster === c && l.live);
        return pid(of("east")?.holder ?? "") === workers.east!.proc.pid && pid(of("west")?.holder ?? "") === workers.west!.proc.pid ? true : undefined;
      },
      120_000,
      "each worker holding its cluster's lease",
    );
    // every pod runs in both clusters
    const containers = HOT_REPOS * 2 * 2;
    await waitFor(
      async () => ((await db.verdict.count({ where: { value: "verified" } })) === containers && (await quiet()) ? true : undefined),
      180_000,
      "every container of both clusters verified",
    );
  });

  it(`hot repositories are revalidated once per cycle (every ${REVALIDATE_SECONDS} s here), by one worker`, { timeout: 300_000 }, async () => {
    const east0 = cycles("east").length;
    const west0 = cycles("west").length;
    const before = listings();
    // several cycles of both workers
    await waitFor(async () => (cycles("east").length >= east0 + 4 && cycles("west").length >= west0 + 3 ? true : undefined), 120_000, "revalidation cycles on both workers");
    const after = listings();
    const east = cycles("east").slice(east0);
    const west = cycles("west").slice(west0);
    // the worker following `east` (the first cluster by name running every hot repository) lists them all; the other none
    expect(east.every((r) => r === HOT_REPOS)).toBe(true);
    expect(west.every((r) => r === 0)).toBe(true);
    // the registry agrees: one listing per repository per cycle of that worker (± the cycle running at either reading)
    for (let i = 0; i < HOT_REPOS; i++) {
      const repo = `apps/svc-${i}`;
      const n = (after.get(repo) ?? 0) - (before.get(repo) ?? 0);
      expect(n, repo).toBeGreaterThanOrEqual(east.length - 1);
      expect(n, repo).toBeLessThanOrEqual(cycles("east").length - east0 + 1);
    }
  });

  it("new failures are told once each, though both workers run notify.tick", { timeout: 300_000 }, async () => {
    const bad: { repo: string; digest: string }[] = [];
    for (let i = 0; i < UNSIGNED; i++) bad.push({ repo: `apps/bad-${i}`, digest: (await pushSignedImage(registry.url, registry.host, `apps/bad-${i}`, key, { sign: false })).digest });
    // more ticks than the workers would run on their own, all along
    const boss = createBoss(tdb.url, { max: 2 });
    await boss.start();
    let ticking = true;
    const ticks = (async () => {
      while (ticking) {
        await sendJob(boss, notifyTick, {}).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      // one pod at a time: the failures arrive over several ticks
      for (let i = 0; i < UNSIGNED; i++) {
        await seedPods(kube, registry.host, [bad[i]!], { perPod: 1, namespaces: 1, prefix: `bad-${i}` });
        await new Promise((r) => setTimeout(r, 300));
      }
      // each unsigned container in both clusters: one failure each
      const failures = UNSIGNED * 2;
      const told = () => received.filter((r) => r.event === "failure.enforce").reduce((n, r) => n + (r.data?.count ?? 0), 0);
      let seen = { events: 0, told: 0, pending: 0 };
      await waitFor(
        async () => {
          seen = {
            events: await db.verificationEvent.count({ where: { kind: "verdict", verdict: "unsigned" } }),
            told: told(),
            pending: await db.webhookDelivery.count({ where: { status: "pending" } }),
          };
          return seen.events === failures && seen.told >= failures ? true : undefined;
        },
        240_000,
        "every failure recorded and told",
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}: ${JSON.stringify(seen)}`);
      });
      ticking = false;
      await ticks;
      // settled: nothing more arrives
      await new Promise((r) => setTimeout(r, 3000));
      await waitFor(async () => ((await db.webhookDelivery.count({ where: { status: "pending" } })) === 0 ? true : undefined), 60_000, "no delivery pending");
      expect(told()).toBe(failures);
      const ranges = received
        .filter((r) => r.event === "failure.enforce")
        .map((r) => [BigInt(r.data!.firstSeq!), BigInt(r.data!.lastSeq!)] as const)
        .sort((a, b) => (a[0] < b[0] ? -1 : 1));
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0] > ranges[i - 1]![1], "notified event ranges overlap").toBe(true);
      expect(await db.webhookDelivery.count()).toBe(ranges.length);
      expect(await db.scan.count()).toBe(1);
    } finally {
      ticking = false;
      await ticks;
      await boss.stop({ graceful: false });
    }
  });
});
