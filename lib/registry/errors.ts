import type { DiscoveryErrorCode } from "@/lib/evidence/types";

/** What went wrong talking to a registry; "not-found" is an authoritative 404, everything else an error outcome. */
export type RegistryErrorCode = DiscoveryErrorCode | "not-found";

/** Every failure of the registry client. `reason` is safe to show (no credentials). */
export class RegistryError extends Error {
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    readonly details: { status?: number; url?: string; bytesRead?: number } = {},
  ) {
    super(message);
    this.name = "RegistryError";
  }
}

export function isRegistryError(err: unknown, code?: RegistryErrorCode): err is RegistryError {
  return err instanceof RegistryError && (code === undefined || err.code === code);
}

/** Removes query strings (pre-signed storage URLs carry credentials there) for messages and logs. */
export function safeUrl(url: string | URL): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    const hadQuery = u.search.length > 0;
    u.search = "";
    return `${u.toString()}${hadQuery ? "?…" : ""}`;
  } catch {
    return "(invalid URL)";
  }
}
