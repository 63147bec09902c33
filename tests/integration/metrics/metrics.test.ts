import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAuditChainStatus } from "@/lib/data/audit";
import { createDb, type Db } from "@/lib/db/client";
import { findFreePort } from "@/lib/db/embedded";
import { resetEnvCache } from "@/lib/env";
import { apiRequest, sessionCookieFor, useAuthEnv } from "@/tests/support/auth";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { spawnTs, waitFor, type Spawned } from "@/tests/support/process";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { generateSigningKey, pushSignedImage } from "@/tests/support/registry-fixtures";
import { enqueueScan, saveSigningPolicy, seedPods, waitForScan } from "@/tests/support/scan";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parse(text: string): Sample[] {
  return text
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(l);
      if (!m) throw new Error(`not a sample line: ${l}`);
      const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);

/**
 * Metrics after a real scan: a worker (scripts/worker.ts, SIGNET_METRICS_PORT) scans a kube-apiserver's
 * pods running three signed images and one unsigned from a local registry; Prometheus-style scrapes of
 * the worker's port and of the web's /api/metrics (bearer token) show what happened.
 */
describe("Prometheus metrics", () => {
  let tdb: TestDatabase;
  let db: Db;
  let kube: KubeApiserver;
  let registry: TestRegistry;
  let worker: Spawned;
  let port: number;
  const token = "scrape-token-0123456789";

  beforeAll(async () => {
    [tdb, kube, registry, port] = await Promise.all([createTestDatabase(), startKubeApiserver(), startRegistry(), findFreePort()]);
    db = createDb(tdb.url, 2);
    const key = generateSigningKey();
    const signed = await Promise.all([0, 1, 2].map(() => pushSignedImage(registry.url, registry.host, "apps/web", key)));
    const unsigned = await pushSignedImage(registry.url, registry.host, "apps/tool", key, { sign: false });
    await seedPods(kube, registry.host, signed.map((s) => ({ repo: "apps/web", digest: s.digest })), { perPod: 3, namespaces: 1, prefix: "web" });
    await seedPods(kube, registry.host, [{ repo: "apps/tool", digest: unsigned.digest }], { perPod: 1, namespaces: 1, prefix: "tool" });
    await saveSigningPolicy(db, registry.host, key.publicKeyPem, { mode: "audit" });
    worker = spawnTs("scripts/worker.ts", [], {
      DATABASE_URL: tdb.url,
      KUBECONFIG: kube.kubeconfigPath,
      SIGNET_KUBE_CONTEXTS: "admin",
      SIGNET_REGISTRY_INSECURE: registry.host,
      SIGNET_METRICS_PORT: String(port),
      SIGNET_METRICS_TOKEN: token,
      HOST: "127.0.0.1",
      SIGNET_HEARTBEAT_SECONDS: "1",
      LOG_LEVEL: "warn",
      // the counts asserted are one scan's: the pod watch would check the same images on its own
      SIGNET_WATCH: "false",
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined))?.status === 401 || undefined, 60_000, `the worker's metrics port\n${worker.output()}`);
    const scanId = await enqueueScan(db, tdb.url);
    const scan = await waitForScan(db, scanId, 120_000);
    expect(scan.status).toBe("succeeded");
  }, 180_000);
  afterAll(async () => {
    worker?.proc.kill("SIGTERM");
    await worker?.exited;
    await db?.$disconnect();
    await Promise.all([kube?.stop(), registry?.stop()]);
    await tdb?.drop();
    resetEnvCache();
  });

  it("the worker counts registry requests, image checks, scan stages and finished scans", async () => {
    expect((await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: "Bearer wrong-token-000000000" } })).status).toBe(401);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const s = parse(await res.text());
    expect(value(s, "signet_registry_requests_total", { registry: registry.host, status: "2xx" })).toBeGreaterThanOrEqual(4);
    expect(value(s, "signet_registry_request_duration_seconds_count", { registry: registry.host })).toBe(value(s, "signet_registry_requests_total", { registry: registry.host }));
    expect(value(s, "signet_image_checks_total", { outcome: "found" })).toBe(3);
    expect(value(s, "signet_image_checks_total", { outcome: "none" })).toBe(1);
    expect(value(s, "signet_scan_stage_duration_seconds_count", { stage: "inventory" })).toBe(1);
    expect(value(s, "signet_scans_finished_total", { status: "succeeded" })).toBe(1);
    expect(value(s, "signet_scan_duration_seconds_count")).toBe(1);
    expect(value(s, "signet_process_resident_memory_bytes")).toBeGreaterThan(0);
    // no image, digest or pod names among the labels
    expect(s.flatMap((x) => Object.values(x.labels)).filter((v) => /sha256:|apps\/|p-0-0/.test(v))).toEqual([]);
  });

  it("the web's /api/metrics reads the fleet from the database, behind the bearer token", async () => {
    await useAuthEnv(tdb.url, { SIGNET_METRICS_TOKEN: token });
    const { GET } = await import("@/app/api/metrics/route");
    expect((await GET(apiRequest("/api/metrics"))).status).toBe(401);
    const res = await GET(apiRequest("/api/metrics", { headers: { authorization: `Bearer ${token}` } }));
    expect(res.status).toBe(200);
    const s = parse(await res.text());
    expect(value(s, "signet_containers", { scope: "fleet", verdict: "verified" })).toBe(3);
    expect(value(s, "signet_containers", { scope: "fleet", verdict: "unsigned" })).toBe(1);
    expect(value(s, "signet_containers", { scope: "cluster", cluster: "admin", verdict: "verified" })).toBe(3);
    expect(value(s, "signet_coverage_ratio", { scope: "fleet" })).toBe(0.75);
    expect(value(s, "signet_coverage_ratio", { scope: "namespace", cluster: "admin", namespace: "web-0" })).toBe(1);
    expect(value(s, "signet_coverage_ratio", { scope: "namespace", cluster: "admin", namespace: "tool-0" })).toBe(0);
    // the audit page's own answer, as a gauge
    const chain = await getAuditChainStatus(db, tdb.url);
    expect(s.find((x) => x.name === "signet_audit_chain_ok")?.value).toBe(chain.ok ? 1 : 0);
    expect(value(s, "signet_audit_events")).toBe(chain.checked);
    expect(chain.checked).toBeGreaterThan(0);
    expect(value(s, "signet_last_scan_finished_timestamp_seconds", { status: "succeeded" })).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(value(s, "signet_last_scan_duration_seconds")).toBeGreaterThan(0);
    // a wrong token is no token; a signed-in user reads them without one
    expect((await GET(apiRequest("/api/metrics", { headers: { authorization: `Bearer ${token}x` } }))).status).toBe(401);
    const { cookie } = await sessionCookieFor("viewer");
    expect((await GET(apiRequest("/api/metrics", { cookie }))).status).toBe(200);
  });

  it("never tells anonymous callers the fleet: without SIGNET_METRICS_TOKEN only signed-in users read /api/metrics", async () => {
    await useAuthEnv(tdb.url, { SIGNET_METRICS_TOKEN: undefined });
    const { GET } = await import("@/app/api/metrics/route");
    const anonymous = await GET(apiRequest("/api/metrics"));
    expect(anonymous.status).toBe(401);
    const text = await anonymous.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: "unauthenticated", message: expect.stringContaining("SIGNET_METRICS_TOKEN") } });
    expect(text).not.toMatch(/signet_|web-0|admin/);
    // any bearer is refused when none is configured
    expect((await GET(apiRequest("/api/metrics", { headers: { authorization: "Bearer anything-at-all-0123" } }))).status).toBe(401);
    const { cookie } = await sessionCookieFor("viewer");
    const signedIn = await GET(apiRequest("/api/metrics", { cookie }));
    expect(signedIn.status).toBe(200);
    expect(value(parse(await signedIn.text()), "signet_coverage_ratio", { scope: "fleet" })).toBe(0.75);
  });
});
