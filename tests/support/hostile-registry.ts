/**
 * A local HTTP server that answers like a malicious or broken registry. Each test routes request
 * paths to behaviours (oversized or endless bodies, slow drips, invalid JSON, wrong digests,
 * redirects to metadata addresses, 5xx, 429 …); anything unrouted is an authoritative 404, and
 * GET /v2/ answers 200. It counts requests and the body bytes it managed to write.
 */
import { createHash } from "node:crypto";
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Behaviour = (req: IncomingMessage, res: ServerResponse, server: HostileRegistry) => void;

export interface HostileRegistry {
  url: string;
  /** "127.0.0.1:PORT" */
  host: string;
  /** "METHOD /path" of every request, in order. */
  requests: string[];
  /** The headers of every request, in the same order. */
  headers: IncomingHttpHeaders[];
  /** Body bytes written by the behaviours (what the client was offered). */
  bytesWritten: number;
  stop(): Promise<void>;
}

export type Route = [string | RegExp, Behaviour];

export async function startHostileRegistry(routes: Route[], opts: { listen?: string } = {}): Promise<HostileRegistry> {
  const timers = new Set<NodeJS.Timeout>();
  const state: HostileRegistry = { url: "", host: "", requests: [], headers: [], bytesWritten: 0, stop: async () => undefined };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    state.requests.push(`${req.method} ${req.url}`);
    state.headers.push(req.headers);
    req.resume();
    const route = routes.find(([p]) => (typeof p === "string" ? p === path : p.test(path)));
    if (route) return route[1](req, res, state);
    if (path === "/v2/" || path === "/v2") return void json(200, {})(req, res, state);
    notFound()(req, res, state);
  });
  server.on("close", () => timers.forEach(clearInterval));
  const listen = opts.listen ?? "127.0.0.1";
  await new Promise<void>((resolve) => server.listen(0, listen, resolve));
  const port = (server.address() as AddressInfo).port;
  state.url = `http://${listen}:${port}`;
  state.host = `${listen}:${port}`;
  state.stop = () =>
    new Promise<void>((resolve) => {
      timers.forEach(clearInterval);
      server.closeAllConnections();
      server.close(() => resolve());
    });
  activeTimers.set(state, timers);
  return state;
}

const activeTimers = new WeakMap<HostileRegistry, Set<NodeJS.Timeout>>();

function write(res: ServerResponse, server: HostileRegistry, data: Buffer | string): boolean {
  server.bytesWritten += Buffer.byteLength(data);
  return res.write(data);
}

/** A JSON (or raw) response with an optional Docker-Content-Digest of the exact bytes. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Behaviour {
  return (_req, res, server) => {
    const bytes = Buffer.from(typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body));
    res.writeHead(status, { "content-type": "application/json", "content-length": String(bytes.length), ...headers });
    server.bytesWritten += bytes.length;
    res.end(bytes);
  };
}

/** Serves exact bytes as a manifest (with its true digest, unless `digestHeader` overrides it). */
export function manifest(bytes: Buffer, mediaType: string, digestHeader?: string): Behaviour {
  const digest = digestHeader ?? `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  return json(200, bytes, { "content-type": mediaType, "docker-content-digest": digest });
}

export function blob(bytes: Buffer): Behaviour {
  return json(200, bytes, { "content-type": "application/octet-stream" });
}

export function notFound(): Behaviour {
  return json(404, { errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] });
}

export function status(code: number, headers: Record<string, string> = {}): Behaviour {
  return json(code, { errors: [{ code: "UNAVAILABLE", message: `hostile ${code}` }] }, headers);
}

export function redirect(location: string, code = 307): Behaviour {
  return (_req, res) => void res.writeHead(code, { location, "content-length": "0" }).end();
}

/** A body of `size` bytes, optionally without Content-Length (chunked). */
export function oversized(size: number, o: { declareLength?: boolean; contentType?: string } = {}): Behaviour {
  return (_req, res, server) => {
    res.writeHead(200, { "content-type": o.contentType ?? "application/vnd.oci.image.manifest.v1+json", ...(o.declareLength ? { "content-length": String(size) } : {}) });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let left = size;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!write(res, server, chunk.subarray(0, n))) return void res.once("drain", pump);
      }
      res.end();
    };
    res.on("close", () => (left = 0));
    pump();
  };
}

/** Writes as fast as the client reads, forever (until the client hangs up). */
export function endless(contentType = "application/vnd.oci.image.manifest.v1+json"): Behaviour {
  return (_req, res, server) => {
    res.writeHead(200, { "content-type": contentType });
    const chunk = Buffer.alloc(64 * 1024, 0x7b);
    let open = true;
    res.on("close", () => (open = false));
    const pump = () => {
      while (open) if (!write(res, server, chunk)) return void res.once("drain", pump);
    };
    pump();
  };
}

/** Headers at once, then one byte every `intervalMs`, forever. */
export function slowDrip(intervalMs: number): Behaviour {
  return (_req, res, server) => {
    res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" });
    write(res, server, "{");
    const timer = setInterval(() => write(res, server, " "), intervalMs);
    activeTimers.get(server)?.add(timer);
    res.on("close", () => clearInterval(timer));
  };
}

/** Never answers at all (headers included). */
export function silent(): Behaviour {
  return () => undefined;
}

/** Answers 401 with a Basic challenge unless the request carries an Authorization header. */
export function requireBasic(inner: Behaviour): Behaviour {
  return (req, res, server) => {
    if (!req.headers.authorization) return status(401, { "www-authenticate": 'Basic realm="hostile"' })(req, res, server);
    inner(req, res, server);
  };
}

/** Runs the behaviours in turn, one per request; the last one repeats. */
export function sequence(...behaviours: Behaviour[]): Behaviour {
  let i = 0;
  return (req, res, server) => behaviours[Math.min(i++, behaviours.length - 1)]!(req, res, server);
}
