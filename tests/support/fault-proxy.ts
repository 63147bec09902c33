/**
 * A fault-injecting HTTP reverse proxy for reliability tests: it forwards every request to `upstream`
 * and, with probability `rate` (seeded PRNG, so a run is reproducible), answers it with a fault
 * instead — a 5xx, a connection reset, a response that never comes (the client's timeout fires), or
 * the upstream's response with its body cut short (Content-Length promises more than is sent).
 * `hold(match)` keeps the requests whose path matches unanswered (not forwarded) until `release()`
 * forwards them: a registry that is slow exactly when a test wants it to be.
 */
import http from "node:http";
import net from "node:net";

export type Fault = "5xx" | "reset" | "timeout" | "truncate";

export interface FaultProxy {
  /** "http://127.0.0.1:PORT" */
  url: string;
  /** "127.0.0.1:PORT": the registry host of image references that go through the proxy. */
  host: string;
  /** Fraction of requests that fail (0 turns faults off). */
  setRate(rate: number): void;
  stats(): { requests: number; faults: Record<Fault, number> };
  /** Every request received so far, in order ("GET /v2/…"). */
  log(): string[];
  /** Holds requests whose path matches (those received from now on) until `release()`. */
  hold(match: (path: string) => boolean): void;
  /** Requests held now. */
  held(): number;
  /** Forwards the held requests and holds no more. */
  release(): void;
  stop(): Promise<void>;
}

/** mulberry32: a small, fast, seeded PRNG. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startFaultProxy(opts: { upstream: string; rate: number; seed: number; faults?: Fault[] }): Promise<FaultProxy> {
  const upstream = new URL(opts.upstream);
  const random = seededRandom(opts.seed);
  const kinds: Fault[] = opts.faults ?? ["5xx", "reset", "timeout", "truncate"];
  let rate = opts.rate;
  let requests = 0;
  const faults: Record<Fault, number> = { "5xx": 0, reset: 0, timeout: 0, truncate: 0 };
  const log: string[] = [];
  let holding: ((path: string) => boolean) | undefined;
  let held: (() => void)[] = [];
  const sockets = new Set<net.Socket>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  const forward = (req: http.IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const headers = { ...req.headers, host: upstream.host };
      const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      });
      up.on("error", reject);
      up.end(body);
    });

  const server = http.createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      log.push(`${req.method} ${req.url}`);
      if (holding?.(req.url ?? "")) held.push(() => answer(req, res, chunks));
      else answer(req, res, chunks);
    });
  });
  const answer = (req: http.IncomingMessage, res: http.ServerResponse, chunks: Buffer[]) => {
    const fault = rate > 0 && random() < rate ? kinds[Math.floor(random() * kinds.length)]! : undefined;
    if (fault) faults[fault]++;
    if (fault === "reset") {
      req.socket.resetAndDestroy();
      return;
    }
    if (fault === "timeout") return; // never answered; the socket is destroyed when the client gives up
    if (fault === "5xx") {
      const status = [500, 502, 503][Math.floor(random() * 3)]!;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "injected fault" }] }));
      return;
    }
    forward(req, Buffer.concat(chunks)).then(
      (up) => {
        const headers = { ...up.headers };
        delete headers["transfer-encoding"];
        delete headers.connection;
        delete headers["keep-alive"];
        if (fault === "truncate" && up.body.length > 1) {
          headers["content-length"] = String(up.body.length);
          res.writeHead(up.status, headers);
          res.write(up.body.subarray(0, Math.floor(up.body.length / 2)));
          // flush what was written, then cut the connection mid-body
          setTimeout(() => req.socket.destroy(), 5);
          return;
        }
        if (fault === "truncate") {
          req.socket.resetAndDestroy();
          return;
        }
        if (req.method !== "HEAD") headers["content-length"] = String(up.body.length);
        res.writeHead(up.status, headers);
        res.end(req.method === "HEAD" ? undefined : up.body);
      },
      () => {
        res.writeHead(502);
        res.end();
      },
    );
  };
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    setRate: (r) => (rate = r),
    stats: () => ({ requests, faults: { ...faults } }),
    log: () => [...log],
    hold: (match) => (holding = match),
    held: () => held.length,
    release: () => {
      holding = undefined;
      const waiting = held;
      held = [];
      for (const go of waiting) go();
    },
    stop: async () => {
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
