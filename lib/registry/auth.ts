import "server-only";
import { z } from "zod";
import type { CredentialProvider, RegistryCredential } from "@/lib/registry/credentials";
import { RegistryError, safeUrl } from "@/lib/registry/errors";
import type { Endpoint, RawResponse, Transport } from "@/lib/registry/transport";
import { parseWwwAuthenticate } from "@/lib/registry/www-authenticate";

/**
 * Authentication of one registry: anonymous until challenged, then Basic or the Docker token flow
 * (https://distribution.github.io/distribution/spec/auth/token/): GET <realm>?service=…&scope=…
 * with Basic credentials (or anonymously), or the OAuth2 refresh-token grant (POST) for identity
 * tokens. Tokens are cached per scope until shortly before they expire; once a registry has
 * challenged, later requests authenticate up front instead of collecting another 401.
 */

type Scheme = { kind: "basic" } | { kind: "bearer"; realm: URL; service?: string };

const tokenResponseSchema = z.object({
  token: z.string().min(1).optional(),
  access_token: z.string().min(1).optional(),
  expires_in: z.number().int().positive().optional(),
});

const TOKEN_BODY_CAP = 1024 * 1024;

export class RegistryAuth {
  private scheme?: Scheme;
  private credential?: Promise<RegistryCredential | undefined>;
  private readonly tokens = new Map<string, { value: string; expiresAt: number }>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    private readonly ep: Endpoint,
    private readonly transport: Transport,
    private readonly credentials: CredentialProvider | undefined,
  ) {}

  private getCredential(): Promise<RegistryCredential | undefined> {
    this.credential ??= this.credentials ? this.credentials.getCredential(this.ep.host) : Promise.resolve(undefined);
    return this.credential;
  }

  /** The Authorization value to send up front, if the registry has challenged before. */
  async header(scope: string): Promise<string | undefined> {
    const scheme = this.scheme;
    if (!scheme) return undefined;
    if (scheme.kind === "basic") {
      const cred = await this.getCredential();
      return cred && "username" in cred ? basic(cred) : undefined;
    }
    return `Bearer ${await this.token(scheme, scope, false)}`;
  }

  /**
   * Answers a 401: returns the Authorization value for one more attempt, or throws `auth` when the
   * challenge cannot be met or the value just sent was already the answer.
   */
  async answer(scope: string, res: RawResponse, previous: string | undefined): Promise<string> {
    const challenges = parseWwwAuthenticate(res.headers["www-authenticate"]);
    const bearer = challenges.find((c) => c.scheme === "bearer");
    const basicChallenge = challenges.find((c) => c.scheme === "basic");
    if (bearer) {
      const realmText = bearer.params.realm;
      let realm: URL;
      try {
        realm = new URL(realmText ?? "");
      } catch {
        throw new RegistryError("auth", `${this.ep.host} sent a Bearer challenge without a valid realm`, { status: 401, url: safeUrl(res.url) });
      }
      this.scheme = { kind: "bearer", realm, service: bearer.params.service };
      // Concurrent requests all collect a 401 at first; only a token that was itself rejected is renewed.
      const cached = this.tokens.get(scope);
      const reuse = cached !== undefined && cached.expiresAt > Date.now() && `Bearer ${cached.value}` !== previous;
      const value = `Bearer ${await this.token(this.scheme, scope, !reuse)}`;
      if (value === previous) throw new RegistryError("auth", `${this.ep.host} rejected the token it issued for ${scope}`, { status: 401, url: safeUrl(res.url) });
      return value;
    }
    if (basicChallenge) {
      this.scheme = { kind: "basic" };
      const cred = await this.getCredential();
      if (!cred) throw new RegistryError("auth", `${this.ep.host} requires credentials and none are configured for it`, { status: 401, url: safeUrl(res.url) });
      if (!("username" in cred)) throw new RegistryError("auth", `${this.ep.host} asks for Basic authentication but only an identity token is configured`, { status: 401 });
      const value = basic(cred);
      if (value === previous) throw new RegistryError("auth", `${this.ep.host} rejected the configured credentials`, { status: 401, url: safeUrl(res.url) });
      return value;
    }
    throw new RegistryError("auth", `${this.ep.host} answered 401 without a usable WWW-Authenticate challenge`, { status: 401, url: safeUrl(res.url) });
  }

  private async token(scheme: Extract<Scheme, { kind: "bearer" }>, scope: string, fresh: boolean): Promise<string> {
    const cached = this.tokens.get(scope);
    if (!fresh && cached && cached.expiresAt > Date.now()) return cached.value;
    let p = this.pending.get(scope);
    if (!p) {
      p = this.fetchToken(scheme, scope).finally(() => this.pending.delete(scope));
      this.pending.set(scope, p);
    }
    return p;
  }

  private async fetchToken(scheme: Extract<Scheme, { kind: "bearer" }>, scope: string): Promise<string> {
    const cred = await this.getCredential();
    const url = new URL(scheme.realm);
    let res: RawResponse;
    if (cred && "identityToken" in cred) {
      const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: cred.identityToken, client_id: "signet", scope });
      if (scheme.service) form.set("service", scheme.service);
      res = await this.transport.sendWithRetry(this.ep, {
        method: "POST",
        url,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form.toString(),
        maxBytes: TOKEN_BODY_CAP,
      });
    } else {
      if (scheme.service) url.searchParams.set("service", scheme.service);
      url.searchParams.set("scope", scope);
      res = await this.transport.sendWithRetry(this.ep, {
        method: "GET",
        url,
        maxBytes: TOKEN_BODY_CAP,
        ...(cred ? { authorization: { value: basic(cred), origin: url.origin } } : {}),
      });
    }
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError("auth", `the token service of ${this.ep.host} refused ${cred ? "the configured credentials" : "anonymous access"} (HTTP ${res.status})`, {
        status: res.status,
        url: safeUrl(res.url),
      });
    }
    if (res.status < 200 || res.status >= 300) {
      throw new RegistryError("auth", `the token service of ${this.ep.host} answered HTTP ${res.status}`, { status: res.status, url: safeUrl(res.url) });
    }
    let json: unknown;
    try {
      json = JSON.parse(res.body.toString("utf8"));
    } catch {
      throw new RegistryError("bad-response", `the token service of ${this.ep.host} returned invalid JSON`, { url: safeUrl(res.url) });
    }
    const parsed = tokenResponseSchema.safeParse(json);
    const value = parsed.success ? (parsed.data.token ?? parsed.data.access_token) : undefined;
    if (!parsed.success || !value) throw new RegistryError("bad-response", `the token service of ${this.ep.host} returned no token`, { url: safeUrl(res.url) });
    // The spec's minimum lifetime is 60 s; renew 10 s early.
    const lifetime = Math.max(60, parsed.data.expires_in ?? 60);
    this.tokens.set(scope, { value, expiresAt: Date.now() + (lifetime - 10) * 1000 });
    return value;
  }
}

function basic(cred: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${cred.username}:${cred.password}`, "utf8").toString("base64")}`;
}
