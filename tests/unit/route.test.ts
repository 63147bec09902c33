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

  it("refuses bodies over the limit with 413, declared or streamed, and never reads past it", async () => {
    let handled = 0;
    const small = route({ access: "public", body: z.object({ a: z.string() }) }, async () => ({ handled: ++handled }));
    const big = route({ access: "public", body: z.object({ a: z.string() }), maxBodyBytes: 2 * 1024 * 1024 }, async () => ({ handled: ++handled }));
    const json = (bytes: number) => JSON.stringify({ a: "x".repeat(bytes - 8) });
    // declared: refused on the header
    const declared = await small(req("/x", { method: "POST", body: json(1024 * 1024 + 1), headers: { "content-length": String(1024 * 1024 + 1) } }));
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ error: { code: "payload_too_large", details: { limit: 1024 * 1024 } } });
    // streamed without a length: refused once past the limit; the source is not pulled much further
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 64 * 1024;
        controller.enqueue(new Uint8Array(64 * 1024));
      },
    });
    const streamed = await small(req("/x", { method: "POST", body: endless, duplex: "half" } as ConstructorParameters<typeof NextRequest>[1]));
    expect(streamed.status).toBe(413);
    expect(pulled).toBeLessThan(2 * 1024 * 1024);
    // a route that states a larger limit takes what the default refuses
    expect((await big(req("/x", { method: "POST", body: json(1536 * 1024) }))).status).toBe(200);
    expect((await small(req("/x", { method: "POST", body: json(1536 * 1024) }))).status).toBe(413);
    expect(handled).toBe(1);
  });

  it("refuses NUL characters in the body, query and params with 422", async () => {
    const handler = route({ access: "public", query: z.object({ q: z.string().optional() }), body: z.object({ a: z.array(z.string()) }) }, async () => ({}));
    const inBody = await handler(req("/x", { method: "POST", body: JSON.stringify({ a: ["ok", "b\u0000"] }) }));
    expect(inBody.status).toBe(422);
    expect((await inBody.json()).error.details[0].path).toBe("body.a.1");
    expect((await handler(req("/x?q=%00", { method: "POST", body: JSON.stringify({ a: [] }) }))).status).toBe(422);
    // deeply nested JSON is walked without recursion
    const deep = await handler(req("/x", { method: "POST", body: `${"[".repeat(100_000)}${"]".repeat(100_000)}` }));
    expect(deep.status).toBe(422);
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
