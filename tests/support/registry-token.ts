/**
 * A Docker token service for the token-auth test registry (https://distribution.github.io/distribution/spec/auth/token/).
 * It issues ES256 JWTs whose `x5c` header carries a self-signed certificate (made with openssl);
 * the real registry verifies them against that certificate as its `rootcertbundle`.
 * Users authenticate with Basic (GET) or an OAuth2 refresh token (POST, identity tokens).
 */
import { execFile } from "node:child_process";
import { X509Certificate, createPrivateKey, randomUUID, sign, type KeyObject } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** How the token endpoint behaves: normally, or broken in one of several ways. */
export type TokenServerMode = "ok" | "500" | "invalid-json" | "no-token" | "403";

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  /** PEM certificate the registry trusts (its rootcertbundle). */
  rootCertPath: string;
  /** Every request: how it authenticated and the scopes it asked for. */
  requests: Array<{ method: string; user?: string; scopes: string[] }>;
  mode: TokenServerMode;
  stop(): Promise<void>;
}

/** Generates a P-256 key and a self-signed certificate with openssl into `dir`. */
export async function generateSelfSigned(dir: string, name: string, opts: { ipSan?: string; ca?: boolean } = {}): Promise<{ certPath: string; keyPath: string; certPem: string; keyPem: string }> {
  const certPath = path.join(dir, `${name}.crt`);
  const keyPath = path.join(dir, `${name}.key`);
  const ext = opts.ipSan ? ["-addext", `subjectAltName=IP:${opts.ipSan}`] : [];
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", keyPath, "-out", certPath, "-days", "2", "-subj", `/CN=${name}`, ...ext,
  ]);
  return { certPath, keyPath, certPem: await fs.readFile(certPath, "utf8"), keyPem: await fs.readFile(keyPath, "utf8") };
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

function jwt(key: KeyObject, certDer: Buffer, claims: Record<string, unknown>): string {
  const header = { typ: "JWT", alg: "ES256", x5c: [certDer.toString("base64")] };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
  return `${input}.${b64url(sig)}`;
}

export async function startTokenServer(
  dir: string,
  opts: { users?: Record<string, string>; refreshTokens?: Record<string, string>; service?: string; issuer?: string } = {},
): Promise<TokenServer> {
  const { certPath, keyPem, certPem } = await generateSelfSigned(dir, "token-signer");
  const key = createPrivateKey(keyPem);
  const certDer = Buffer.from(new X509Certificate(certPem).raw);
  const service = opts.service ?? "signet-test-registry";
  const issuer = opts.issuer ?? "signet-test-token-service";
  const users = opts.users ?? {};
  const refreshTokens = opts.refreshTokens ?? {};
  const requests: TokenServer["requests"] = [];

  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      let user: string | undefined;
      let scopes = url.searchParams.getAll("scope").flatMap((s) => s.split(" "));
      let authenticated = false;
      if (req.method === "POST") {
        const form = new URLSearchParams(body);
        scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
        const refresh = form.get("refresh_token") ?? "";
        if (form.get("grant_type") === "refresh_token" && refreshTokens[refresh]) {
          user = refreshTokens[refresh];
          authenticated = true;
        } else {
          res.writeHead(401, { "content-type": "application/json" }).end('{"details":"invalid refresh token"}');
          requests.push({ method: "POST", scopes });
          return;
        }
      } else {
        const authz = req.headers.authorization;
        if (authz?.startsWith("Basic ")) {
          const [u, ...rest] = Buffer.from(authz.slice(6), "base64").toString("utf8").split(":");
          if (u !== undefined && users[u] !== undefined && users[u] === rest.join(":")) {
            user = u;
            authenticated = true;
          } else {
            requests.push({ method: "GET", scopes });
            res.writeHead(401, { "content-type": "application/json" }).end('{"details":"incorrect username or password"}');
            return;
          }
        }
      }
      requests.push({ method: req.method ?? "GET", ...(user ? { user } : {}), scopes });
      if (state.mode === "500") return void res.writeHead(500).end("token service down");
      if (state.mode === "403") return void res.writeHead(403).end("forbidden");
      if (state.mode === "invalid-json") return void res.writeHead(200, { "content-type": "application/json" }).end("{not json");
      if (state.mode === "no-token") return void res.writeHead(200, { "content-type": "application/json" }).end('{"expires_in":300}');
      // Authenticated users get what they ask for; anonymous callers get no access at all.
      const access = authenticated
        ? scopes
            .map((s) => /^repository:([^:]+):(.+)$/.exec(s))
            .filter((m): m is RegExpExecArray => m !== null)
            .map((m) => ({ type: "repository", name: m[1], actions: m[2]!.split(",") }))
        : [];
      const now = Math.floor(Date.now() / 1000);
      const token = jwt(key, certDer, { iss: issuer, sub: user ?? "", aud: service, exp: now + 300, nbf: now - 30, iat: now, jti: randomUUID(), access });
      const payload = req.method === "POST" ? { access_token: token, expires_in: 300 } : { token, expires_in: 300, issued_at: new Date().toISOString() };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(payload));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const state: TokenServer = {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertPath: certPath,
    requests,
    mode: "ok",
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return state;
}
