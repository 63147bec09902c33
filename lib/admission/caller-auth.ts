import type http from "node:http";
import type { TLSSocket } from "node:tls";
import { bearerMatches, bearerToken } from "@/lib/auth/bearer";

/**
 * Who may call the admission webhook (pure apart from reading the request): the API server
 * authenticates itself the way Kubernetes provides for webhooks — an AdmissionConfiguration whose
 * WebhookAdmissionConfiguration kubeconfig gives the webhook's host a client certificate and/or a
 * bearer token (docs/decisions/0018). With a client CA configured, a request must come over a TLS
 * connection whose client certificate chains to it (the TLS layer verifies it; clientAuth usage);
 * with tokens configured, it must carry `Authorization: Bearer <one of them>`. With both, both. A
 * request that fails is refused before its body is read; with neither configured, every caller is
 * `authenticated: false` and its records say so.
 */

export type CallerRefusal = "no-client-certificate" | "untrusted-client-certificate" | "no-bearer-token" | "wrong-bearer-token";

/** The caller of one request as the records keep it. */
export interface Caller {
  authenticated: boolean;
  /** How it was authenticated (empty when not). */
  via: Array<"client-certificate" | "token">;
  /** The client certificate's subject CN, when one was verified. */
  subject: string | null;
  /** The source the request came from (sourceKey form). */
  source: string;
}

export interface CallerAuthConfig {
  /** A client certificate chaining to the server's `ca` is required. */
  clientCertificate: boolean;
  /** Accepted bearer tokens; undefined: no token is required. */
  tokens: () => readonly string[] | undefined;
}

/** Whether any caller authentication is configured. */
export const callerAuthEnabled = (c: CallerAuthConfig): boolean => c.clientCertificate || c.tokens() !== undefined;

/** Checks one request's caller: the Caller, or why it is refused. */
export function authenticateCaller(req: http.IncomingMessage, config: CallerAuthConfig, source: string): { ok: true; caller: Caller } | { ok: false; reason: CallerRefusal } {
  const via: Caller["via"] = [];
  let subject: string | null = null;
  if (config.clientCertificate) {
    const socket = req.socket as TLSSocket;
    const peer = typeof socket.getPeerCertificate === "function" ? socket.getPeerCertificate() : undefined;
    if (!peer || Object.keys(peer).length === 0) return { ok: false, reason: "no-client-certificate" };
    if (!socket.authorized) return { ok: false, reason: "untrusted-client-certificate" };
    const cn = peer.subject?.CN;
    subject = (Array.isArray(cn) ? cn.join(",") : (cn ?? null))?.slice(0, 256) ?? null;
    via.push("client-certificate");
  }
  const tokens = config.tokens();
  if (tokens !== undefined) {
    if (bearerToken(req.headers.authorization) === undefined) return { ok: false, reason: "no-bearer-token" };
    if (!bearerMatches(req.headers.authorization, tokens)) return { ok: false, reason: "wrong-bearer-token" };
    via.push("token");
  }
  return { ok: true, caller: { authenticated: via.length > 0, via, subject, source } };
}

/** Tokens of a token file: one a line (several while one is rotated out), blank lines and `#` comments skipped. */
export function parseTokenFile(text: string): string[] {
  const tokens = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  if (tokens.length === 0) throw new Error("the token file holds no token");
  if (tokens.length > 16) throw new Error("the token file holds more than 16 tokens");
  for (const t of tokens) {
    if (t.length < 16) throw new Error("a token of the token file is shorter than 16 characters");
    if (/\s/.test(t)) throw new Error("a token of the token file contains white space");
  }
  return tokens;
}
