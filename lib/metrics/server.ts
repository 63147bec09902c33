import "server-only";
import http from "node:http";
import type { Registry } from "prom-client";
import { bearerMatches } from "@/lib/auth/bearer";

/** True when `header` is `Bearer <token>` (constant-time); any request passes without a token. */
export function authorizedScrape(header: string | null | undefined, token: string | undefined): boolean {
  return !token || bearerMatches(header, [token]);
}

/**
 * A tiny HTTP server for Prometheus (the worker serves no other HTTP): GET /metrics, with an optional
 * bearer token. Returns a function that closes it.
 */
export async function serveMetrics(registry: Registry, opts: { port: number; host: string; token?: string }): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    if (!authorizedScrape(req.headers.authorization, opts.token)) {
      res.writeHead(401, { "www-authenticate": "Bearer" }).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, resolve);
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
