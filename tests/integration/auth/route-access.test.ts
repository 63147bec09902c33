import fs from "node:fs";
import path from "node:path";
import type { NextRequest } from "next/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCESS, type Access } from "@/lib/api/route";
import { ROLES, type Role } from "@/lib/auth/roles";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { apiRequest, sessionCookieFor, useAuthEnv } from "@/tests/support/auth";
import { expectDocumentedResponse } from "@/tests/support/openapi";
import { ROOT } from "@/tests/support/process";

/**
 * Every handler under app/api, found on disk (a new route cannot be forgotten), is checked for its
 * declared access: without a session 401, with a role below the declared one 403, with the declared
 * role neither. Public handlers must be listed here explicitly.
 */
const PUBLIC: Record<string, string[]> = {
  "/api/health": ["GET"],
  // Prometheus scrapes without a session, with the bearer SIGNET_METRICS_TOKEN (anonymous callers: 401)
  "/api/metrics": ["GET"],
  // the API's description holds no data
  "/api/openapi.json": ["GET"],
  "/api/auth/[...all]": ["GET", "POST"],
  "/api/auth/setup": ["POST"],
  // unmatched /api paths: 404 in the envelope
  "/api/[...path]": ["DELETE", "GET", "PATCH", "POST", "PUT"],
};

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
type Handler = ((req: NextRequest, segment?: { params?: Promise<Record<string, string | string[]>> }) => Promise<Response>) & {
  [ACCESS]?: Access;
};

interface Endpoint {
  route: string;
  method: (typeof METHODS)[number];
  file: string;
}

function findRouteFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return findRouteFiles(full);
    return /^route\.(ts|tsx|js)$/.test(e.name) ? [full] : [];
  });
}

const API_DIR = path.join(ROOT, "app", "api");
const files = findRouteFiles(API_DIR);
const routeOf = (file: string) => "/" + path.relative(path.join(ROOT, "app"), path.dirname(file)).split(path.sep).join("/");

/** A concrete URL and params for a route pattern: dynamic segments get a random but well-formed id. */
function concrete(route: string): { url: string; params: Record<string, string | string[]> } {
  const params: Record<string, string | string[]> = {};
  const url = route
    .split("/")
    .map((seg) => {
      const catchAll = seg.match(/^\[\[?\.\.\.(\w+)\]\]?$/);
      if (catchAll) {
        params[catchAll[1]!] = ["x"];
        return "x";
      }
      const dyn = seg.match(/^\[(\w+)\]$/);
      if (dyn) {
        params[dyn[1]!] = "00000000-0000-4000-8000-000000000000";
        return params[dyn[1]!];
      }
      return seg;
    })
    .join("/");
  return { url, params };
}

describe("access of every app/api route", () => {
  let tdb: TestDatabase;
  const endpoints: (Endpoint & { handler: Handler })[] = [];
  const cookies = {} as Record<Role, string>;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    await useAuthEnv(tdb.url);
    for (const file of files) {
      const mod = (await import(file)) as Record<string, unknown>;
      for (const method of METHODS) {
        if (typeof mod[method] === "function") endpoints.push({ route: routeOf(file), method, file, handler: mod[method] as Handler });
      }
    }
    for (const role of ROLES) cookies[role] = (await sessionCookieFor(role)).cookie;
  });
  afterAll(async () => {
    await (await import("@/lib/db/client")).getDb().$disconnect();
    await tdb?.drop();
  });

  const call = (e: Endpoint & { handler: Handler }, cookie?: string) => {
    const { url, params } = concrete(e.route);
    const req = apiRequest(url, { method: e.method, cookie, body: e.method === "GET" || e.method === "DELETE" ? undefined : {} });
    return e.handler(req, { params: Promise.resolve(params) });
  };

  it("finds the routes on disk, each handler wrapped with a declared access", () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
    expect(endpoints.map((e) => `${e.method} ${e.route}`)).toEqual(
      expect.arrayContaining(["GET /api/health", "GET /api/users", "POST /api/registry-credentials", "DELETE /api/registry-credentials/[id]"]),
    );
    const unwrapped = endpoints.filter((e) => !e.handler[ACCESS]).map((e) => `${e.method} ${e.route}`);
    expect(unwrapped, "handlers not wrapped by route() from lib/api/route").toEqual([]);
  });

  it("has public handlers only where declared public here", () => {
    const publicFound = endpoints.filter((e) => e.handler[ACCESS] === "public").map((e) => `${e.method} ${e.route}`).sort();
    const declared = Object.entries(PUBLIC).flatMap(([route, methods]) => methods.map((m) => `${m} ${route}`)).sort();
    expect(publicFound).toEqual(declared);
  });

  it("answers 401 without a session, 403 below the declared role, and lets the declared role through", async () => {
    const protectedEndpoints = endpoints.filter((e) => e.handler[ACCESS] !== "public");
    expect(protectedEndpoints.length).toBeGreaterThan(0);
    const failures: string[] = [];
    for (const e of protectedEndpoints) {
      const declared = e.handler[ACCESS] as Role;
      const name = `${e.method} ${e.route} (${declared})`;
      // every answer, refusals included, is what the OpenAPI document says it is
      const documented = async (res: Response) => {
        await expectDocumentedResponse(e.route, e.method, res).catch((err: Error) => failures.push(err.message));
        return res;
      };
      const anonymous = await documented(await call(e));
      if (anonymous.status !== 401) failures.push(`${name}: without a session ${anonymous.status}, expected 401`);
      for (const role of ROLES) {
        const res = await documented(await call(e, cookies[role]));
        const below = ROLES.indexOf(role) < ROLES.indexOf(declared);
        if (below && res.status !== 403) failures.push(`${name}: as ${role} ${res.status}, expected 403`);
        if (!below && (res.status === 401 || res.status === 403)) failures.push(`${name}: as ${role} ${res.status}, expected access`);
      }
    }
    expect(failures).toEqual([]);
  });
});
