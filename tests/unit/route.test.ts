import { NextRequest } from "next/server";
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { ApiError } from "@/lib/api/errors";
import { ACCESS, route } from "@/lib/api/route";

const req = (url: string, init?: ConstructorParameters<typeof NextRequest>[1]) => new NextRequest(new URL(url, "http://localhost"), init);

describe("route wrapper", () => {
  it("parses query and body with zod and returns JSON", async () => {
    const handler = route(
      { access: "public", query: z.object({ n: z.coerce.number().int() }), body: z.object({ name: z.string() }) },
      async ({ query, body }) => ({ doubled: query.n * 2, hello: body.name }),
    );
    const res = await handler(req("/x?n=21", { method: "POST", body: JSON.stringify({ name: "ada" }) }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ doubled: 42, hello: "ada" });
  });

  it("maps validation failures to 422 with the failing paths", async () => {
    const handler = route({ access: "public", query: z.object({ n: z.coerce.number().int() }) }, async () => ({}));
    const res = await handler(req("/x?n=abc"));
    expect(res.status).toBe(422);
    const body = await res.json();
    expect(body.error.code).toBe("validation_failed");
    expect(body.error.details[0].path).toBe("n");
  });

  it("maps ApiError to its status and code", async () => {
    const handler = route({ access: "public" }, async () => {
      throw new ApiError("not_found", "No such image.");
    });
    const res = await handler(req("/x"));
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: "No such image." } });
  });

  it("hides unexpected errors behind a 500 without details", async () => {
    const handler = route({ access: "public" }, async () => {
      throw new Error("secret internals: password=hunter2");
    });
    const res = await handler(req("/x"));
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain("hunter2");
    expect(JSON.parse(text)).toEqual({ error: { code: "internal", message: "Internal error." } });
  });

  it("rejects a body that is not JSON with 400", async () => {
    const handler = route({ access: "public", body: z.object({}) }, async () => ({}));
    const res = await handler(req("/x", { method: "POST", body: "{nope" }));
    expect(res.status).toBe(400);
  });

  it("fails closed for role-protected routes while no session exists", async () => {
    const inner = vi.fn(async () => ({ secret: true }));
    const handler = route({ access: "viewer" }, inner);
    const res = await handler(req("/x"));
    expect(res.status).toBe(401);
    expect(inner).not.toHaveBeenCalled();
    expect((handler as unknown as Record<symbol, string>)[ACCESS]).toBe("viewer");
  });
});
