import "server-only";
import { NextResponse, type NextRequest } from "next/server";
import { ZodError, type z } from "zod";
import { ApiError, type ErrorEnvelope } from "@/lib/api/errors";
import { childLogger } from "@/lib/log";

/** Who may call a route. Roles are ordered: admin ⊇ auditor ⊇ viewer. */
export type Access = "public" | "viewer" | "auditor" | "admin";

export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
}

export interface RouteContext<P, Q, B> {
  req: NextRequest;
  params: P;
  query: Q;
  body: B;
}

/** Declared access of each wrapped handler, read by the route-enumeration test. */
export const ACCESS = Symbol.for("signet.route.access");

type Handler<P, Q, B> = (ctx: RouteContext<P, Q, B>) => Promise<Response | object>;

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

/**
 * Resolves the caller's role. Sign-in arrives with the authentication work (issue 8); until then
 * every non-public route fails closed with 401.
 */
async function resolveRole(_req: NextRequest): Promise<Exclude<Access, "public"> | undefined> {
  return undefined;
}

const RANK: Record<Access, number> = { public: 0, viewer: 1, auditor: 2, admin: 3 };

/**
 * The one wrapper of every app/api handler: checks access, parses params / query / body with zod,
 * maps every error to the envelope, and logs unexpected errors once.
 */
export function route<
  P extends z.ZodType = z.ZodType<Record<string, never>>,
  Q extends z.ZodType = z.ZodType<Record<string, never>>,
  B extends z.ZodType = z.ZodType<undefined>,
>(spec: RouteSpec<P, Q, B>, handler: Handler<z.output<P>, z.output<Q>, z.output<B>>) {
  const wrapped = async (req: NextRequest, segment?: { params?: Promise<Record<string, string | string[]>> }) => {
    try {
      if (spec.access !== "public") {
        const role = await resolveRole(req);
        if (!role) throw new ApiError("unauthenticated", "Sign in to continue.");
        if (RANK[role] < RANK[spec.access]) throw new ApiError("forbidden", `This needs the ${spec.access} role.`);
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
      const result = await handler({ req, params, query, body } as RouteContext<z.output<P>, z.output<Q>, z.output<B>>);
      return result instanceof Response ? result : NextResponse.json(result);
    } catch (err) {
      return envelope(err);
    }
  };
  Object.defineProperty(wrapped, ACCESS, { value: spec.access });
  return wrapped;
}
