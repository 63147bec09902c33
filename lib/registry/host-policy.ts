/**
 * Allow / deny lists of registry hosts (pure). Pod specs are attacker-controlled, so an operator can
 * restrict which registries Signet will talk to at all.
 *
 * Patterns are case-insensitive globs: `*` matches within one DNS label (no "." or ":"), `**` matches
 * anything. A pattern without a port matches the host on any port ("registry.local" matches
 * "registry.local:5000"); a pattern with a port must match it exactly.
 * Matching is lib/glob.ts's HOST_GLOB dialect (linear time, no regular expression).
 */
import { HOST_GLOB, matchesGlob } from "@/lib/glob";

export interface HostPolicy {
  /** When non-empty, only hosts matching one of these are allowed. */
  allow?: string[];
  /** Hosts matching any of these are refused; deny wins over allow. */
  deny?: string[];
}

/** The host without its port: "a.b:5000" → "a.b", "[::1]:5000" → "[::1]". */
export function hostWithoutPort(host: string): string {
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const i = host.lastIndexOf(":");
  return i >= 0 ? host.slice(0, i) : host;
}

export function matchesHostPattern(pattern: string, host: string): boolean {
  const p = pattern.trim();
  if (!p) return false;
  const hasPort = p.startsWith("[") ? /\]:\d+$/.test(p) : /:\d+$/.test(p) || p.endsWith(":*");
  return matchesGlob(hasPort ? host : hostWithoutPort(host), p, HOST_GLOB);
}

/** Decides whether a registry host may be contacted; `reason` explains a refusal. */
export function checkHostPolicy(policy: HostPolicy | undefined, host: string): { allowed: true } | { allowed: false; reason: string } {
  const denied = policy?.deny?.find((p) => matchesHostPattern(p, host));
  if (denied) return { allowed: false, reason: `registry host ${host} matches the deny pattern ${JSON.stringify(denied)}` };
  if (policy?.allow?.length && !policy.allow.some((p) => matchesHostPattern(p, host))) {
    return { allowed: false, reason: `registry host ${host} matches no allow pattern` };
  }
  return { allowed: true };
}
