import "server-only";
import { createEgressFetch, type EgressFetch, type EgressFetchOptions } from "@/lib/egress/fetch";
import { EgressPolicy, principalFor, type EgressRules } from "@/lib/egress/rules";
import type { Env } from "@/lib/env";
import type { TransportOptions } from "@/lib/registry/transport";

/** The operator's egress settings (shared by every kind of outgoing request). */
export function egressRules(env: Env): EgressRules {
  return { allowInternal: env.SIGNET_EGRESS_ALLOW_INTERNAL ?? [], refusePrivate: env.SIGNET_EGRESS_REFUSE_PRIVATE };
}

/** The registry client's egress settings (scan workers and the CLI alike). */
export function registryEgressOptions(env: Env): Pick<TransportOptions, "hosts" | "allowInternal" | "allowPrivateRegistries"> {
  return {
    hosts: { allow: env.SIGNET_REGISTRY_ALLOW ?? [], deny: env.SIGNET_REGISTRY_DENY ?? [] },
    allowInternal: env.SIGNET_EGRESS_ALLOW_INTERNAL ?? [],
    allowPrivateRegistries: !env.SIGNET_EGRESS_REFUSE_PRIVATE,
  };
}

const ADMIN_URL_HINT = "list it in SIGNET_EGRESS_ALLOW_INTERNAL to allow it";

/**
 * Why a URL an administrator typed (a webhook, a TUF mirror) may not be saved, or undefined: its scheme,
 * embedded credentials, deny entries, and an IP literal or `*.localhost` name on a loopback, link-local,
 * metadata, unspecified or reserved address (private ones with SIGNET_EGRESS_REFUSE_PRIVATE) unless
 * listed in SIGNET_EGRESS_ALLOW_INTERNAL. Other names are checked on their addresses at every request.
 */
export function adminUrlRefusal(env: Env, url: string, label: string): string | undefined {
  const u = new URL(url);
  const policy = new EgressPolicy(egressRules(env));
  const principal = principalFor(u, { trusted: false, applyAllow: false, label: `${label} ${u.host}`, hint: ADMIN_URL_HINT });
  const refusal = policy.schemeRefusal(u, true, principal.label) ?? policy.urlRefusal(principal, u);
  if (refusal) return refusal;
  if (principal.hostname === "localhost" || principal.hostname.endsWith(".localhost")) return policy.addressRefusal(principal, principal.hostname, principal.port, "127.0.0.1");
  return undefined;
}

/**
 * A guarded fetch for a service whose URL an administrator stored (a TUF mirror): the URL is admin
 * input, not operator configuration, so it is an untrusted principal like a webhook's — internal
 * addresses (metadata, loopback, link-local) only when listed in SIGNET_EGRESS_ALLOW_INTERNAL, private
 * ones unless SIGNET_EGRESS_REFUSE_PRIVATE; its redirects are hops.
 */
export function adminUrlFetch(env: Env, o: Omit<EgressFetchOptions, "rules" | "trustedOrigins" | "hint"> & { url: string }): EgressFetch {
  const { url, ...rest } = o;
  return createEgressFetch({ ...rest, plainHttp: o.plainHttp ?? new URL(url).protocol === "http:", hint: ADMIN_URL_HINT, rules: egressRules(env) });
}
