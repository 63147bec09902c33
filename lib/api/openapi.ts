import "server-only";
import { z } from "zod";
import { ACCESS, SPEC, type Access, type RouteSpec } from "@/lib/api/route";

export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

type JsonSchema = Record<string, unknown>;

interface Operation {
  operationId: string;
  tags: string[];
  "x-signet-role": Access;
  security: Record<string, string[]>[];
  parameters?: Record<string, unknown>[];
  requestBody?: Record<string, unknown>;
  responses: Record<string, unknown>;
}

/** JSON Schema 2020-12 of what a client sends (OpenAPI 3.1 schemas are JSON Schema); what zod cannot say is left open. */
function inputSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input", unrepresentable: "any" }) as JsonSchema;
  return rest;
}

/** JSON Schema 2020-12 of what a route answers (its DTO as serialized). */
function outputSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io: "output", unrepresentable: "any" }) as JsonSchema;
  return rest;
}

/** `/api/images/[id]` → `/api/images/{id}` (a catch-all `[...all]` → `{all}`, several segments). */
export function openApiPath(route: string): { path: string; segments: { name: string; catchAll: boolean }[] } {
  const segments: { name: string; catchAll: boolean }[] = [];
  const path = route.replace(/\[(\.\.\.)?(\w+)\]/g, (_m, dots: string | undefined, name: string) => {
    segments.push({ name, catchAll: Boolean(dots) });
    return `{${name}}`;
  });
  return { path, segments };
}

function parametersOf(spec: RouteSpec<z.ZodType, z.ZodType, z.ZodType>, segments: { name: string; catchAll: boolean }[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const params = spec.params ? inputSchema(spec.params) : undefined;
  const props = (params?.properties ?? {}) as Record<string, JsonSchema>;
  for (const s of segments) {
    out.push({
      name: s.name,
      in: "path",
      required: true,
      schema: props[s.name] ?? { type: "string" },
      ...(s.catchAll ? { description: "one or more path segments" } : {}),
    });
  }
  if (spec.query) {
    const q = inputSchema(spec.query);
    const required = new Set((q.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries((q.properties ?? {}) as Record<string, JsonSchema>)) {
      out.push({ name, in: "query", required: required.has(name), schema });
    }
  }
  return out;
}

const ERROR_ENVELOPE: JsonSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: { code: { type: "string" }, message: { type: "string" }, details: {} },
    },
  },
};

/**
 * The OpenAPI 3.1 document of every route in `routes` (path → module exports), from the zod schemas
 * their route() specs already declare: path and query parameters, JSON request bodies, the role each
 * operation needs (`x-signet-role`, and the session cookie as security unless public), the error envelope.
 * Handlers not wrapped by route() have no spec and are left out (the test names them).
 */
export function buildOpenApi(routes: Record<string, Record<string, unknown>>, info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, Operation>> = {};
  for (const [route, mod] of Object.entries(routes).sort(([a], [b]) => a.localeCompare(b))) {
    const { path, segments } = openApiPath(route);
    for (const method of HTTP_METHODS) {
      const handler = mod[method] as ({ [ACCESS]?: Access; [SPEC]?: RouteSpec<z.ZodType, z.ZodType, z.ZodType> } & object) | undefined;
      const spec = handler?.[SPEC];
      if (!spec) continue;
      const tag = route.split("/")[2] ?? "api";
      const op: Operation = {
        operationId: `${method.toLowerCase()}${route.replace(/\[\.\.\.(\w+)\]|\[(\w+)\]/g, "By_$1$2").replace(/[^A-Za-z0-9]+(\w)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ""))}`,
        tags: [tag],
        "x-signet-role": spec.access,
        security: spec.access === "public" ? [] : [{ session: [] }],
        responses: {
          "200": { description: "Success (JSON unless the operation streams a download)" },
          ...Object.fromEntries(
            Object.entries(spec.responses ?? {}).map(([status, schema]) => [
              status,
              { description: status === "503" ? "Unhealthy" : "Success", content: { "application/json": { schema: outputSchema(schema as z.ZodType) } } },
            ]),
          ),
          ...(spec.access === "public" ? {} : { "401": { description: "No session", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } }, "403": { description: `Needs the ${spec.access} role`, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } } }),
          default: { description: "Error envelope", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
        },
      };
      const parameters = parametersOf(spec, segments);
      if (parameters.length) op.parameters = parameters;
      if (spec.body) op.requestBody = { required: true, content: { "application/json": { schema: inputSchema(spec.body) } } };
      (paths[path] ??= {})[method.toLowerCase()] = op;
    }
  }
  return {
    openapi: "3.1.0",
    info: { title: "Signet API", version: info.version, description: "Which container images running in Kubernetes are provably signed by someone you trust." },
    servers: [{ url: "/" }],
    paths,
    components: {
      schemas: { Error: ERROR_ENVELOPE },
      securitySchemes: { session: { type: "apiKey", in: "cookie", name: "signet.session_token", description: "The session cookie of a signed-in user (better-auth); state-changing requests also need a same-origin Origin header" } },
    },
  };
}
