import { generateKeyPairSync } from "node:crypto";
import type { NextRequest } from "next/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "@/lib/db/client";
import { loadActivePolicies } from "@/lib/policy/store";
import { createScan } from "@/lib/scan/pipeline";
import { evaluateImage } from "@/lib/scan/evaluate-image";
import { writeCoverageSnapshot } from "@/lib/scan/snapshot";
import { API_ROUTES } from "@/lib/api/route-table";
import { apiRequest, sessionCookieFor, useAuthEnv } from "@/tests/support/auth";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { seedInventory } from "@/tests/support/inventory";
import { keySignatureFact, saveKeyPolicy } from "@/tests/support/policies";
import { expectDocumentedResponse } from "@/tests/support/openapi";

const PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const d = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
type Handler = (req: NextRequest, segment?: { params?: Promise<Record<string, string | string[]>> }) => Promise<Response>;

/**
 * The read API's answers over an evaluated inventory (verified, unsigned and error verdicts, a policy,
 * a scan, audit events, a coverage snapshot) validate against /api/openapi.json: each response body
 * matches the schema documented for its route, method and status.
 */
describe("API responses match the OpenAPI document", () => {
  let tdb: TestDatabase;
  let cookie: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    tdb = await createTestDatabase();
    await useAuthEnv(tdb.url);
    const db = getDb();
    const seeded = await seedInventory(db, {
      cluster: "prod",
      namespaces: [
        { name: "pay", pods: [1, 2].map((i) => ({ name: `p${i}`, containers: [{ name: "app", image: `ghcr.io/acme/pay@${d(i)}` }] })) },
        { name: "web", pods: [3].map((i) => ({ name: `w${i}`, containers: [{ name: "app", image: `docker.io/library/web@${d(i)}` }] })) },
      ],
    });
    await saveKeyPolicy(db, PEM, undefined, { name: "all", authority: "k" });
    const policies = await loadActivePolicies(db);
    ids.policy = policies[0]!.id;
    const signed = [keySignatureFact(PEM)];
    let i = 0;
    for (const [, imageId] of seeded.images) {
      i++;
      ids.image ??= imageId;
      await evaluateImage(db, {
        imageId,
        facts: i === 1 ? signed : [],
        discovery: i === 1 ? { outcome: "found" } : i === 2 ? { outcome: "error", reason: "timeout" } : { outcome: "none" },
        policies,
        now: new Date(Date.now() - (10 - i) * 1000),
        trigger: "scan",
      });
    }
    await writeCoverageSnapshot(db);
    // Signet's webhook's denials of an authenticated and of an unauthenticated caller (ADR 0018)
    const cluster = await db.cluster.findUniqueOrThrow({ where: { name: "prod" } });
    const at = new Date(Date.now() - 60_000);
    await db.admissionRejection.createMany({
      data: [false, true].map((callerAuthenticated) => ({
        clusterId: cluster.id, namespace: "pay", workloadKind: "Pod", workloadName: callerAuthenticated ? "genuine" : "forged", image: `ghcr.io/acme/pay@${d(9)}`,
        controller: "signet" as const, webhook: "validate.signet.dev", policyName: "all", decision: "denied", callerAuthenticated, message: "not verified",
        eventUid: `signet:${callerAuthenticated}`, firstSeen: at, lastSeen: at,
      })),
    });
    ids.scan = await createScan(db, { trigger: "test" });
    cookie = (await sessionCookieFor("admin")).cookie;
  });
  afterAll(async () => {
    await getDb().$disconnect();
    await tdb?.drop();
  });

  const get = async (route: string, url: string, params: Record<string, string> = {}) => {
    const mod = (await API_ROUTES[route]!()) as Record<string, Handler>;
    const res = await mod.GET!(apiRequest(url, { cookie }), { params: Promise.resolve(params) });
    return { res, body: await expectDocumentedResponse(route, "GET", res) };
  };

  it("read routes answer with their documented DTOs", async () => {
    const cases: [string, string, Record<string, string>?][] = [
      ["/api/overview", "/api/overview?days=7"],
      ["/api/images", "/api/images?sort=verdict"],
      ["/api/images/[id]", `/api/images/${ids.image}`, { id: ids.image! }],
      ["/api/audit", "/api/audit"],
      ["/api/audit/chain", "/api/audit/chain"],
      ["/api/scans", "/api/scans"],
      ["/api/scans/[id]", `/api/scans/${ids.scan}`, { id: ids.scan! }],
      ["/api/policies", "/api/policies"],
      ["/api/policies/[id]", `/api/policies/${ids.policy}`, { id: ids.policy! }],
      ["/api/policies/[id]/drift", `/api/policies/${ids.policy}/drift`, { id: ids.policy! }],
      ["/api/rejections", "/api/rejections"],
    ];
    for (const [route, url, params] of cases) {
      const { res, body } = await get(route, url, params);
      expect({ route, status: res.status }).toEqual({ route, status: 200 });
      expect(body).toBeTypeOf("object");
    }
    // the data is really there (a schema check over empty lists would prove little)
    const images = (await get("/api/images", "/api/images")).body as { total: number; rows: unknown[] };
    expect(images).toMatchObject({ total: 3, rows: expect.any(Array) });
    expect(images.rows).toHaveLength(3);
    // the rejection history tells the unauthenticated caller's row from the authenticated one's
    const rejections = (await get("/api/rejections", "/api/rejections?controller=signet")).body as { rows: { workload: string; callerAuthenticated: boolean | null }[] };
    expect(rejections.rows.map((r) => [r.workload, r.callerAuthenticated]).sort()).toEqual([
      ["Pod/forged", false],
      ["Pod/genuine", true],
    ]);
  });

  it("errors answer with the documented envelope", async () => {
    const missing = await get("/api/images/[id]", "/api/images/00000000-0000-4000-8000-000000000000", { id: "00000000-0000-4000-8000-000000000000" });
    expect(missing.res.status).toBe(404);
    const invalid = await get("/api/images", "/api/images?pageSize=100000");
    expect(invalid.res.status).toBe(422);
  });

  it("fails a response that drifts from its documented schema", async () => {
    const drifted = new Response(JSON.stringify({ fleet: "not an object" }), { status: 200, headers: { "content-type": "application/json" } });
    await expect(expectDocumentedResponse("/api/overview", "GET", drifted)).rejects.toThrow(/does not match the OpenAPI document/);
    const badError = new Response(JSON.stringify({ message: "no envelope" }), { status: 500, headers: { "content-type": "application/json" } });
    await expect(expectDocumentedResponse("/api/overview", "GET", badError)).rejects.toThrow(/does not match the OpenAPI document/);
  });
});
