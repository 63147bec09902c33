/**
 * Optional online refresh of a trusted root through TUF (@sigstore/tuf). This is an adapter (network +
 * a cache directory), not part of the pure verifier: the worker calls it when a network is available
 * and hands the resulting TrustRoot to verifyArtifacts. Any failure or timeout falls back to the
 * offline root with the reason spelled out.
 */
import "server-only";
import { initTUF } from "@sigstore/tuf";
import { LIMITS } from "./limits";
import { loadPublicGoodTrustRoot, parseTrustedRoot, PUBLIC_GOOD_ID, PUBLIC_GOOD_MIRROR, TrustRootError, type TrustRoot } from "./trusted-root";

export interface RefreshTrustRootOptions {
  /** TUF metadata cache directory (created if missing). */
  cachePath: string;
  /** Defaults to the Sigstore public-good mirror. */
  mirrorURL?: string;
  /** Initial TUF root.json for a non-default mirror (the public-good one ships in @sigstore/tuf). */
  rootPath?: string;
  /** Overall deadline for the refresh, in ms (default 10 s). */
  timeoutMs?: number;
  /** Id recorded on evidence (default "public-good" for the default mirror, else the mirror URL). */
  id?: string;
  /** Root to use when the refresh fails; defaults to the offline public-good seed for the default mirror. */
  fallback?: TrustRoot;
}

export interface RefreshTrustRootResult {
  root: TrustRoot;
  /** "tuf" when freshly verified through TUF, "fallback" when the offline root is used. */
  source: "tuf" | "fallback";
  /** Why the fallback was used; null after a successful refresh. */
  fallbackReason: string | null;
}

class TimeoutError extends Error {}

/** Fetches trusted_root.json through TUF with a deadline; never rejects for network problems. */
export async function refreshTrustRoot(options: RefreshTrustRootOptions): Promise<RefreshTrustRootResult> {
  const mirrorURL = options.mirrorURL ?? PUBLIC_GOOD_MIRROR;
  const isPublicGood = mirrorURL === PUBLIC_GOOD_MIRROR;
  const id = options.id ?? (isPublicGood ? PUBLIC_GOOD_ID : mirrorURL);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const fallback = options.fallback ?? (isPublicGood ? loadPublicGoodTrustRoot() : undefined);
  if (!fallback) throw new TrustRootError(`no fallback trust root for TUF mirror ${mirrorURL}`);

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`TUF refresh timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const fetched = (async () => {
      const tuf = await initTUF({
        cachePath: options.cachePath,
        mirrorURL,
        rootPath: options.rootPath,
        timeout: Math.min(timeoutMs, 5_000),
        retry: { retries: 0 },
      });
      return tuf.getTarget("trusted_root.json");
    })();
    // The losing promise may still reject later; keep it from becoming an unhandled rejection.
    fetched.catch(() => undefined);
    const json = await Promise.race([fetched, deadline]);
    if (Buffer.byteLength(json) > LIMITS.trustedRootBytes) throw new TrustRootError("trusted_root.json from TUF is too large");
    return { root: parseTrustedRoot(json, { id, source: "tuf" }), source: "tuf", fallbackReason: null };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { root: fallback, source: "fallback", fallbackReason: `TUF refresh from ${mirrorURL} failed, using the offline trusted root: ${message.slice(0, 300)}` };
  } finally {
    clearTimeout(timer);
  }
}
