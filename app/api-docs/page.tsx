import type { Metadata } from "next";
import { AppShell } from "@/components/app-shell";
import { buildOpenApi } from "@/lib/api/openapi";
import { API_ROUTES } from "@/lib/api/route-table";
import { requireUser } from "@/lib/auth/current-user";
import pkg from "@/package.json" with { type: "json" };

export const metadata: Metadata = { title: "API" };
export const dynamic = "force-dynamic";

interface Param {
  name: string;
  in: string;
  required: boolean;
  schema: { type?: string; enum?: unknown[] };
}
interface Op {
  "x-signet-role": string;
  parameters?: Param[];
  requestBody?: unknown;
}

/** The HTTP API's operations, from the same document as /api/openapi.json. */
export default async function ApiDocsPage() {
  await requireUser();
  const modules = Object.fromEntries(await Promise.all(Object.entries(API_ROUTES).map(async ([p, load]) => [p, await load()] as const)));
  const doc = buildOpenApi(modules, { version: pkg.version }) as { paths: Record<string, Record<string, Op>> };
  const rows = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));
  return (
    <AppShell current="/api-docs">
      <h1 className="text-2xl font-semibold">HTTP API</h1>
      <p className="mt-1 max-w-3xl text-sm text-slate-600 dark:text-slate-400">
        Every operation, the role it needs and its parameters. The machine-readable description (OpenAPI 3.1) is{" "}
        <a className="underline" href="/api/openapi.json">
          /api/openapi.json
        </a>
        . Calls use your session cookie; state-changing calls need a same-origin Origin header.
      </p>
      <table className="mt-4 w-full text-left text-sm" data-testid="api-operations">
        <thead>
          <tr className="border-b border-slate-200 dark:border-slate-700">
            <th className="py-2 pr-4">Method</th>
            <th className="py-2 pr-4">Path</th>
            <th className="py-2 pr-4">Role</th>
            <th className="py-2">Parameters</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ path, method, op }) => (
            <tr key={`${method} ${path}`} className="border-b border-slate-100 align-top dark:border-slate-800">
              <td className="py-2 pr-4 font-mono">{method}</td>
              <td className="py-2 pr-4 font-mono break-all">{path}</td>
              <td className="py-2 pr-4">{op["x-signet-role"]}</td>
              <td className="py-2 text-xs">
                {(op.parameters ?? []).map((p) => `${p.name} (${p.in}${p.required ? ", required" : ""})`).join(", ")}
                {op.requestBody ? `${op.parameters?.length ? "; " : ""}JSON body` : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </AppShell>
  );
}
