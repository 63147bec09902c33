import { buildOpenApi } from "@/lib/api/openapi";
import { route } from "@/lib/api/route";
import { API_ROUTES } from "@/lib/api/route-table";
import pkg from "@/package.json" with { type: "json" };

export const dynamic = "force-dynamic";

let document: Record<string, unknown> | undefined;

/** The OpenAPI 3.1 document of Signet's API, built once from the route table's zod schemas (public: it holds no data). */
export const GET = route({ access: "public" }, async () => {
  if (!document) {
    const modules = Object.fromEntries(await Promise.all(Object.entries(API_ROUTES).map(async ([path, load]) => [path, await load()] as const)));
    document = buildOpenApi(modules, { version: pkg.version });
  }
  return Response.json(document, { headers: { "cache-control": "public, max-age=300" } });
});
