import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

/** The person the issuer signs in next (the test decides who "logs in" at the identity provider). */
export interface OidcUser {
  sub: string;
  email: string;
  name: string;
  groups: string[];
}

export interface OidcIssuer {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** redirect_uri values of authorization requests, in order. */
  redirectUris: string[];
  /** Access tokens handed out, in order (to check they are not stored in the clear). */
  accessTokens: string[];
  setUser(user: OidcUser): void;
  close(): Promise<void>;
}

interface PendingCode {
  user: OidcUser;
  clientId: string;
  redirectUri: string;
  codeChallenge: string | null;
  nonce: string | null;
}

/**
 * A minimal OpenID Connect provider for tests: discovery, JWKS (RS256), an authorization endpoint
 * that "logs in" the user set by the test without a form, a token endpoint checking the client
 * secret, the redirect URI and PKCE (S256), and userinfo. Codes are single use.
 */
export async function startOidcIssuer(opts: { clientId?: string; clientSecret?: string } = {}): Promise<OidcIssuer> {
  const clientId = opts.clientId ?? "signet-test";
  const clientSecret = opts.clientSecret ?? randomBytes(16).toString("hex");
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "test-key", alg: "RS256", use: "sig" };
  const codes = new Map<string, PendingCode>();
  const accessTokens = new Map<string, OidcUser>();
  const redirectUris: string[] = [];
  const issuedAccessTokens: string[] = [];
  let user: OidcUser = { sub: "user-1", email: "user1@idp.test", name: "User One", groups: [] };
  let issuer = "";

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(body));
  };
  const readBody = async (req: http.IncomingMessage) => {
    let text = "";
    for await (const chunk of req) text += String(chunk);
    return new URLSearchParams(text);
  };
  const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", issuer);
    try {
      if (req.method === "GET" && url.pathname === "/.well-known/openid-configuration") {
        return json(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          userinfo_endpoint: `${issuer}/userinfo`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ["code"],
          subject_types_supported: ["public"],
          id_token_signing_alg_values_supported: ["RS256"],
          scopes_supported: ["openid", "email", "profile", "groups"],
          token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
          code_challenge_methods_supported: ["S256"],
          claims_supported: ["sub", "email", "name", "groups"],
        });
      }
      if (req.method === "GET" && url.pathname === "/jwks") return json(res, 200, { keys: [jwk] });
      if (req.method === "GET" && url.pathname === "/authorize") {
        const q = url.searchParams;
        const redirectUri = q.get("redirect_uri") ?? "";
        if (q.get("client_id") !== clientId || q.get("response_type") !== "code" || !redirectUri) return json(res, 400, { error: "invalid_request" });
        if (q.get("code_challenge") && q.get("code_challenge_method") !== "S256") return json(res, 400, { error: "invalid_request" });
        redirectUris.push(redirectUri);
        const code = randomBytes(16).toString("base64url");
        codes.set(code, { user: { ...user }, clientId, redirectUri, codeChallenge: q.get("code_challenge"), nonce: q.get("nonce") });
        const back = new URL(redirectUri);
        back.searchParams.set("code", code);
        if (q.get("state")) back.searchParams.set("state", q.get("state")!);
        back.searchParams.set("iss", issuer);
        res.writeHead(302, { location: back.toString() });
        return res.end();
      }
      if (req.method === "POST" && url.pathname === "/token") {
        const form = await readBody(req);
        let id = form.get("client_id") ?? "";
        let secret = form.get("client_secret") ?? "";
        const basic = req.headers.authorization?.match(/^Basic (.+)$/i);
        if (basic) {
          const [u = "", p = ""] = Buffer.from(basic[1]!, "base64").toString().split(":");
          id = decodeURIComponent(u);
          secret = decodeURIComponent(p);
        }
        if (id !== clientId || !same(secret, clientSecret)) return json(res, 401, { error: "invalid_client" });
        const pending = codes.get(form.get("code") ?? "");
        codes.delete(form.get("code") ?? "");
        if (form.get("grant_type") !== "authorization_code" || !pending || pending.redirectUri !== form.get("redirect_uri")) {
          return json(res, 400, { error: "invalid_grant" });
        }
        if (pending.codeChallenge) {
          const verifier = form.get("code_verifier") ?? "";
          if (createHash("sha256").update(verifier).digest("base64url") !== pending.codeChallenge) return json(res, 400, { error: "invalid_grant" });
        }
        const u = pending.user;
        const idToken = await new SignJWT({ email: u.email, email_verified: true, name: u.name, groups: u.groups, ...(pending.nonce ? { nonce: pending.nonce } : {}) })
          .setProtectedHeader({ alg: "RS256", kid: jwk.kid })
          .setIssuer(issuer)
          .setAudience(clientId)
          .setSubject(u.sub)
          .setIssuedAt()
          .setExpirationTime("5m")
          .sign(privateKey);
        const accessToken = randomBytes(24).toString("base64url");
        accessTokens.set(accessToken, u);
        issuedAccessTokens.push(accessToken);
        return json(res, 200, { access_token: accessToken, token_type: "Bearer", expires_in: 300, id_token: idToken, scope: "openid email profile groups" });
      }
      if (req.method === "GET" && url.pathname === "/userinfo") {
        const u = accessTokens.get(req.headers.authorization?.replace(/^Bearer /i, "") ?? "");
        if (!u) return json(res, 401, { error: "invalid_token" });
        return json(res, 200, { sub: u.sub, email: u.email, email_verified: true, name: u.name, groups: u.groups });
      }
      return json(res, 404, { error: "not_found" });
    } catch (err) {
      return json(res, 500, { error: "server_error", error_description: String(err) });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    clientId,
    clientSecret,
    redirectUris,
    accessTokens: issuedAccessTokens,
    setUser: (u) => {
      user = u;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
