import "server-only";
import { AsyncLocalStorage } from "node:async_hooks";
import { betterAuth } from "better-auth";
import { prismaAdapter } from "better-auth/adapters/prisma";
import { APIError } from "better-auth/api";
import { genericOAuth } from "better-auth/plugins/generic-oauth";
import { getPublicUrl, getTrustedOrigins } from "@/lib/auth/origins";
import { groupsFromClaim, parseRoleMap, roleFromGroups, type Role } from "@/lib/auth/roles";
import { applySsoRole, auditSsoUserCreated } from "@/lib/auth/users";
import { deriveKey, getKeyring } from "@/lib/crypto/keys";
import { getDb, type Db } from "@/lib/db/client";
import { getEnv, type Env } from "@/lib/env";
import { childLogger } from "@/lib/log";
import { CLIENT_ADDRESS_HEADER, isClientAddressResolved } from "@/lib/net/client-address";

/** Provider id of the one generic OpenID Connect provider (its callback is /api/auth/callback/oidc). */
export const OIDC_PROVIDER_ID = "oidc";
export const COOKIE_PREFIX = "signet";

/**
 * Per-request state of an auth request: what the OIDC profile of this sign-in grants. The profile is
 * seen in `mapProfileToUser`, the session is created later in the same request; AsyncLocalStorage
 * carries the role between the two without trusting anything the browser sends.
 */
interface AuthRequestState {
  sso?: { role: Role | "none"; groups: string[]; email: string };
}
const authRequest = new AsyncLocalStorage<AuthRequestState>();

/** Runs a better-auth handler call with per-request state (every /api/auth call goes through this). */
export function runAuthRequest<T>(fn: () => Promise<T>): Promise<T> {
  return authRequest.run({}, fn);
}

/** The OIDC client settings, when single sign-on is configured (lib/env requires all three together). */
function oidcClient(env: Env): { issuer: string; clientId: string; clientSecret: string } | undefined {
  const { SIGNET_OIDC_ISSUER: issuer, SIGNET_OIDC_CLIENT_ID: clientId, SIGNET_OIDC_CLIENT_SECRET: clientSecret } = env;
  return issuer && clientId && clientSecret ? { issuer, clientId, clientSecret } : undefined;
}

export function isOidcConfigured(env: Env): boolean {
  return oidcClient(env) !== undefined;
}

const log = childLogger("auth");

/** better-auth's log lines go to pino; arguments are reduced to messages so no object (token, row) is logged. */
function logAuth(level: "debug" | "info" | "warn" | "error", message: string, ...args: unknown[]) {
  const detail = args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : typeof a === "string" ? a : "[object]"));
  log[level](detail.length ? { detail } : {}, message);
}

function createAuth(env: Env, db: Db) {
  const publicUrl = getPublicUrl(env);
  const roleMap = parseRoleMap(env.SIGNET_OIDC_ROLE_MAP);
  const oidc = oidcClient(env);
  const plugins = oidc
    ? [
        genericOAuth({
          config: [
            {
              providerId: OIDC_PROVIDER_ID,
              name: env.SIGNET_OIDC_NAME,
              discoveryUrl: `${oidc.issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`,
              requireIdTokenVerification: true,
              clientId: oidc.clientId,
              clientSecret: oidc.clientSecret,
              scopes: env.SIGNET_OIDC_SCOPES.split(/[\s,]+/).filter(Boolean),
              pkce: true,
              // keeps name and email in step with the identity provider at each sign-in
              overrideUserInfo: true,
              mapProfileToUser: (profile) => {
                const groups = groupsFromClaim(profile[env.SIGNET_OIDC_GROUPS_CLAIM]);
                const state = authRequest.getStore();
                if (state) state.sso = { role: roleFromGroups(groups, roleMap, env.SIGNET_OIDC_DEFAULT_ROLE), groups, email: String(profile.email ?? "") };
                return {};
              },
            },
          ],
        }),
      ]
    : [];

  return betterAuth({
    appName: "Signet",
    baseURL: publicUrl.origin,
    basePath: "/api/auth",
    secret: deriveKey(getKeyring(env), "better-auth").toString("base64url"),
    database: prismaAdapter(db, { provider: "postgresql" }),
    trustedOrigins: getTrustedOrigins(env),
    telemetry: { enabled: false },
    logger: { level: "warn", log: logAuth },
    emailAndPassword: {
      enabled: true,
      // accounts are created by an administrator, the first-admin setup link or the CLI, never by sign-up
      disableSignUp: true,
      minPasswordLength: 12,
      maxPasswordLength: 256,
    },
    user: {
      additionalFields: {
        // input: false — no request body can set a role; only Signet's own code does
        role: { type: "string", required: false, defaultValue: "viewer", input: false },
      },
    },
    session: {
      expiresIn: env.SIGNET_SESSION_HOURS * 3600,
      // a session lasts SIGNET_SESSION_HOURS from sign-in, activity does not extend it
      disableSessionRefresh: true,
      cookieCache: { enabled: false },
    },
    account: {
      encryptOAuthTokens: true,
      // an SSO identity never takes over a local account that happens to share its email
      accountLinking: { enabled: false },
    },
    // Sign-in is throttled by Signet itself, per client address and per account, in PostgreSQL so that
    // every web process shares it (lib/auth/throttle.ts, applied in app/api/auth/[...all]).
    rateLimit: { enabled: false },
    onAPIError: { errorURL: `${publicUrl.origin}/sign-in` },
    advanced: {
      cookiePrefix: COOKIE_PREFIX,
      useSecureCookies: publicUrl.protocol === "https:",
      defaultCookieAttributes: { httpOnly: true, sameSite: "lax", path: "/" },
      // the address scripts/web.ts resolved from the socket and SIGNET_TRUSTED_PROXIES (a client's own
      // X-Forwarded-For is never read): it is what a session records; under another server, nothing
      ipAddress: isClientAddressResolved() ? { ipAddressHeaders: [CLIENT_ADDRESS_HEADER] } : { disableIpTracking: true },
    },
    databaseHooks: {
      user: {
        create: {
          // An SSO user is created with the role their groups grant, or not at all: a refused identity
          // leaves no user row behind. The creation is audited with the actor "sso".
          before: async (user) => {
            const sso = authRequest.getStore()?.sso;
            if (!sso) return;
            if (sso.role === "none") {
              log.warn({ user: sso.email, groups: sso.groups }, "SSO sign-in refused: no group grants a role");
              throw new APIError("FORBIDDEN", { code: "no_role", message: "None of your groups grants access to Signet." });
            }
            return { data: { ...user, role: sso.role } };
          },
          after: async (user) => {
            const sso = authRequest.getStore()?.sso;
            if (sso && sso.role !== "none") await auditSsoUserCreated(db, user.email, sso.role, sso.groups);
          },
        },
      },
      account: {
        // The ID token is verified at sign-in and never needed again: not stored (access and refresh
        // tokens are kept, encrypted by encryptOAuthTokens).
        create: { before: async (account) => ({ data: { ...account, idToken: null } }) },
        update: { before: async (account) => ("idToken" in account ? { data: { ...account, idToken: null } } : undefined) },
      },
      session: {
        create: {
          before: async (session, ctx) => {
            const sso = authRequest.getStore()?.sso;
            if (!sso) {
              // an OIDC callback always passes through mapProfileToUser; without its verdict, fail closed
              if (ctx?.path?.includes("/callback/")) throw new APIError("FORBIDDEN", { code: "role_unknown", message: "Could not determine your role." });
              return;
            }
            if (sso.role === "none") {
              log.warn({ user: sso.email, groups: sso.groups }, "SSO sign-in refused: no group grants a role");
              throw new APIError("FORBIDDEN", { code: "no_role", message: "None of your groups grants access to Signet." });
            }
            await applySsoRole(db, session.userId, sso.role, sso.groups);
          },
        },
      },
    },
    plugins,
  });
}

export type Auth = ReturnType<typeof createAuth>;

const globalForAuth = globalThis as unknown as { signetAuth?: Auth; signetAuthDb?: Db };

/** The process-wide better-auth instance (built on first use: it needs the environment and the database). */
export function getAuth(): Auth {
  const db = getDb();
  if (!globalForAuth.signetAuth || globalForAuth.signetAuthDb !== db) {
    globalForAuth.signetAuth = createAuth(getEnv(), db);
    globalForAuth.signetAuthDb = db;
  }
  return globalForAuth.signetAuth;
}

/** For tests that change the environment between cases. */
export function resetAuth(): void {
  globalForAuth.signetAuth = undefined;
  globalForAuth.signetAuthDb = undefined;
}
