import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { HTTP_METHODS, openApiPath } from "@/lib/api/openapi";
import { ACCESS } from "@/lib/api/route";
import { API_ROUTES } from "@/lib/api/route-table";
import { apiRequest, useAuthEnv } from "@/tests/support/auth";
import { createTestDatabase } from "@/tests/support/db";
import { ROOT } from "@/tests/support/process";

function findRouteFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return findRouteFiles(full);
    return /^route\.(ts|tsx|js)$/.test(e.name) ? [full] : [];
  });
}

type Doc = { openapi: string; paths: Record<string, Record<string, { "x-signet-role": string; security: unknown[]; parameters?: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[]; requestBody?: { content: Record<string, { schema: Record<string, unknown> }> } }>> };

/**
 * /api/openapi.json: every route file on disk is in the route table, every method it exports is
 * documented with the role it declares, and the schemas are the routes' own zod schemas.
 */
describe("OpenAPI document", () => {
  let doc: Doc;
  const files = findRouteFiles(path.join(ROOT, "app", "api"));
  const routeOf = (file: string) => "/" + path.relative(path.join(ROOT, "app"), path.dirname(file)).split(path.sep).join("/");

  beforeAll(async () => {
    const tdb = await createTestDatabase({ migrate: false });
    await useAuthEnv(tdb.url);
    const { GET } = await import("@/app/api/openapi.json/route");
    const res = await GET(apiRequest("/api/openapi.json"));
    expect(res.status).toBe(200);
    doc = (await res.json()) as Doc;
    await tdb.drop();
  });

  it("documents every route and method on disk with its declared role", async () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(API_ROUTES).sort()).toEqual(files.map(routeOf).sort());
    const missing: string[] = [];
    const expected: string[] = [];
    for (const file of files) {
      const route = routeOf(file);
      const mod = (await import(file)) as Record<string, unknown>;
      for (const method of HTTP_METHODS) {
        const handler = mod[method] as { [ACCESS]?: string } | undefined;
        if (!handler) continue;
        expected.push(`${method} ${openApiPath(route).path}`);
        const op = doc.paths[openApiPath(route).path]?.[method.toLowerCase()];
        if (!handler[ACCESS]) missing.push(`${method} ${route}: no declared role (not wrapped by route())`);
        else if (!op) missing.push(`${method} ${route}: undocumented`);
        else if (op["x-signet-role"] !== handler[ACCESS]) missing.push(`${method} ${route}: documented role ${op["x-signet-role"]}, declared ${handler[ACCESS]}`);
        else if ((op.security.length === 0) !== (handler[ACCESS] === "public")) missing.push(`${method} ${route}: security does not match its role`);
      }
    }
    expect(missing).toEqual([]);
    // and nothing documented that does not exist
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect(documented.sort()).toEqual(expected.sort());
  });

  it("carries the routes' zod schemas: path and query parameters, request bodies", () => {
    const image = doc.paths["/api/images/{id}"]!.get!;
    expect(image.parameters).toEqual([expect.objectContaining({ name: "id", in: "path", required: true })]);
    const list = doc.paths["/api/images"]!.get!;
    expect(list.parameters!.map((p) => p.in)).toContain("query");
    expect(list.parameters!.every((p) => !p.required || p.in === "path")).toBe(true);
    const create = doc.paths["/api/policies"]!.post!;
    expect(create["x-signet-role"]).toBe("admin");
    expect(create.requestBody!.content["application/json"]!.schema).toMatchObject({ type: "object" });
    expect(doc.paths["/api/health"]!.get!.security).toEqual([]);
  });
});
