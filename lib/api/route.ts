import "server-only";
import { NextResponse, type NextRequest } from "next/server";
import { ZodError, type z } from "zod";
import { ApiError, type ErrorEnvelope } from "@/lib/api/errors";
import { getTrustedOrigins } from "@/lib/auth/origins";
import { hasRole } from "@/lib/auth/roles";
import { getSessionUser, type SessionUser } from "@/lib/auth/session";
import { getEnv } from "@/lib/env";
import { childLogger } from "@/lib/log";

/** Who may call a route. Roles are ordered: admin ⊇ auditor ⊇ viewer. */
export type Access = "public" | "viewer" | "auditor" | "admin";

export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, A extends Access = Access> {
  access: A;
  params?: P;
  query?: Q;
  body?: B;
  /** Largest request body accepted, in bytes (default DEFAULT_BODY_LIMIT); larger ones are refused with 413 unread. */
  maxBodyBytes?: number;
  /**
   * The JSON bodies the handler answers with, by status (usually 200: the DTO schema of lib/dto), for
   * the OpenAPI document; the API's integration tests validate responses against it
   * (tests/support/openapi.ts). Errors are the envelope of lib/api/errors.
   */
  responses?: Partial<Record<200 | 201 | 202 | 503, z.ZodType>>;
}

/** Request body limit of every route that states none: 1 MiB. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface RouteContext<P, Q, B, A extends Access = Access> {
  req: NextRequest;
  params: P;
  query: Q;
  body: B;
  /** The request body as received (within the route's limit), for handlers that pass it on (better-auth). */
  rawBody: Uint8Array<ArrayBuffer> | undefined;
  /** The signed-in caller: set on every non-public route (`user.email` is the audit actor). */
  user: A extends "public" ? null : SessionUser;
}

/** Declared access of each wrapped handler, read by the route-enumeration test. */
export const ACCESS = Symbol.for("signet.route.access");
/** The whole spec of each wrapped handler (its zod schemas), read by the OpenAPI document. */
export const SPEC = Symbol.for("signet.route.spec");

type Handler<P, Q, B, A extends Access> = (ctx: RouteContext<P, Q, B, A>) => Promise<Response | object>;

const log = childLogger("api");

/**
 * Prisma errors that only a value can cause (out of range for its column type, too long, invalid for
 * the type; SQLSTATE class 22 from raw queries): the request carried it, so it is the caller's 400.
 * Schemas bound what they can; this is the backstop for a bound they missed.
 */
const VALUE_ERROR_CODES = new Set(["P2000", "P2006", "P2007", "P2019", "P2020", "P2023", "P2033"]);
function isValueError(err: unknown): boolean {
  if (!(err instanceof Error) || err.name !== "PrismaClientKnownRequestError") return false;
  const { code, meta } = err as Error & { code?: string; meta?: { code?: unknown } };
  return VALUE_ERROR_CODES.has(code ?? "") || (code === "P2010" && typeof meta?.code === "string" && meta.code.startsWith("22"));
}

function envelope(err: unknown): NextResponse<ErrorEnvelope> {
  if (err instanceof ApiError) {
    const headers = new Headers();
    const retryAfter = (err.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    if (err.code === "rate_limited" && typeof retryAfter === "number") headers.set("retry-after", String(retryAfter));
    // the unread rest of a refused body is not worth draining on a kept-alive connection
    if (err.code === "payload_too_large") headers.set("connection", "close");
    return NextResponse.json({ error: { code: err.code, message: err.message, details: err.details } }, { status: err.status, headers });
  }
  if (err instanceof ZodError) {
    return NextResponse.json(
      {
        error: {
          code: "validation_failed",
          message: "The request is not valid.",
          details: err.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
        },
      },
      { status: 422 },
    );
  }
  if (isValueError(err)) {
    return NextResponse.json({ error: { code: "bad_request", message: "A value in the request is out of range or invalid." } }, { status: 400 });
  }
  log.error({ err }, "unhandled error in route");
  return NextResponse.json({ error: { code: "internal", message: "Internal error." } }, { status: 500 });
}

/** "The request is larger than the 2 MiB this endpoint accepts." */
function tooLarge(limit: number): string {
  const size = limit >= 1024 * 1024 ? `${+(limit / (1024 * 1024)).toFixed(1)} MiB` : limit >= 1024 ? `${+(limit / 1024).toFixed(1)} KiB` : `${limit} bytes`;
  return `The request is larger than the ${size} this endpoint accepts.`;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Reads the body up to `limit` bytes: a declared Content-Length above it is refused before a byte is
 * read, and a body streamed without one (or lying about it) is refused as soon as it passes the limit,
 * so memory stays bounded by the limit whatever a client sends. GET and HEAD bodies are never read.
 */
async function readBody(req: NextRequest, limit: number): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const declared = req.headers.get("content-length");
  if (declared !== null) {
    if (!/^\d{1,15}$/.test(declared.trim())) throw new ApiError("bad_request", "Invalid Content-Length.");
    if (Number(declared) > limit) throw new ApiError("payload_too_large", tooLarge(limit), { limit });
  }
  if (req.method === "GET" || req.method === "HEAD" || !req.body) return undefined;
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      // Not cancelled: cancelling destroys the socket before the 413 is written. The 413 says
      // `Connection: close`, so the connection ends right after it and the rest is never read.
      reader.releaseLock();
      throw new ApiError("payload_too_large", tooLarge(limit), { limit });
    }
    chunks.push(value);
  }
  return size === 0 ? undefined : new Uint8Array(Buffer.concat(chunks, size));
}

/**
 * PostgreSQL text cannot hold NUL, and no field of Signet's needs one: a NUL anywhere in a parameter,
 * query value or JSON string is refused here (422) instead of failing later in the database.
 */
function findNul(root: unknown): string | undefined {
  // iterative, and linear: each entry points at its parent instead of carrying a copy of its path, so
  // a body of a hundred thousand nested arrays costs neither stack nor quadratic time
  interface Entry {
    value: unknown;
    key?: string | number;
    parent?: Entry;
  }
  const pathOf = (e: Entry, last?: string): string => {
    const parts: (string | number)[] = last === undefined ? [] : [last];
    for (let at: Entry | undefined = e; at && at.key !== undefined; at = at.parent) parts.unshift(at.key);
    return parts.join(".") || "(value)";
  };
  const stack: Entry[] = [{ value: root }];
  while (stack.length) {
    const entry = stack.pop()!;
    const { value } = entry;
    if (typeof value === "string") {
      if (value.includes("\0")) return pathOf(entry);
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) stack.push({ value: value[i], key: i, parent: entry });
    } else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        if (k.includes("\0")) return pathOf(entry, k);
        stack.push({ value: v, key: k, parent: entry });
      }
    }
  }
  return undefined;
}

function refuseNul(value: unknown, where: string): void {
  const at = findNul(value);
  if (at !== undefined) {
    throw new ApiError("validation_failed", "The request is not valid.", [{ path: `${where}${at === "(value)" ? "" : `.${at}`}`, message: "must not contain NUL characters" }]);
  }
}

/**
 * CSRF defence for state-changing requests that carry cookies (the only ones a forged cross-site
 * request could borrow a session for): the browser's Sec-Fetch-Site must not say cross-site, and the
 * Origin must be one of Signet's own. A cookie-bearing POST with neither header is refused.
 */
function checkSameOrigin(req: NextRequest): void {
  if (SAFE_METHODS.has(req.method) || !req.headers.get("cookie")) return;
  const site = req.headers.get("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") {
    throw new ApiError("forbidden", "Cross-site request refused.");
  }
  const origin = req.headers.get("origin");
  if (origin) {
    if (!getTrustedOrigins(getEnv()).includes(origin)) throw new ApiError("forbidden", "Request from an untrusted origin refused.");
    return;
  }
  if (site !== "same-origin") throw new ApiError("forbidden", "Cross-site request refused (no Origin header).");
}

/**
 * The one wrapper of every app/api handler: refuses cross-site state changes, resolves the session and
 * checks the declared role (401 without a session, 403 below the role), parses params / query / body with zod,
 * maps every error to the envelope, and logs unexpected errors once.
 */
export function route<
  P extends z.ZodType = z.ZodType<Record<string, never>>,
  Q extends z.ZodType = z.ZodType<Record<string, never>>,
  B extends z.ZodType = z.ZodType<undefined>,
  A extends Access = Access,
>(spec: RouteSpec<P, Q, B, A>, handler: Handler<z.output<P>, z.output<Q>, z.output<B>, A>) {
  const wrapped = async (req: NextRequest, segment?: { params?: Promise<Record<string, string | string[]>> }) => {
    try {
      checkSameOrigin(req);
      const rawBody = await readBody(req, spec.maxBodyBytes ?? DEFAULT_BODY_LIMIT);
      let user: SessionUser | null = null;
      if (spec.access !== "public") {
        user = await getSessionUser(req.headers);
        if (!user) throw new ApiError("unauthenticated", "Sign in to continue.");
        if (!hasRole(user.role, spec.access)) throw new ApiError("forbidden", `This needs the ${spec.access} role.`);
      }
      const rawParams = (await segment?.params) ?? {};
      refuseNul(rawParams, "params");
      const rawQuery = Object.fromEntries(req.nextUrl.searchParams);
      refuseNul(rawQuery, "query");
      const params = spec.params ? spec.params.parse(rawParams) : rawParams;
      const query = spec.query ? spec.query.parse(rawQuery) : {};
      let body: unknown = undefined;
      if (spec.body) {
        let json: unknown;
        try {
          json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(rawBody ?? new Uint8Array()));
        } catch {
          throw new ApiError("bad_request", "The body must be JSON.");
        }
        refuseNul(json, "body");
        body = spec.body.parse(json);
      }
      const result = await handler({ req, params, query, body, rawBody, user } as RouteContext<z.output<P>, z.output<Q>, z.output<B>, A>);
      const res = result instanceof Response ? result : NextResponse.json(result);
      // what a signed-in caller sees, and an answer that sets a cookie (sign-in, setup), is for them
      // only: never kept by a shared cache
      if ((user || res.headers.has("set-cookie")) && !res.headers.has("cache-control")) {
        try {
          res.headers.set("cache-control", "private, no-store");
        } catch {
          // immutable headers (a fetched or redirect Response): the handler owns its caching
        }
      }
      return res;
    } catch (err) {
      return envelope(err);
    }
  };
  Object.defineProperty(wrapped, ACCESS, { value: spec.access });
  Object.defineProperty(wrapped, SPEC, { value: spec });
  return wrapped;
}
