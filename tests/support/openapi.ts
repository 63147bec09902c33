/**
 * Validates API responses against Signet's OpenAPI document (/api/openapi.json, built from the routes'
 * zod schemas): the body of a response must match the schema documented for its route, method and
 * status (or the `default` error envelope), with Ajv's JSON Schema 2020-12 validator (OpenAPI 3.1
 * schemas are JSON Schema 2020-12). A route whose answer drifts from its documentation fails the test
 * that fetched it.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { openApiPath } from "@/lib/api/openapi";

type Json = Record<string, unknown>;
interface Doc {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Json }> }> }>>;
  components: { schemas: Record<string, Json> };
}

let docPromise: Promise<{ doc: Doc; ajv: Ajv2020 }> | undefined;
const compiled = new Map<string, ValidateFunction>();

async function loadDoc(): Promise<{ doc: Doc; ajv: Ajv2020 }> {
  docPromise ??= (async () => {
    const { GET } = await import("@/app/api/openapi.json/route");
    const { apiRequest } = await import("@/tests/support/auth");
    const res = await GET(apiRequest("/api/openapi.json"));
    if (res.status !== 200) throw new Error(`/api/openapi.json answered ${res.status}`);
    const doc = (await res.json()) as Doc;
    // strict: unknown keywords in the document are errors, not silently ignored
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;
    addFormats(ajv);
    ajv.addSchema({ $id: "signet-components", $defs: doc.components.schemas });
    return { doc, ajv };
  })();
  return docPromise;
}

/** `$ref: "#/components/schemas/X"` in the document's schemas resolves to the registered components. */
function rebase(schema: Json): Json {
  return JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#\/components\/schemas\//g, '"$ref":"signet-components#/$defs/')) as Json;
}

/**
 * Checks `res` (a clone is read; the caller may still read it) against the document: `route` is the
 * route pattern as in lib/api/route-table.ts (`/api/images/[id]`). JSON bodies must match the schema
 * documented for the status, else (an error) the `default` envelope; a success the operation documents
 * no body for is not checked. Returns the parsed body.
 */
export async function expectDocumentedResponse(route: string, method: string, res: Response): Promise<unknown> {
  const { doc, ajv } = await loadDoc();
  const path = openApiPath(route).path;
  const op = doc.paths[path]?.[method.toLowerCase()];
  if (!op) throw new Error(`${method} ${route} is not in the OpenAPI document`);
  const type = res.headers.get("content-type") ?? "";
  if (!type.includes("application/json")) return undefined;
  const body = (await res.clone().json()) as unknown;
  const status = String(res.status);
  const documented = op.responses[status]?.content?.["application/json"]?.schema;
  const schema = documented ?? (res.status >= 400 ? op.responses.default?.content?.["application/json"]?.schema : undefined);
  // an operation that documents no body for a success (a download, or not described yet) has nothing to drift from
  if (!schema && res.status < 400) return body;
  if (!schema) throw new Error(`${method} ${route} answered ${status} with JSON the OpenAPI document does not describe`);
  const key = `${method} ${path} ${documented ? status : "default"}`;
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(rebase(schema));
    compiled.set(key, validate);
  }
  if (!validate(body)) {
    const problems = (validate.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`);
    throw new Error(`${method} ${route} ${status}: the body does not match the OpenAPI document:\n  ${problems.join("\n  ")}`);
  }
  return body;
}
