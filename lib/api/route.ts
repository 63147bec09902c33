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
}

export interface RouteContext<P, Q, B, A extends Access = Access> {
  req: NextRequest;
  params: P;
  query: Q;
  body: B;
  /** The signed-in caller: set on every non-public route (`user.email` is the audit actor). */
  user: A extends "public" ? null : SessionUser;
}

/** Declared access of each wrapped handler, read by the route-enumeration test. */
export const ACCESS = Symbol.for("signet.route.access");

type Handler<P, Q, B, A extends Access> = (ctx: RouteContext<P, Q, B, A>) => Promise<Response | object>;

const log = childLogger("api");

function envelope(err: unknown): NextResponse<ErrorEnvelope> {
  if (err instanceof ApiError) {
    return NextResponse.json({ error: { code: err.code, message: err.message, details: err.details } }, { status: err.status });
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
  log.error({ err }, "unhandled error in route");
  return NextResponse.json({ error: { code: "internal", message: "Internal error." } }, { status: 500 });
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

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
      let user: SessionUser | null = null;
      if (spec.access !== "public") {
        user = await getSessionUser(req.headers);
        if (!user) throw new ApiError("unauthenticated", "Sign in to continue.");
        if (!hasRole(user.role, spec.access)) throw new ApiError("forbidden", `This needs the ${spec.access} role.`);
      }
      const rawParams = (await segment?.params) ?? {};
      const params = spec.params ? spec.params.parse(rawParams) : rawParams;
      const query = spec.query ? spec.query.parse(Object.fromEntries(req.nextUrl.searchParams)) : {};
      let body: unknown = undefined;
      if (spec.body) {
        let json: unknown;
        try {
          json = await req.json();
        } catch {
          throw new ApiError("bad_request", "The body must be JSON.");
        }
        body = spec.body.parse(json);
      }
      const result = await handler({ req, params, query, body, user } as RouteContext<z.output<P>, z.output<Q>, z.output<B>, A>);
      const res = result instanceof Response ? result : NextResponse.json(result);
      // what a signed-in caller sees is for them only: never kept by a shared cache
      if (user && !res.headers.has("cache-control")) {
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
  return wrapped;
}
