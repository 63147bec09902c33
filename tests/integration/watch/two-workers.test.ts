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
import { imageCheck } from "@/lib/jobs/definitions/scan";
import { listLeases } from "@/lib/jobs/lease";
import { createWebhook } from "@/lib/notify/webhooks";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { startFaultProxy, type FaultProxy } from "@/tests/support/fault-proxy";
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
 * - A new digest checked by both workers at once (one image-check slot each, both busy with it) is
 *   discovered once: the registry (behind a proxy that holds its requests until both checks run) is
 *   asked for its signature once, and each container gets one verdict and one verdict event.
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
  let gate: FaultProxy;

  beforeAll(async () => {
    [tdb, kube, registry] = await Promise.all([createTestDatabase(), startKubeApiserver(), startRegistry({ logLevel: "info" })]);
    // a second way to the registry, whose requests the discovery race test holds (no fault injected)
    gate = await startFaultProxy({ upstream: registry.url, rate: 0, seed: 1 });
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
    await gate?.stop();
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
      SIGNET_REGISTRY_INSECURE: `${registry.host},${gate.host}`,
      // (held registry requests wait for the test, not for a timeout)
      SIGNET_REGISTRY_TIMEOUT_MS: "120000",
      SIGNET_SECRET_KEY: secretKey,
      SIGNET_EGRESS_ALLOW_INTERNAL: webhookHost,
      // one slot per queue: two image checks running at once run in the two processes
      SIGNET_WORKER_CONCURRENCY: "1",
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
      if (told() !== failures) {
        // what was told twice, for whoever reads the failure
        const events = await db.verificationEvent.findMany({ where: { kind: "verdict", verdict: { in: ["unsigned", "failed"] } }, select: { seq: true, containerId: true, clusterName: true, workload: true, previousVerdict: true, details: true } });
        const deliveries = await db.webhookDelivery.findMany({ select: { id: true, status: true, attempts: true, log: true, payload: true } });
        console.error(JSON.stringify({ received, events: events.map((e) => ({ ...e, seq: String(e.seq) })), deliveries }, null, 1));
      }
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

  it("a new digest checked by both workers at once is discovered once, with one verdict and one event per container", { timeout: 300_000 }, async () => {
    const race = await pushSignedImage(registry.url, gate.host, "apps/race", key);
    await saveSigningPolicy(db, gate.host, key.publicKeyPem, { name: "race", mode: "audit" });
    const hex = race.digest.slice("sha256:".length);
    const repoPath = "/v2/apps/race/";
    gate.hold((p) => p.startsWith(repoPath));
    const log0 = gate.log().length;
    const racing = async () => {
      const image = await db.image.findFirst({ where: { registry: gate.host, repository: "apps/race", digest: race.digest } });
      if (!image) return { image: undefined, active: 0 };
      const jobs = await db.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'image.check' AND state = 'active' AND data->'imageIds' ? ${image.id}`;
      return { image, active: jobs[0]!.n };
    };
    const boss = createBoss(tdb.url, { max: 2 });
    await boss.start();
    try {
      // the pod runs in both clusters: each worker's watch sees it and checks the new digest
      await seedPods(kube, gate.host, [{ repo: "apps/race", digest: race.digest }], { perPod: 1, namespaces: 1, prefix: "race" });
      // the first check holds the image's discovery claim and waits on the registry
      const first = await waitFor(async () => {
        const r = await racing();
        return r.image && r.active >= 1 && gate.held() > 0 ? r.image : undefined;
      }, 60_000, "a check of the new digest asking the registry");
      expect(await db.imageDiscoveryClaim.count({ where: { imageId: first.id } })).toBe(1);
      // a second check of it (a scan's batch, keyed apart from the watch's): the other worker's slot takes it
      // (unless that worker's own watch check got there first: either way, the other process runs one)
      const hot = await db.image.findFirstOrThrow({ where: { repository: "apps/svc-0" } });
      await sendJob(boss, imageCheck, { imageIds: [first.id, hot.id], mode: "scan", trigger: "test" });
      // (both waits together stay below the held request's timeout and the claim's lifetime, 120 s)
      await waitFor(async () => ((await racing()).active === 2 ? true : undefined), 45_000, "two checks of the new digest running, one per worker");
      // the second waits for the first's claim (its poll is the last statement of one of its connections)
      await waitFor(
        async () => {
          const waiting = await db.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%FROM "ImageDiscoveryClaim" WHERE "imageId"%token <>%'`;
          return waiting[0]!.n > 0 ? true : undefined;
        },
        45_000,
        "the second check waiting on the first one's discovery claim",
      );
    } finally {
      gate.release();
      await boss.stop({ graceful: false });
    }

    const image = (await racing()).image!;
    const containers = await db.container.findMany({ where: { imageId: image.id, pod: { deletedAt: null } }, select: { id: true, pod: { select: { cluster: { select: { name: true } } } } } });
    expect(containers.map((c) => c.pod.cluster.name).sort()).toEqual(["east", "west"]);
    const ids = containers.map((c) => c.id);
    await waitFor(
      async () => ((await db.verdict.count({ where: { containerId: { in: ids }, value: "verified" } })) === 2 && (await quiet()) ? true : undefined),
      120_000,
      "both containers verified and the checks done",
    );
    // one discovery: the signature's manifest was asked for once (a second discovery would ask again;
    // a check that reused the stored evidence, or the revalidation, only lists tags)
    const asked = gate.log().slice(log0).filter((l) => l.includes(repoPath));
    expect(asked.filter((l) => l.includes(`/manifests/sha256-${hex}.sig`)), asked.join("\n")).toHaveLength(1);
    // one verdict and one verdict event per container (the race policy), the evidence stored once, no claim left
    const verdicts = await db.verdict.findMany({ where: { containerId: { in: ids } }, include: { policy: true } });
    expect(verdicts.map((v) => [v.policy.name, v.value])).toEqual([
      ["race", "verified"],
      ["race", "verified"],
    ]);
    expect(await db.verificationEvent.count({ where: { kind: "verdict", containerId: { in: ids } } })).toBe(2);
    const evidence = await db.evidence.findMany({ where: { imageId: image.id } });
    expect(evidence.length).toBeGreaterThan(0);
    expect(new Set(evidence.map((e) => `${e.artifactDigest}#${e.layerDigest}`)).size).toBe(evidence.length);
    expect(await db.imageDiscoveryClaim.count()).toBe(0);
    const failed = await db.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'image.check' AND state = 'failed'`;
    expect(failed[0]!.n).toBe(0);
  });
});
