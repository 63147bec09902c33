import { randomBytes } from "node:crypto";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { runSignet } from "@/tests/support/cli";
import { createNamespace, podManifest, startKubeApiserver, writeKubeconfig, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { isWatch, startKubeHttpProxy } from "@/tests/support/kube-http-proxy";
import { waitFor } from "@/tests/support/process";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { generateSigningKey, pushSignedImage } from "@/tests/support/registry-fixtures";
import { reevaluateUnresolvedContainers } from "@/lib/scan/pipeline";
import { saveSigningPolicy, seedPods } from "@/tests/support/scan";

/** `signet scan` as an operator runs it (bin/signet.mjs, a child process) on a real apiserver and registry. */
const signet = (args: string[], env: Record<string, string>) => runSignet(args, { LOG_LEVEL: "warn", ...env });

describe("signet scan", () => {
  let tdb: TestDatabase;
  let db: Db;
  let kube: KubeApiserver;
  let registry: TestRegistry;
  let env: Record<string, string>;

  beforeAll(async () => {
    [tdb, kube, registry] = await Promise.all([createTestDatabase(), startKubeApiserver(), startRegistry()]);
    db = createDb(tdb.url, 2);
    const key = generateSigningKey();
    const signed = await Promise.all([0, 1, 2].map(() => pushSignedImage(registry.url, registry.host, "apps/web", key)));
    const unsigned = await pushSignedImage(registry.url, registry.host, "apps/tool", key, { sign: false });
    await seedPods(kube, registry.host, signed.map((s) => ({ repo: "apps/web", digest: s.digest })), { perPod: 3, namespaces: 1, prefix: "web" });
    await seedPods(kube, registry.host, [{ repo: "apps/tool", digest: unsigned.digest }], { perPod: 1, namespaces: 1, prefix: "tool" });
    await saveSigningPolicy(db, registry.host, key.publicKeyPem);
    // (a key of its own: audit checkpoints are signed with it; every scan lists the repositories — the
    // reuse of evidence confirmed within SIGNET_REVALIDATE_SECONDS: tests/integration/cli/scan-revalidation.test.ts)
    env = {
      DATABASE_URL: tdb.url,
      SIGNET_REGISTRY_INSECURE: registry.host,
      KUBECONFIG: "",
      SIGNET_KUBE_CONTEXTS: "",
      SIGNET_SECRET_KEY: randomBytes(32).toString("base64"),
      SIGNET_REVALIDATE_SECONDS: "0",
    };
  }, 120_000);

  afterAll(async () => {
    await db?.$disconnect();
    await Promise.all([kube?.stop(), registry?.stop()]);
    await tdb?.drop();
  });

  it("runs the scan in process for --kubeconfig/--context and exits 1 when an enforce policy would reject a container", async () => {
    // info logs on: they go to stderr, and stdout is the JSON document alone
    const r = await signet(["scan", "--kubeconfig", kube.kubeconfigPath, "--context", "admin", "--json"], { ...env, LOG_LEVEL: "info" });
    expect(r.stderr).toContain('"msg":"scan inventoried; image checks queued"');
    // (pg prints a deprecation warning on stderr; nothing of Signet's above info may appear there)
    expect(r.stderr).not.toMatch(/signet scan:|"level":(40|50|60)/);
    expect(r.code).toBe(1);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({
      status: "succeeded",
      ranIn: "this process",
      clusters: [{ name: "admin", ok: true, errors: [] }],
      // a first scan: every image's signatures fetched, every image evaluated
      images: { total: 4, checked: 4, errors: 0, fetched: 4, revalidated: 0, reused: 0, reevaluated: 4, verdictsKept: 0 },
      verdicts: { verified: 3, unsigned: 1 },
      coverage: 75,
      enforceViolations: 1,
    });
    const scan = await db.scan.findUniqueOrThrow({ where: { id: s.scanId }, include: { cluster: true } });
    expect(scan).toMatchObject({ kind: "cluster", trigger: "cli", cluster: { name: "admin" } });
    // in process means outside the job queues: no worker heartbeat, and no job a worker could take
    expect(await db.workerHeartbeat.count()).toBe(0);
    const jobs = await db.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name IN ('scan.start', 'image.check')`).catch(() => [{ n: 0 }]);
    expect(jobs[0]!.n).toBe(0);
  }, 120_000);

  it("a rescan with nothing changed does not list the cluster: a watch from the stored lists proves it unchanged", async () => {
    // started under the scan runtime by its caller (both V8 flags in NODE_OPTIONS, the arena limit in
    // the environment): the command runs in that one process, not starting itself again
    const runtime = { NODE_OPTIONS: "--max-semi-space-size=16 --max-old-space-size=192", MALLOC_ARENA_MAX: "2" };
    const r = await runSignet(["scan", "--kubeconfig", kube.kubeconfigPath, "--context", "admin", "--json"], { ...env, ...runtime, LOG_LEVEL: "info" }, { measure: true });
    expect(r.peaks.size).toBe(1);
    expect(r.stderr).toContain('"msg":"cluster unchanged since its stored inventory (not listed)"');
    expect(r.stderr).not.toContain('"msg":"cluster inventoried"');
    const s = JSON.parse(r.stdout);
    // the same verdicts as the scan that listed everything: the signed images' evidence revalidated, nothing re-evaluated
    expect(s.images.revalidated).toBeGreaterThanOrEqual(3);
    expect(s.images.fetched + s.images.revalidated).toBe(4);
    expect(s).toMatchObject({
      status: "succeeded",
      images: { total: 4, checked: 4, errors: 0, reevaluated: 0, verdictsKept: 4 },
      verdicts: { verified: 3, unsigned: 1 },
      containers: { verified: 3, unsigned: 1 },
      coverage: 75,
    });
    expect(r.code).toBe(1);
  }, 120_000);

  it("signet report --kubeconfig scans first and reports the scanned cluster: JSON, JUnit XML, exit 1 below --min-coverage, 2 when the scan fails", async () => {
    const json = await signet(["report", "--kubeconfig", kube.kubeconfigPath, "--context", "admin", "--min-coverage", "80"], env);
    expect(json.code, json.stderr).toBe(1);
    const r = JSON.parse(json.stdout);
    expect(r.scan).toMatchObject({ status: "succeeded", clusters: ["admin"] });
    expect(await db.scan.count({ where: { id: r.scan.id, trigger: "cli" } })).toBe(1);
    expect(r.scope).toMatchObject({ cluster: "admin", namespace: null, policy: null });
    expect(r.coverage).toMatchObject({ containersTotal: 4, containersVerified: 3, containersUnsigned: 1, coveragePct: 75 });
    expect(r.rows).toHaveLength(4);
    expect(r.passed).toBe(false);
    expect(json.stderr).toMatch(/signet report \(cluster admin, scan [0-9a-f-]+ succeeded\): 75% of 4 containers verified .* < 80%: FAIL/);

    const junit = await signet(["report", "--kubeconfig", kube.kubeconfigPath, "--cluster", "admin", "--namespace", "web-0", "--format", "junit", "--min-coverage", "100"], env);
    expect(junit.code, junit.stderr).toBe(0);
    expect(junit.stdout).toMatch(/<testsuites name="signet" tests="3" failures="0" errors="0"/);
    expect(junit.stdout).toContain('<property name="scanStatus" value="succeeded"/>');
    expect(junit.stdout.match(/<testcase /g)).toHaveLength(3);

    expect((await signet(["report", "--kubeconfig", kube.kubeconfigPath, "--cluster", "nope"], env)).code).toBe(64);
    const file = path.join(kube.dir, "dead-report-kubeconfig");
    await writeKubeconfig(file, [{ name: "dead", server: "https://127.0.0.1:1", token: "x", insecure: true }]);
    const dead = await signet(["report", "--kubeconfig", file], env);
    expect(dead.code).toBe(2);
    expect(dead.stdout).toBe("");
    expect(dead.stderr).toMatch(/signet report: scan .* failed/);
  }, 180_000);

  it("prints a readable summary and exits 0 once nothing is rejected", async () => {
    await kube.request("DELETE", "/api/v1/namespaces/tool-0/pods/p-0-0?gracePeriodSeconds=0");
    await waitFor(async () => ((await kube.request("GET", "/api/v1/namespaces/tool-0/pods/p-0-0", undefined, { allow: [404] })) as { code?: number }).code === 404 || undefined, 30_000, "pod deletion");
    const r = await signet(["scan", "--kubeconfig", kube.kubeconfigPath, "--context", "admin"], { ...env, LOG_LEVEL: "info" });
    // a pod went away since the stored lists: the watch says so, and the cluster is listed again
    expect(r.stderr).toMatch(/"listedBecause":"\/api\/v1\/pods: (deleted|modified) since the last list".*"msg":"cluster inventoried"/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/: succeeded \(ran in this process\)/);
    expect(r.stdout).toContain("cluster admin: ok");
    expect(r.stdout).toContain("containers: verified 3, failed 0, unsigned 0, error 0, stale 0, unmatched 0");
    expect(r.stdout).toContain("verdicts (container × policy): verified 3, failed 0, unsigned 0, error 0");
    // nothing changed for the three signed images: their stored evidence holds, their verdicts stay
    expect(r.stdout).toContain("images: 3 (3 checked, 0 with errors)");
    expect(r.stdout).toContain("signatures: 0 fetched from the registry, 3 revalidated (stored; cosign tags unchanged), 0 reused (stored; confirmed within SIGNET_REVALIDATE_SECONDS)");
    expect(r.stdout).toContain("evaluation: 0 image(s) re-evaluated, 3 kept (nothing they depend on changed)");
    expect(r.stdout).toContain("coverage: 100 %");
  }, 120_000);

  it("an API server that accepts the unchanged-proof's watches and never answers them does not hold the scan: the cluster is listed", async () => {
    // in front of the API server: plain HTTP on 127.0.0.1, every request forwarded, except watches,
    // which are accepted and never answered (no status line, no byte)
    const held = new Set<http.ServerResponse>();
    let watches = 0;
    const proxy = await startKubeHttpProxy(kube, (req, res) => {
      if (!isWatch(req.url)) return false;
      watches++;
      held.add(res);
      return true;
    });
    const server = proxy.url;
    try {
      const file = path.join(kube.dir, "hanging-watch-kubeconfig");
      // (client-node speaks plain HTTP only with TLS verification off)
      await writeKubeconfig(file, [{ name: "admin", server, token: kube.tokens.admin, insecure: true }]);
      // the stored inventory's lists as if taken through this server (the last scan took them directly),
      // and a write since them: the proof must watch (not "another API server", not "same resourceVersion")
      const moved = await db.$executeRaw`UPDATE "Cluster" SET "listVersions" = jsonb_set("listVersions"::jsonb, '{server}', to_jsonb(${server}::text)) WHERE name = 'admin' AND "inventoryHash" IS NOT NULL`;
      expect(moved).toBe(1);
      await kube.request("POST", "/api/v1/namespaces/default/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "moves-the-revision" }, data: { a: "b" } });

      const r = await signet(["scan", "--kubeconfig", file, "--context", "admin", "--json"], { ...env, LOG_LEVEL: "info" });
      expect(watches, r.stderr.split("\n").filter((l) => /listedBecause|unchanged|inventoried/.test(l)).join("\n")).toBeGreaterThan(0);
      expect(r.stderr).toMatch(/"listedBecause":"no answer in time".*"msg":"cluster inventoried"/);
      expect(r.stderr).not.toContain('"msg":"cluster unchanged since its stored inventory (not listed)"');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        status: "succeeded",
        ranIn: "this process",
        clusters: [{ name: "admin", ok: true, errors: [] }],
        containers: { verified: 3, failed: 0, unsigned: 0, error: 0, stale: 0, unmatched: 0 },
      });
    } finally {
      for (const res of held) res.destroy();
      await proxy.stop();
    }
  }, 120_000);

  it("containers whose digest cannot be resolved get error verdicts, counted alike by the CLI, the snapshot and the overview", async () => {
    // a tag the registry does not hold, and a registry that does not answer: no digest either way
    await createNamespace(kube, "unresolved");
    const containers = [
      { name: "missing", image: `${registry.host}/apps/missing:v1` },
      { name: "gone", image: "127.0.0.1:1/apps/gone:v1" },
    ];
    await kube.request("POST", "/api/v1/namespaces/unresolved/pods", podManifest({ namespace: "unresolved", name: "u-0", containers }));
    await kube.request(
      "PATCH",
      "/api/v1/namespaces/unresolved/pods/u-0/status",
      { status: { phase: "Running", containerStatuses: containers.map((c) => ({ name: c.name, image: c.image, imageID: "", ready: false, restartCount: 0, state: { waiting: { reason: "ImagePullBackOff" } } })) } },
      { contentType: "application/merge-patch+json" },
    );
    await saveSigningPolicy(db, "127.0.0.1:1", generateSigningKey().publicKeyPem, { name: "unreachable", mode: "audit" });
    const r = await signet(["scan", "--kubeconfig", kube.kubeconfigPath, "--context", "admin", "--json"], env);
    const s = JSON.parse(r.stdout);
    // one error verdict per container × applicable policy (release for missing, unreachable for gone)
    const errors = await db.verdict.findMany({ where: { value: "error", container: { pod: { name: "u-0", deletedAt: null } } }, include: { policy: true, container: true } });
    expect(errors.map((v) => `${v.container.name}:${v.policy.name}`).sort()).toEqual(["gone:unreachable", "missing:release"]);
    for (const v of errors) expect((v.reasons as { code: string; message: string }[])[0]).toMatchObject({ code: "digest-unresolved", message: expect.stringMatching(/digest could not be resolved/) });
    expect(s.verdicts).toMatchObject({ verified: 3, error: 2 });
    // one count everywhere: the summary's containers are the snapshot's, which the overview reads
    expect(s.containers).toEqual({ verified: 3, failed: 0, unsigned: 0, error: 2, stale: 0, unmatched: 0 });
    const fleet = await db.coverageSnapshot.findFirstOrThrow({ where: { scope: "fleet" }, orderBy: { takenAt: "desc" } });
    expect({ verified: fleet.containersVerified, error: fleet.containersError, total: fleet.containersTotal }).toEqual({ verified: 3, error: 2, total: 5 });
    expect(s.coverage).toBe(60);
    expect(s.enforceViolations).toBe(1); // release is enforce: an error is not verified
    expect(r.code).toBe(1);

    // a policy saved after the scan applies to the unresolved container at once (the policy.reevaluate
    // job), with the reason the scan recorded: no running container waits for a scan to get a verdict
    await saveSigningPolicy(db, "127.0.0.1:1", generateSigningKey().publicKeyPem, { name: "later", mode: "audit" });
    expect(await reevaluateUnresolvedContainers(db, { trigger: "policy-saved" })).toBe(2);
    const after = await db.verdict.findMany({ where: { container: { pod: { name: "u-0", deletedAt: null } } }, include: { policy: true, container: true } });
    expect(after.map((v) => `${v.container.name}:${v.policy.name}:${v.value}`).sort()).toEqual(["gone:later:error", "gone:unreachable:error", "missing:release:error"]);
    const reasonOf = (name: string) => (after.find((v) => v.policy.name === name)!.reasons as { code: string; message: string }[])[0];
    expect(reasonOf("later")).toEqual(reasonOf("unreachable"));
  }, 120_000);

  it("exits 2 when the scan fails (the only cluster is unreachable) and names the error", async () => {
    const file = path.join(kube.dir, "dead-kubeconfig");
    await writeKubeconfig(file, [{ name: "dead", server: "https://127.0.0.1:1", token: "x", insecure: true }]);
    const r = await signet(["scan", "--kubeconfig", file, "--json"], env);
    expect(r.code).toBe(2);
    const s = JSON.parse(r.stdout);
    expect(s.status).toBe("failed");
    expect(s.clusters).toEqual([expect.objectContaining({ name: "dead", ok: false })]);
    expect(s.clusters[0].errors.join(" ")).toMatch(/inventory/);
  }, 120_000);

  it("hands the scan to a live worker from its first process (no second process started)", async () => {
    await db.workerHeartbeat.create({ data: { id: "test-worker", hostname: "test", pid: 1, startedAt: new Date(), beatAt: new Date() } });
    try {
      const r = await runSignet(["scan", "--json"], { LOG_LEVEL: "warn", ...env }, { measure: true });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ status: "queued", ranIn: "worker" });
      // (a scan run here would start the command again under the scan runtime: a second process)
      expect(r.peaks.size).toBe(1);
      const jobs = await db.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'scan.start'`);
      expect(jobs[0]!.n).toBe(1);
    } finally {
      await db.workerHeartbeat.deleteMany({ where: { id: "test-worker" } });
    }
  }, 60_000);

  it("refuses unknown options with exit 64", async () => {
    const r = await signet(["scan", "--bogus"], env);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/signet scan:/);
  }, 60_000);

  // last: it stops the registry
  it("counts containers whose verdict is last known only as stale, never as verified, when the registry cannot be asked", async () => {
    await registry.stop();
    const r = await signet(["scan", "--kubeconfig", kube.kubeconfigPath, "--context", "admin", "--json"], env);
    const s = JSON.parse(r.stdout);
    // the three signed images could not be looked at: errors now, verified when last known
    expect(s).toMatchObject({ status: "partial", images: { total: 3, errors: 3, fetched: 0, revalidated: 0 } });
    // the unresolved containers knew nothing before (error: unknown); the signed ones are stale
    expect(s.containers).toEqual({ verified: 0, failed: 0, unsigned: 0, error: 2, stale: 3, unmatched: 0 });
    expect(s.verdicts).toMatchObject({ error: 6 });
    expect(s.verdicts.verified ?? 0).toBe(0);
    // the same figures as the overview's snapshot
    const fleet = await db.coverageSnapshot.findFirstOrThrow({ where: { scope: "fleet" }, orderBy: { takenAt: "desc" } });
    expect({ stale: fleet.containersStale, staleVerified: fleet.containersStaleVerified, verified: fleet.containersVerified }).toEqual({ stale: 3, staleVerified: 3, verified: 0 });
    const web = await db.verdict.findMany({ where: { container: { pod: { name: { startsWith: "p-" }, deletedAt: null } } } });
    expect(web.map((v) => `${v.value}/${v.lastKnownValue}`)).toEqual(["error/verified", "error/verified", "error/verified"]);
    // an enforce-mode policy would reject what it cannot verify now
    expect(r.code).toBe(1);
  }, 120_000);
});
