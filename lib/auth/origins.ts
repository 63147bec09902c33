import "server-only";
import type { Env } from "@/lib/env";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0", "::"]);

/**
 * The address people use to reach Signet: SIGNET_PUBLIC_URL, else the local listen address. Links in
 * logs (the first-admin setup link), the OIDC redirect URI and the Secure cookie flag derive from it.
 */
export function getPublicUrl(env: Env): URL {
  if (env.SIGNET_PUBLIC_URL) return new URL(env.SIGNET_PUBLIC_URL);
  const host = env.HOST === "0.0.0.0" || env.HOST === "::" ? "127.0.0.1" : env.HOST.includes(":") ? `[${env.HOST}]` : env.HOST;
  return new URL(`http://${host}:${env.PORT}`);
}

/** True when SIGNET_PUBLIC_URL is unset although the server listens beyond the loopback interface. */
export function isPublicUrlMissing(env: Env): boolean {
  return !env.SIGNET_PUBLIC_URL && !LOOPBACK.has(env.HOST);
}

/**
 * Origins a state-changing request may come from: the public URL, and without one every loopback
 * spelling of the local port (a browser on the same machine may use any of them).
 */
export function getTrustedOrigins(env: Env): string[] {
  const origins = new Set([getPublicUrl(env).origin]);
  if (!env.SIGNET_PUBLIC_URL) {
    for (const host of ["127.0.0.1", "localhost", "[::1]"]) origins.add(`http://${host}:${env.PORT}`);
  }
  return [...origins];
}
