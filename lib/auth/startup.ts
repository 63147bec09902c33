import "server-only";
import { isPublicUrlMissing } from "@/lib/auth/origins";
import { announceSetupLink } from "@/lib/auth/setup";
import { getKeyring } from "@/lib/crypto/keys";
import { getDb } from "@/lib/db/client";
import { getEnv } from "@/lib/env";
import { childLogger } from "@/lib/log";

/**
 * Runs once when the web server starts (instrumentation.ts): loads (or, on the embedded default,
 * generates) the secret key, and while no user exists prints a fresh one-time setup link.
 */
export async function prepareAuthAtStart(): Promise<void> {
  const log = childLogger("auth");
  const env = getEnv();
  try {
    getKeyring(env);
    if (isPublicUrlMissing(env)) {
      log.warn({ host: env.HOST }, "HOST exposes Signet beyond this machine but SIGNET_PUBLIC_URL is not set: sign-in only accepts requests addressed to the loopback URL");
    }
    await announceSetupLink(getDb(), env, { rotate: true });
  } catch (err) {
    log.error({ err }, "could not prepare sign-in at start");
  }
}
