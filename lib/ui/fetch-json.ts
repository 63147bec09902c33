import type { z } from "zod";

/** An error the API answered with its envelope `{ error: { code, message } }`. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiRequestError";
  }
}

export async function envelopeError(res: Response): Promise<ApiRequestError> {
  const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string; details?: unknown } } | null;
  return new ApiRequestError(res.status, body?.error?.code ?? "http_error", body?.error?.message ?? `Request failed (${res.status}).`, body?.error?.details);
}

/** GETs one of our API routes and validates the answer with its DTO schema. */
export async function getJson<S extends z.ZodType>(url: string, schema: S, signal?: AbortSignal): Promise<z.output<S>> {
  const res = await fetch(url, { headers: { accept: "application/json" }, signal, credentials: "same-origin" });
  if (!res.ok) throw await envelopeError(res);
  return schema.parse(await res.json());
}

/** Sends JSON to one of our API routes (same origin: the route wrapper checks Origin). */
export async function sendJson<S extends z.ZodType>(url: string, method: "POST" | "PUT" | "DELETE", body: unknown, schema: S): Promise<z.output<S>> {
  const res = await fetch(url, {
    method,
    headers: { "content-type": "application/json", accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (!res.ok) throw await envelopeError(res);
  return schema.parse(await res.json());
}

/** A query string from the set values of `params`. */
export function toSearch(params: Record<string, string | number | undefined | null>): string {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") s.set(k, String(v));
  const out = s.toString();
  return out ? `?${out}` : "";
}
