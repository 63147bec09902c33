// Web process entry (scripts/launch.ts runs it; `--dev` for development): Next.js behind Signet's own
// HTTP server. `next start` would hand route code only headers a client can forge (it fills
// X-Forwarded-For with the socket peer only when the client sent none), so this server resolves the
// client address from the socket and SIGNET_TRUSTED_PROXIES and passes it on in one header, replacing
// any copy the client sent. No module with `server-only` may be imported here: this process runs
// without the react-server condition, like `next start`.
import http from "node:http";
import next from "next";
import { EnvError, getEnv } from "@/lib/env";
import { getLogger } from "@/lib/log";
import { CLIENT_ADDRESS_HEADER, markClientAddressResolved, parseTrustedProxies, resolveClientAddress } from "@/lib/net/client-address";

const dev = process.argv.includes("--dev");

/**
 * Pages take no request body of any size (Signet has no server actions), yet Next buffers one for the
 * proxy (proxy.ts) before any page code runs. Outside app/api — whose routes refuse what is over their
 * own limit, lib/api/route — a declared body over this is refused here, and a body of unknown length too.
 */
const PAGE_BODY_LIMIT = 1024 * 1024;

function refuse(res: http.ServerResponse, status: number, code: string, message: string): true {
  res.writeHead(status, { "content-type": "application/json", connection: "close" });
  res.end(JSON.stringify({ error: { code, message } }));
  return true;
}

/** A path whose percent-encoding does not decode (`%ZZ`, a cut UTF-8 sequence) is the client's error; Next would answer 500. */
function isMalformedPath(url: string | undefined): boolean {
  try {
    decodeURIComponent((url ?? "/").split("?", 1)[0]!);
    return false;
  } catch {
    return true;
  }
}

/**
 * The path Next routes on: dot segments resolved (`/api/../sign-in` and `/api/%2e%2e/sign-in` are the
 * sign-in page), so a page cannot pass for an API route by its raw spelling.
 */
function routedPath(url: string | undefined): string {
  try {
    return new URL(url?.startsWith("/") ? `http://signet${url}` : (url ?? "/")).pathname;
  } catch {
    return "/";
  }
}

function refuseBody(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  if (routedPath(req.url).startsWith("/api/")) return false;
  const length = req.headers["content-length"];
  const [status, code, message] =
    length === undefined && req.headers["transfer-encoding"] !== undefined
      ? [411, "bad_request", "A request body needs a Content-Length."]
      : length !== undefined && !(Number(length) <= PAGE_BODY_LIMIT)
        ? [413, "payload_too_large", `The body is larger than ${PAGE_BODY_LIMIT} bytes.`]
        : [0, "", ""];
  return status ? refuse(res, status, code, message) : false;
}
const log = getLogger().child({ component: "web" });

async function main() {
  const env = getEnv();
  const trusted = parseTrustedProxies(env.SIGNET_TRUSTED_PROXIES);
  markClientAddressResolved();
  const app = next({ dev, dir: process.cwd(), hostname: env.HOST, port: env.PORT, ...(dev ? { turbopack: true } : {}) });
  await app.prepare();
  const handle = app.getRequestHandler();
  const server = http.createServer((req, res) => {
    if (isMalformedPath(req.url)) return void refuse(res, 400, "bad_request", "The path is not valid percent-encoding.");
    if (refuseBody(req, res)) return;
    req.headers[CLIENT_ADDRESS_HEADER] = resolveClientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], trusted);
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, "request failed");
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "internal", message: "Internal error." } }));
    });
  });
  if (dev) {
    const upgrade = app.getUpgradeHandler();
    server.on("upgrade", (req, socket, head) => void upgrade(req, socket, head));
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(env.PORT, env.HOST, resolve);
  });
  log.info({ url: `http://${env.HOST}:${env.PORT}`, dev }, "web server ready");

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping web server");
    server.close(() => void app.close().finally(() => process.exit(0)));
    // keep-alive connections end with their next response; a client holding one open does not hold us
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`signet web: ${err instanceof EnvError ? err.message : String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
