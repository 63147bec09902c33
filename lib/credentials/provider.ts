import "server-only";
import type { Db } from "@/lib/db/client";
import { getRegistryCredentialForHost } from "@/lib/credentials/registry-credentials";
import type { CredentialProvider } from "@/lib/registry/credentials";

/**
 * Registry credentials stored in Signet (encrypted at rest), for the registry client. Decrypted on
 * demand per host and cached briefly; a username with a secret is Basic / token-exchange credentials,
 * a secret alone is an OAuth2 identity (refresh) token.
 */
export function storedCredentials(db: Db, ttlMs = 60_000): CredentialProvider {
  const cache = new Map<string, { at: number; value: Awaited<ReturnType<CredentialProvider["getCredential"]>> }>();
  return {
    async getCredential(host) {
      const hit = cache.get(host);
      if (hit && Date.now() - hit.at < ttlMs) return hit.value;
      let value: Awaited<ReturnType<CredentialProvider["getCredential"]>>;
      try {
        const row = await getRegistryCredentialForHost(db, host);
        value = !row?.secret ? undefined : row.username ? { username: row.username, password: row.secret } : { identityToken: row.secret };
      } catch {
        // a host that is not a valid stored-credential key simply has none
        value = undefined;
      }
      cache.set(host, { at: Date.now(), value });
      return value;
    },
  };
}
