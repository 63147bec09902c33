import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { EgressRefusedError, type LookupAll } from "@/lib/egress/connect";
import { createEgressFetch, type EgressFetch, type EgressFetchOptions } from "@/lib/egress/fetch";

/**
 * The fetch-shaped egress client against real HTTP servers on loopback. Names are answered by an
 * injected resolver (the documented test seam), so nothing but 127.0.0.0/8 is ever contacted.
 */

interface Server {
  url: string;
  host: string;
  port: number;
  connections: number;
  requests: string[];
  stop(): Promise<void>;
}

const servers: Server[] = [];
const clients: EgressFetch[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void, address = "127.0.0.1", port = 0): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    s.requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  server.on("connection", (sock) => {
    s.connections++;
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
  });
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  const p = (server.address() as AddressInfo).port;
  const s: Server = {
    url: `http://${address}:${p}`,
    host: `${address}:${p}`,
    port: p,
    connections: 0,
    requests: [],
    stop: () => {
      for (const sock of sockets) sock.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  servers.push(s);
  return s;
}

const ok = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end("ok");
const redirectTo = (location: string) => (_req: http.IncomingMessage, res: http.ServerResponse) => {
  res.statusCode = 307;
  res.setHeader("location", location);
  res.end();
};

function client(o: Partial<EgressFetchOptions> = {}): EgressFetch {
  const c = createEgressFetch({ label: "test", plainHttp: true, ...o });
  clients.push(c);
  return c;
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EgressRefusedError);
  return (err as Error).message;
}

describe("egress fetch", () => {
  it("refuses loopback, link-local and metadata destinations without connecting", async () => {
    const s = await serve(ok);
    const f = client();
    expect(await refusal(f(`${s.url}/x`))).toMatch(/test 127\.0\.0\.1:\d+ resolves to a loopback address \(127\.0\.0\.1\)/);
    expect(await refusal(f("http://169.254.169.254/latest/meta-data/"))).toMatch(/metadata address/);
    expect(await refusal(f("http://[fe80::1]/"))).toMatch(/link-local address/);
    expect(await refusal(f("http://0.0.0.0:1/"))).toMatch(/unspecified address/);
    expect(s.connections).toBe(0);
  });

  it("checks names on the addresses the resolver returns", async () => {
    const s = await serve(ok);
    const lookups: string[] = [];
    const lookup: LookupAll = async (name) => {
      lookups.push(name);
      return [{ address: "127.0.0.1", family: 4 }];
    };
    expect(await refusal(client({ lookup })(`http://hooks.example.test:${s.port}/`))).toMatch(/test hooks\.example\.test:\d+ resolves to a loopback address \(127\.0\.0\.1\)/);
    expect(lookups).toEqual(["hooks.example.test"]);
    expect(s.connections).toBe(0);
  });

  it("refuses schemes other than http(s), plain HTTP unless allowed, and embedded credentials", async () => {
    expect(await refusal(client()("file:///etc/passwd"))).toMatch(/file:/);
    expect(await refusal(client({ plainHttp: false })("http://127.0.0.1:1/"))).toMatch(/plain HTTP/);
    expect(await refusal(client({ rules: { allowInternal: ["127.0.0.1"] } })("http://u:p@127.0.0.1:1/"))).toMatch(/embedded credentials/);
  });

  it("reaches a destination listed in allowInternal, by address and port", async () => {
    const s = await serve(ok);
    const other = await serve(ok);
    const f = client({ rules: { allowInternal: [`127.0.0.1:${s.port}`] } });
    const res = await f(`${s.url}/x`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok");
    expect(await refusal(f(`${other.url}/x`))).toMatch(/loopback/);
    expect(other.connections).toBe(0);
  });

  it("a trusted origin is reached; its redirect to another port of its own address is refused at that hop unless allowed", async () => {
    const target = await serve(ok);
    const origin = await serve(redirectTo(`${target.url}/blob`));
    const f = client({ trustedOrigins: [origin.url] });
    expect(await refusal(f(`${origin.url}/start`))).toMatch(new RegExp(`another port \\(${target.port}\\) of its own loopback address \\(127\\.0\\.0\\.1\\)`));
    expect(origin.requests).toEqual(["GET /start"]);
    expect(target.connections).toBe(0);
    const allowed = client({ trustedOrigins: [origin.url], rules: { allowInternal: [target.host] } });
    const res = await allowed(`${origin.url}/start`);
    expect(res.status).toBe(200);
    expect(target.requests).toEqual(["GET /blob"]);
  });

  it("a redirect to a name resolving to the metadata address is refused at that hop", async () => {
    const origin = await serve(redirectTo("http://metadata.attacker.test/latest"));
    const lookup: LookupAll = async (name) => (name === "metadata.attacker.test" ? [{ address: "169.254.169.254", family: 4 }] : [{ address: "127.0.0.1", family: 4 }]);
    expect(await refusal(client({ trustedOrigins: [origin.url], lookup })(`${origin.url}/`))).toMatch(/metadata address \(169\.254\.169\.254\) \(metadata\.attacker\.test\)/);
  });

  it("counts redirects, and drops Authorization when the origin changes", async () => {
    const loop = await serve(redirectTo("/again"));
    expect(await refusal(client({ trustedOrigins: [loop.url] })(`${loop.url}/`))).toMatch(/too many redirects/);
    expect(loop.requests).toHaveLength(6);

    const seen: Array<string | undefined> = [];
    const target = await serve((req, res) => {
      seen.push(req.headers.authorization);
      res.end("ok");
    });
    const origin = await serve(redirectTo(`${target.url}/`));
    const f = client({ trustedOrigins: [origin.url], rules: { allowInternal: [target.host] } });
    expect((await f(`${origin.url}/`, { headers: { authorization: "Bearer secret" } })).status).toBe(200);
    expect(seen).toEqual([undefined]);
  });

  it("DNS rebinding: a name that answered an allowed address and then a denied one is refused on the new connection", async () => {
    const allowed = await serve((_req, res) => {
      res.setHeader("connection", "close");
      res.end("ok");
    });
    // The same port on another loopback address: where the rebound name would lead.
    const denied = await serve(ok, "127.0.0.2", allowed.port);
    const answers = ["127.0.0.1", "127.0.0.2"];
    const lookup: LookupAll = async () => [{ address: answers.shift() ?? "127.0.0.2", family: 4 }];
    const f = client({ lookup, rules: { allowInternal: [`127.0.0.1:${allowed.port}`] } });
    const url = `http://rebind.attacker.test:${allowed.port}/`;
    expect((await f(url)).status).toBe(200);
    expect(await refusal(f(url))).toMatch(/rebind\.attacker\.test:\d+ resolves to a loopback address \(127\.0\.0\.2\)/);
    expect(allowed.requests).toHaveLength(1);
    expect(denied.connections).toBe(0);
  });

  it("returns a redirect untouched when told not to follow", async () => {
    const origin = await serve(redirectTo("http://169.254.169.254/"));
    const res = await client({ trustedOrigins: [origin.url] })(`${origin.url}/`, { redirect: "manual" });
    expect(res.status).toBe(307);
    expect(res.headers.get("location")).toBe("http://169.254.169.254/");
  });
});
