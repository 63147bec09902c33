/**
 * Registry credentials: the provider interface the client consumes, and providers built from a
 * docker `config.json` or a Kubernetes pull secret (`kubernetes.io/dockerconfigjson`, or the legacy
 * `kubernetes.io/dockercfg`). Pure: parsing only; callers read files or the Kubernetes API.
 * Credential helpers (`credsStore`, `credHelpers`) are not executed.
 */
import { z } from "zod";
import { DOCKER_HUB, normalizeRegistryHost } from "@/lib/registry/reference";
import { matchesHostPattern } from "@/lib/registry/host-policy";

/** A username and password (Basic, or exchanged for a bearer token), or an OAuth2 refresh token. */
export type RegistryCredential = { username: string; password: string } | { identityToken: string };

/** host → credential. `host` is normalized as in references ("index.docker.io", "127.0.0.1:5000"). */
export interface CredentialProvider {
  getCredential(host: string): Promise<RegistryCredential | undefined>;
}

/** Thrown for unusable docker config / pull secret documents; the message never contains secrets. */
export class CredentialConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CredentialConfigError";
  }
}

/** Bounds of a docker config / pull secret: entries, and the size of each value (a token is a few KiB). */
const MAX_VALUE = 16 * 1024;
const MAX_ENTRIES = 256;
/** The largest `.dockerconfigjson` / `.dockercfg` accepted (Kubernetes caps a whole Secret at 1 MiB). */
export const MAX_PULL_SECRET_BYTES = 256 * 1024;

const authEntrySchema = z.object({
  auth: z.string().max(MAX_VALUE).optional(),
  username: z.string().max(MAX_VALUE).optional(),
  password: z.string().max(MAX_VALUE).optional(),
  identitytoken: z.string().max(MAX_VALUE).optional(),
  identityToken: z.string().max(MAX_VALUE).optional(),
});
const dockerConfigSchema = z.object({
  auths: z
    .record(z.string().max(512), authEntrySchema)
    .refine((a) => Object.keys(a).length <= MAX_ENTRIES, `at most ${MAX_ENTRIES} registries`)
    .optional(),
});

/** Normalizes a config.json `auths` key ("https://index.docker.io/v1/", "http://h:5000", "*.example.com"). */
export function normalizeAuthKey(key: string): string | undefined {
  let k = key.trim();
  k = k.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  k = k.split("/")[0] ?? "";
  if (!k) return undefined;
  if (k.includes("*")) return k.toLowerCase();
  try {
    return normalizeRegistryHost(k);
  } catch {
    return undefined;
  }
}

function toCredential(entry: z.infer<typeof authEntrySchema>, key: string): RegistryCredential | undefined {
  const identityToken = entry.identitytoken ?? entry.identityToken;
  if (identityToken) return { identityToken };
  if (entry.username !== undefined && entry.password !== undefined && (entry.username || entry.password)) {
    return { username: entry.username, password: entry.password };
  }
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const i = decoded.indexOf(":");
    if (i < 0) throw new CredentialConfigError(`the "auth" of ${key} is not base64 of "user:password"`);
    return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
  }
  return undefined;
}

/** A provider over a fixed host → credential map; keys may be globs ("*.example.com"), exact keys win. */
export function staticCredentials(entries: Record<string, RegistryCredential>): CredentialProvider {
  const exact = new Map<string, RegistryCredential>();
  const globs: Array<[string, RegistryCredential]> = [];
  for (const [rawKey, cred] of Object.entries(entries)) {
    const key = normalizeAuthKey(rawKey);
    if (!key) continue;
    if (key.includes("*")) globs.push([key, cred]);
    else exact.set(key, cred);
  }
  return {
    async getCredential(host) {
      let h: string;
      try {
        h = normalizeRegistryHost(host);
      } catch {
        return undefined;
      }
      const hit = exact.get(h) ?? (h === DOCKER_HUB ? exact.get("docker.io") : undefined);
      if (hit) return hit;
      return globs.find(([p]) => matchesHostPattern(p, h))?.[1];
    },
  };
}

/** A provider from the text (or parsed object) of a docker `config.json`. */
export function credentialsFromDockerConfig(config: string | unknown): CredentialProvider {
  let json: unknown = config;
  if (typeof config === "string") {
    try {
      json = JSON.parse(config);
    } catch {
      throw new CredentialConfigError("the docker config is not valid JSON");
    }
  }
  const parsed = dockerConfigSchema.safeParse(json);
  if (!parsed.success) throw new CredentialConfigError(`the docker config has no valid \`auths\` object (${parsed.error.issues[0]?.message ?? "invalid"})`);
  const entries: Record<string, RegistryCredential> = {};
  for (const [key, entry] of Object.entries(parsed.data.auths ?? {})) {
    const cred = toCredential(entry, key);
    if (cred) entries[key] = cred;
  }
  return staticCredentials(entries);
}

// base64 of MAX_PULL_SECRET_BYTES
const secretValue = z.string().max(Math.ceil(MAX_PULL_SECRET_BYTES / 3) * 4);
const secretSchema = z.object({
  type: z.string().max(256).optional(),
  data: z.record(z.string().max(253), secretValue).nullish(),
  stringData: z.record(z.string().max(253), secretValue).nullish(),
});

/**
 * A provider from a Kubernetes Secret object of type `kubernetes.io/dockerconfigjson`
 * (`data[".dockerconfigjson"]`, base64 of a config.json) or `kubernetes.io/dockercfg`
 * (`data[".dockercfg"]`, base64 of the bare `auths` map).
 */
export function credentialsFromPullSecret(secret: unknown): CredentialProvider {
  const s = secretSchema.safeParse(secret);
  if (!s.success) throw new CredentialConfigError(`not a usable Kubernetes Secret object (${s.error.issues[0]?.message ?? "invalid"})`);
  const value = (key: string) => s.data.stringData?.[key] ?? (s.data.data?.[key] !== undefined ? Buffer.from(s.data.data[key]!, "base64").toString("utf8") : undefined);
  const type = s.data.type ?? "";
  const dockerconfigjson = value(".dockerconfigjson");
  if ((type === "kubernetes.io/dockerconfigjson" || !type) && dockerconfigjson !== undefined) return credentialsFromDockerConfig(dockerconfigjson);
  const dockercfg = value(".dockercfg");
  if ((type === "kubernetes.io/dockercfg" || !type) && dockercfg !== undefined) {
    let auths: unknown;
    try {
      auths = JSON.parse(dockercfg);
    } catch {
      throw new CredentialConfigError("the .dockercfg of the secret is not valid JSON");
    }
    return credentialsFromDockerConfig({ auths });
  }
  throw new CredentialConfigError(`secret type ${JSON.stringify(type)} holds no .dockerconfigjson or .dockercfg`);
}

/** Asks each provider in turn; the first credential found wins. */
export function chainCredentials(...providers: Array<CredentialProvider | undefined>): CredentialProvider {
  const list = providers.filter((p): p is CredentialProvider => p !== undefined);
  return {
    async getCredential(host) {
      for (const p of list) {
        const c = await p.getCredential(host);
        if (c) return c;
      }
      return undefined;
    },
  };
}
