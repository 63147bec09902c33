import fs from "node:fs";
import fsp from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreePort } from "@/lib/db/embedded";
import { locateDatabaseUrl } from "@/lib/db/locate";
import type { Env } from "@/lib/env";
import { waitForSetupLink } from "@/tests/support/auth-browser";
import { ROOT, spawnTs, waitFor, type Spawned } from "@/tests/support/process";

/**
 * Request hardening on the production build, over real sockets: the client address comes from the
 * socket (X-Forwarded-For only from a trusted proxy, here 127.0.0.2), sign-in is throttled per address
 * and per account, 10 MB bodies are refused with 413 without the web process growing, prefetches get
 * the nonce CSP, anonymous /api/health tells no details, and random input to every route in app/api
 * never yields a 500 nor stops the server.
 */

interface Sent {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** a body of this many zero bytes, written in 64 KiB chunks (chunked when `chunked`) */
  zeroBytes?: number;
  chunked?: boolean;
  /** the client's source address on loopback (127.0.0.2 is the trusted proxy) */
  from?: string;
  /** the body limit the server enforces on this route (1 MiB unless the route declares more) */
  limit?: number;
}

const PROXY = "127.0.0.2";

describe("request hardening on the production build", () => {
  let dataDir: string;
  let port: number;
  let base: string;
  let app: Spawned;
  let db: pg.Client;
  let adminCookie: string;
  const admin = { name: "Sec Admin", email: "sec-admin@example.test", password: "security admin password" };

  /** One HTTP request on a fresh connection; a server that answers before the body is sent and closes is fine. */
  function send(pathAndQuery: string, o: SendOptions = {}): Promise<Sent> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...o.headers };
      if (o.body !== undefined) headers["content-length"] ??= String(Buffer.byteLength(o.body));
      if (o.zeroBytes !== undefined && !o.chunked) headers["content-length"] = String(o.zeroBytes);
      let responded = false;
      const req = http.request(
        { host: "127.0.0.1", port, path: pathAndQuery, method: o.method ?? "GET", headers, localAddress: o.from ?? "127.0.0.1", agent: false },
        (res) => {
          responded = true;
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => (body += d));
          res.on("end", () => {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
            req.destroy();
          });
          res.on("error", reject);
        },
      );
      req.on("error", (err: NodeJS.ErrnoException) => {
        // the server refused the body and closed while it was still being written: fine once its answer was read
        if (!responded || (err.code !== "EPIPE" && err.code !== "ECONNRESET")) reject(new Error(`${o.method ?? "GET"} ${pathAndQuery}${o.chunked ? " (chunked)" : ""}: ${err.message}`, { cause: err }));
      });
      if (o.zeroBytes !== undefined) {
        // like a careful client: headers first, and no more body once the server has answered
        req.flushHeaders();
        const chunk = Buffer.alloc(64 * 1024);
        let left = o.zeroBytes;
        const pump = async () => {
          // a server that decides on the headers (a Content-Length too large, or none) answers before any body byte is sent:
          // with a Content-Length, wait for that answer (up to 3 s) rather than race it with the first write
          for (let t = 0; t < (o.chunked ? 3 : 30) && !responded; t++) await new Promise((r) => setTimeout(r, 100));
          while (left > 0 && !responded && !req.destroyed) {
            const n = Math.min(left, chunk.length);
            left -= n;
            await new Promise<void>((r) => req.write(n === chunk.length ? chunk : chunk.subarray(0, n), () => r()));
            // just past the route's limit, give the server time to answer before sending on:
            // writing into a connection it has closed would lose its answer to a reset
            if (o.zeroBytes! - left === (o.limit ?? 1024 * 1024) + 64 * 1024) {
              for (let t = 0; t < 50 && !responded; t++) await new Promise((r) => setTimeout(r, 100));
            }
          }
          // once answered, the rest of the body is never sent (the server closes the connection)
          if (!responded) req.end();
        };
        void pump();
      } else {
        req.end(o.body);
      }
    });
  }

  const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { "content-type": "application/json", origin: base } });
  const signIn = (email: string, password: string, o: { from?: string; forwardedFor?: string } = {}) =>
    send("/api/auth/sign-in/email", {
      method: "POST",
      from: o.from,
      ...json({ email, password }),
      headers: { ...json({}).headers, ...(o.forwardedFor ? { "x-forwarded-for": o.forwardedFor } : {}) },
      body: JSON.stringify({ email, password }),
    });
  const cookieOf = (res: Sent) => (res.headers["set-cookie"] ?? []).map((c) => c.split(";")[0]).join("; ");

  /** The web process (scripts/web.ts) the launcher started. */
  function webPid(): number {
    for (const dir of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      try {
        const stat = fs.readFileSync(`/proc/${dir}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        if (ppid === app.proc.pid && fs.readFileSync(`/proc/${dir}/cmdline`, "utf8").includes("scripts/web.ts")) return Number(dir);
      } catch {
        // a process that ended while we looked
      }
    }
    throw new Error("web process not found");
  }
  const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

  beforeAll(async () => {
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), "signet-e2e-sec-"));
    port = await findFreePort();
    base = `http://127.0.0.1:${port}`;
    app = spawnTs("scripts/launch.ts", [], {
      DATABASE_URL: "",
      SIGNET_DATA_DIR: dataDir,
      PORT: String(port),
      LOG_LEVEL: "warn",
      SIGNET_NO_WORKER: "1",
      SIGNET_TRUSTED_PROXIES: PROXY,
    });
    await waitFor(async () => ((await send("/sign-in")).status === 200 ? true : undefined), 90_000, "the sign-in page");
    const token = new URL(await waitForSetupLink(() => app.output())).searchParams.get("token");
    const setup = await send("/api/auth/setup", { method: "POST", ...json({ token, ...admin }) });
    expect(setup.status).toBe(201);
    adminCookie = cookieOf(setup);
    db = new pg.Client({ connectionString: await locateDatabaseUrl({ SIGNET_DATA_DIR: dataDir } as Env) });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    if (app && app.proc.exitCode === null) {
      app.proc.kill("SIGTERM");
      await app.exited;
    }
    await fsp.rm(dataDir, { recursive: true, force: true });
  });

  it("throttles sign-in by the socket address however X-Forwarded-For rotates", async () => {
    const statuses: number[] = [];
    // distinct accounts, so only the address can be what stops the sixth guess
    for (let i = 0; i < 7; i++) statuses.push((await signIn(`nobody-${i}@example.test`, `wrong password ${i}`, { forwardedFor: `198.51.100.${i + 1}` })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const refused = await signIn("nobody-x@example.test", "wrong password x", { forwardedFor: "198.51.100.250" });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: "rate_limited" } });
  });

  it("believes X-Forwarded-For from a trusted proxy only: the right-most address it did not add", async () => {
    // through the proxy, each forwarded client has its own budget; the forged left-most entry is ignored
    for (let i = 0; i < 6; i++) {
      expect((await signIn(`p-${i}@example.test`, "wrong password", { from: PROXY, forwardedFor: `6.6.6.6, 203.0.113.${i + 1}` })).status).toBe(401);
    }
    const one: number[] = [];
    for (let i = 0; i < 6; i++) one.push((await signIn(`q-${i}@example.test`, "wrong password", { from: PROXY, forwardedFor: `6.6.6.${i}, 203.0.113.100` })).status);
    expect(one).toEqual([401, 401, 401, 401, 401, 429]);

    const ok = await signIn(admin.email, admin.password, { from: PROXY, forwardedFor: "6.6.6.6, 203.0.113.77" });
    expect(ok.status).toBe(200);
    const token = decodeURIComponent(cookieOf(ok).split("=")[1]!).split(".")[0]!;
    const session = await db.query<{ ipAddress: string }>(`SELECT "ipAddress" FROM session WHERE token = $1`, [token]);
    expect(session.rows.map((r) => r.ipAddress)).toEqual(["203.0.113.77"]);
    // the session token is in the httpOnly cookie only
    expect(ok.body).not.toContain(token);
    const me = await send("/api/auth/get-session", { headers: { cookie: cookieOf(ok) } });
    expect(me.status).toBe(200);
    expect(me.body).not.toContain(token);
  });

  it("backs off an account exponentially whichever addresses the guesses come from", async () => {
    const user = { email: "victim@example.test", name: "Victim", password: "the victim's password", role: "viewer" };
    expect((await send("/api/users", { method: "POST", ...json(user), headers: { ...json(user).headers, cookie: adminCookie } })).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await signIn(user.email, `guess ${i} of many`, { from: PROXY, forwardedFor: `192.0.2.${i + 1}` })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    // from here every failure doubles the wait (1, 2, 4 s ...): guess on until the wait is 2 s or more
    let waited: Sent | undefined;
    for (let i = 0; i < 10 && !waited; i++) {
      const res = await signIn(user.email, `guess ${i} of more`, { from: PROXY, forwardedFor: `192.0.2.${i + 10}` });
      if (res.status === 429 && Number(res.headers["retry-after"]) >= 2) waited = res;
      else if (res.status === 429) await new Promise((r) => setTimeout(r, Number(res.headers["retry-after"]) * 1000));
      else expect(res.status).toBe(401);
    }
    expect(waited).toBeDefined();
    // the right password from yet another address waits as well
    expect((await signIn(user.email, user.password, { from: PROXY, forwardedFor: "192.0.2.99" })).status).toBe(429);
    // failed sign-ins are audited per account, in aggregate: at the 1st, 2nd and 4th failure
    const audit = await db.query<{ details: { failures: number; addresses: string[] } }>(
      `SELECT details FROM "VerificationEvent" WHERE details->>'action' = 'auth.sign_in_failed' AND details->>'account' = $1 ORDER BY seq`,
      [user.email],
    );
    expect(audit.rows.map((r) => r.details.failures).slice(0, 3)).toEqual([1, 2, 4]);
    expect(audit.rows[2]!.details.addresses).toEqual(["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]);
  });

  it("refuses 10 MB bodies with 413 before reading them, on the unauthenticated routes too, with flat memory", async () => {
    const pid = webPid();
    const tenMb = 10 * 1024 * 1024;
    const targets = ["/api/auth/setup", "/api/auth/sign-in/email", "/api/policies", "/sign-in"];
    // policies take 2 MiB (app/api/policies/route.ts), everything else 1 MiB
    const limit = (t: string) => (t === "/api/policies" ? 2 * 1024 * 1024 : 1024 * 1024);
    // warm up: every target compiled and answered once
    for (const t of targets) for (const chunked of [false, true]) await send(t, { method: "POST", zeroBytes: tenMb, chunked, limit: limit(t), headers: { "content-type": "application/json" } });
    const before = rssMb(pid);
    const statuses = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const target = targets[i % targets.length]!;
      const chunked = i % 2 === 1;
      const res = await send(target, { method: "POST", zeroBytes: tenMb, chunked, limit: limit(target), headers: { "content-type": "application/json" } });
      statuses.add(res.status);
      if (res.status === 413) expect(JSON.parse(res.body)).toMatchObject({ error: { code: "payload_too_large" } });
    }
    const after = rssMb(pid);
    // a page refuses a body of unknown length with 411; everything else with 413
    expect([...statuses].sort()).toEqual([411, 413]);
    console.info(`web RSS before ${before.toFixed(0)} MB, after 40 × 10 MB bodies ${after.toFixed(0)} MB`);
    // 400 MB were sent; reading even one of them would show
    expect(after - before).toBeLessThan(40);
    // a body within the limit still works
    expect((await signIn("nobody-small@example.test", "wrong password", { from: PROXY, forwardedFor: "203.0.113.201" })).status).toBe(401);
  });

  it("holds a page's body limit however the path is spelled (dot segments through /api/)", async () => {
    for (const target of ["/api/../sign-in", "/api/%2e%2e/sign-in", "/api/%2E%2E/setup"]) {
      const declared = await send(target, { method: "POST", zeroBytes: 2 * 1024 * 1024, headers: { "content-type": "text/plain" } });
      expect(declared.status, target).toBe(413);
      const chunked = await send(target, { method: "POST", zeroBytes: 2 * 1024 * 1024, chunked: true, headers: { "content-type": "text/plain" } });
      expect(chunked.status, `${target} (chunked)`).toBe(411);
    }
  });

  it("puts the nonce CSP on prefetched pages", async () => {
    const prefetches: Record<string, string>[] = [{ purpose: "prefetch" }, { "sec-purpose": "prefetch" }, { "next-router-prefetch": "1" }];
    for (const header of prefetches) {
      const res = await send("/sign-in", { headers: header });
      expect(res.status).toBe(200);
      const csp = String(res.headers["content-security-policy"] ?? "");
      expect(csp).toMatch(/script-src[^;]*'nonce-[A-Za-z0-9+/=]{16,}'/);
    }
  });

  it("tells anonymous callers of /api/health only the verdicts, signed-in users the details", async () => {
    const anonymous = await send("/api/health");
    expect(anonymous.status).toBe(503);
    expect(JSON.parse(anonymous.body)).toEqual({ status: "unhealthy", checks: { database: { ok: true }, migrations: { ok: true }, worker: { ok: false } } });
    const signedIn = await send("/api/health", { headers: { cookie: adminCookie } });
    expect(JSON.parse(signedIn.body)).toMatchObject({ checks: { migrations: { pending: [] }, worker: { workers: 0 } } });
  });

  it("answers malformed paths, numbers and NUL bytes with 4xx and the error envelope", async () => {
    const cases: [string, SendOptions][] = [
      ["/api/authorities/%25/revoke", { headers: { cookie: adminCookie } }],
      ["/api/authorities/%ZZ/revoke", { headers: { cookie: adminCookie } }],
      ["/api/authorities/%E0%A4%A", { headers: { cookie: adminCookie } }],
      ["/api/audit?before=-99999999999999999999999", { headers: { cookie: adminCookie } }],
      ["/api/audit?from=-271821-04-20", { headers: { cookie: adminCookie } }],
      ["/api/users", { method: "POST", ...json({ email: "nul@example.test", name: "a\u0000b", password: "long enough password" }), headers: { ...json({}).headers, cookie: adminCookie } }],
    ];
    for (const [p, o] of cases) {
      const res = await send(p, o);
      expect(res.status, p).toBeGreaterThanOrEqual(400);
      expect(res.status, p).toBeLessThan(500);
      expect(JSON.parse(res.body), p).toHaveProperty("error.code");
    }
  });

  it("never answers 500 to random input on any route, and keeps running", async () => {
    const routes = listRoutes();
    expect(routes.length).toBeGreaterThan(25);
    const segment = fc.oneof(
      fc.string({ maxLength: 40 }).map(encodeURIComponent),
      fc.constantFrom("%25", "%ZZ", "%E0%A4%A", "%00", "%2E%2E", "%2F", "policy:x%2Fy", "sha256:00", "00000000-0000-0000-0000-000000000000"),
      fc.uuid(),
    );
    const value = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom("-99999999999999999999999", "1e400", "NaN", "-1", "0", "99999999999999999999", "\u0000", "2024-13-45", "+275760-09-13T00:00:00Z"),
      fc.integer().map(String),
    );
    const query = fc.dictionary(
      fc.constantFrom("before", "limit", "page", "pageSize", "from", "to", "q", "sort", "order", "cluster", "namespace", "verdict", "cursor", "status", "policy", "kind", "format"),
      value,
      { maxKeys: 4 },
    );
    const jsonBody = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.dictionary(fc.string({ maxLength: 12 }), value, { maxKeys: 6 }).map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 60 }),
      fc.constantFrom('{"email":"a\\u0000@x.test","password":"x"}', '{"yaml":"\\u0000"}', "[".repeat(5000), '{"url":"http://169.254.169.254/"}'),
    );
    const request = fc.record({ route: fc.constantFrom(...routes), segments: fc.array(segment, { minLength: 3, maxLength: 3 }), query, body: jsonBody, signedIn: fc.boolean() });

    const seen: string[] = [];
    await fc.assert(
      fc.asyncProperty(request, async ({ route, segments, query, body, signedIn }) => {
        let i = 0;
        const p = route.template.replace(/\[(\.\.\.)?[^\]]+\]/g, () => segments[i++ % segments.length]!);
        const qs = new URLSearchParams(query).toString();
        const url = `${p}${qs ? `?${qs}` : ""}`;
        // signing out would end the session the rest of the run uses
        const cookie = signedIn && !p.endsWith("/sign-out") ? adminCookie : undefined;
        const hasBody = route.method !== "GET" && route.method !== "DELETE";
        const res = await send(url, {
          method: route.method,
          headers: { origin: base, ...(cookie ? { cookie } : {}), ...(hasBody ? { "content-type": "application/json" } : {}) },
          body: hasBody ? body : undefined,
        });
        seen.push(`${route.method} ${route.template}`);
        // only the health check may say it is unavailable (no worker runs here)
        const serverError = res.status >= 500 && !(route.template === "/api/health" && res.status === 503);
        if (serverError) throw new Error(`${route.method} ${url} → ${res.status}: ${res.body.slice(0, 300)}`);
        if (res.status >= 400 && res.status !== 405 && route.template !== "/api/health") {
          expect(JSON.parse(res.body), `${route.method} ${url}`).toHaveProperty("error.code");
        }
      }),
      { numRuns: 300, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), endOnFailure: true },
    );
    // the run reached most of the route table, and the server still serves
    expect(new Set(seen).size).toBeGreaterThan(routes.length * 0.6);
    expect(app.proc.exitCode).toBeNull();
    expect((await send("/api/health")).status).toBe(503);
    expect((await send("/api/users", { headers: { cookie: adminCookie } })).status).toBe(200);
  });
});

/** Every handler of app/api: the URL template from the folder names and the methods the file exports. */
function listRoutes(): { template: string; method: string }[] {
  const out: { template: string; method: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name === "route.ts") {
        const template = `/${path.relative(path.join(ROOT, "app"), path.dirname(full)).split(path.sep).join("/")}`;
        const source = fs.readFileSync(full, "utf8");
        for (const m of source.matchAll(/export (?:const|async function) (GET|POST|PUT|PATCH|DELETE)\b/g)) out.push({ template, method: m[1]! });
      }
    }
  };
  walk(path.join(ROOT, "app", "api"));
  return out;
}
