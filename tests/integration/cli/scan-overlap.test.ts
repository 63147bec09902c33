import { randomBytes } from "node:crypto";
import https from "node:https";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { runSignet } from "@/tests/support/cli";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { startKubeApiserver, writeKubeconfig, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { isWatch, startKubeHttpProxy, type KubeHttpProxy } from "@/tests/support/kube-http-proxy";
import { waitFor } from "@/tests/support/process";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { generateSigningKey, pushSignedImage } from "@/tests/support/registry-fixtures";
import { saveSigningPolicy, seedPods } from "@/tests/support/scan";

/**
 * `signet scan --kubeconfig` checks the images of the stored inventory while its unchanged-proof waits
 * for the API server's bookmark (docs/decisions/0016). A change the proof finds — here made while the
 * proof's pod watch is held, after those checks settled — is listed, written and checked before the
 * scan finishes: no changed pod is reported with the verdict of the stored inventory.
 */
describe("signet scan: images checked while the unchanged-proof waits", () => {
  let tdb: TestDatabase;
  let db: Db;
  let kube: KubeApiserver;
  let registry: TestRegistry;
  let proxy: KubeHttpProxy;
  let kubeconfig: string;
  let env: Record<string, string>;
  let unsigned: string;
  /** Set by a test: the next pod watch is answered (headers) at once, and forwarded to the API server only after `hold` resolves. */
  let hold: (() => Promise<void>) | undefined;
  let held = 0;

  const scan = async () => {
    const r = await runSignet(["scan", "--kubeconfig", kubeconfig, "--context", "admin", "--json"], { ...env, LOG_LEVEL: "info" });
    let s;
    try {
      s = JSON.parse(r.stdout);
    } catch {
      throw new Error(`signet scan: no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
    }
    return { r, s };
  };

  beforeAll(async () => {
    [tdb, kube, registry] = await Promise.all([createTestDatabase(), startKubeApiserver(), startRegistry()]);
    db = createDb(tdb.url, 2);
    const key = generateSigningKey();
    const signed = await pushSignedImage(registry.url, registry.host, "apps/web", key);
    unsigned = (await pushSignedImage(registry.url, registry.host, "apps/tool", key, { sign: false })).digest;
    // two pods running the signed image: p-0-0 and p-1-0 in web-0
    await seedPods(kube, registry.host, [{ repo: "apps/web", digest: signed.digest }], { perPod: 1, podsPerImage: 2, namespaces: 1, prefix: "web" });
    await saveSigningPolicy(db, registry.host, key.publicKeyPem, { mode: "audit" });
    proxy = await startKubeHttpProxy(kube, (req, res) => {
      const wait = hold;
      if (!wait || !isWatch(req.url) || !(req.url ?? "").startsWith("/api/v1/pods?")) return false;
      hold = undefined;
      held++;
      // the watch is registered for the client (status and headers), its events come later: from
      // the API server, asked only once `wait` resolved, from the same stored resourceVersion
      res.writeHead(200, { "content-type": "application/json" });
      res.flushHeaders();
      const upstream = new URL(kube.url);
      void wait().then(() => {
        const up = https.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host }, ca: kube.caPem }, (answer) => answer.pipe(res));
        up.on("error", () => res.destroy());
        up.end();
      }, () => res.destroy());
      return true;
    });
    kubeconfig = path.join(kube.dir, "overlap-kubeconfig");
    // (client-node speaks plain HTTP only with TLS verification off)
    await writeKubeconfig(kubeconfig, [{ name: "admin", server: proxy.url, token: kube.tokens.admin, insecure: true }]);
    env = { DATABASE_URL: tdb.url, SIGNET_REGISTRY_INSECURE: registry.host, KUBECONFIG: "", SIGNET_KUBE_CONTEXTS: "", SIGNET_SECRET_KEY: randomBytes(32).toString("base64") };
  }, 120_000);

  afterAll(async () => {
    await db?.$disconnect();
    await proxy?.stop();
    await Promise.all([kube?.stop(), registry?.stop()]);
    await tdb?.drop();
  });

  it("a rescan with nothing changed checks the stored inventory's images during the proof and lists nothing", async () => {
    const first = await scan();
    expect(first.r.stderr).toContain('"msg":"cluster inventoried"');
    expect(first.s).toMatchObject({ status: "succeeded", containers: { verified: 2 } });

    const again = await scan();
    expect(again.r.stderr).toContain('"msg":"cluster unchanged since its stored inventory (not listed)"');
    expect(again.r.stderr).toMatch(/"checkedAhead":true.*"msg":"scan inventoried; image checks queued"/);
    expect(again.s).toMatchObject({ status: "succeeded", images: { total: 1, checked: 1, errors: 0, reevaluated: 0, verdictsKept: 1 }, containers: { verified: 2, unsigned: 0 } });
    expect(again.r.code).toBe(0);
  }, 120_000);

  it("a change made while the proof waits, after the stored inventory's images were checked, is listed and checked before the scan ends", async () => {
    let checkedAhead = false;
    hold = async () => {
      // the scan's items were all settled over the stored inventory, the scan still in its inventory stage
      await waitFor(
        async () => {
          const [row] = await db.$queryRaw<{ stage: string; items: number; settled: number }[]>`
            SELECT s.stage::text AS stage, count(si."imageId")::int AS items, (count(si."imageId") FILTER (WHERE si.status <> 'pending'))::int AS settled
            FROM "Scan" s LEFT JOIN "ScanItem" si ON si."scanId" = s.id
            WHERE s.id = (SELECT id FROM "Scan" ORDER BY "createdAt" DESC LIMIT 1) GROUP BY s.stage`;
          return row && row.stage === "inventory" && row.items > 0 && row.settled === row.items ? true : undefined;
        },
        30_000,
        "the stored inventory's images checked while the proof waits",
      );
      checkedAhead = true;
      // then the cluster changes: a pod running an unsigned image starts, one of the signed image's pods goes
      await seedPods(kube, registry.host, [{ repo: "apps/tool", digest: unsigned }], { perPod: 1, namespaces: 1, prefix: "late" });
      await kube.request("DELETE", "/api/v1/namespaces/web-0/pods/p-1-0?gracePeriodSeconds=0");
    };
    // a write elsewhere since the stored lists: the proof must watch (not "same resourceVersion")
    await kube.request("POST", "/api/v1/namespaces/default/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "moves-the-revision" }, data: { a: "b" } });
    const { r, s } = await scan();
    expect(held).toBe(1);
    expect(checkedAhead).toBe(true);
    // the proof saw the change: the cluster was listed and written, and its images checked again
    expect(r.stderr).toMatch(/"listedBecause":"\/api\/v1\/pods: (added|modified|deleted) since the last list".*"msg":"cluster inventoried"/);
    expect(r.stderr).toMatch(/"checkedAhead":true.*"msg":"scan inventoried; image checks queued"/);
    expect(s).toMatchObject({
      status: "succeeded",
      images: { total: 2, checked: 2, errors: 0 },
      containers: { verified: 1, unsigned: 1, failed: 0, error: 0, stale: 0, unmatched: 0 },
      verdicts: { verified: 1, unsigned: 1 },
      coverage: 50,
    });
    // the new pod has its verdict, the deleted one left the inventory
    const late = await db.verdict.findMany({ where: { container: { pod: { name: "p-0-0", namespace: { name: "late-0" }, deletedAt: null } } } });
    expect(late.map((v) => v.value)).toEqual(["unsigned"]);
    expect((await db.pod.findFirstOrThrow({ where: { name: "p-1-0", namespace: { name: "web-0" } } })).deletedAt).not.toBeNull();
    // the scan's items are exactly the images running now, each settled once more after the list
    const scanned = await db.$queryRaw<{ item: string }[]>`
      SELECT i.repository || ':' || si.status::text AS item FROM "ScanItem" si JOIN "Image" i ON i.id = si."imageId" WHERE si."scanId" = ${s.scanId}::uuid ORDER BY 1`;
    expect(scanned.map((i) => i.item)).toEqual(["apps/tool:done", "apps/web:done"]);
  }, 120_000);
});
