import "server-only";
import { createEgressFetch, type EgressFetch, type EgressFetchOptions } from "@/lib/egress/fetch";
import type { EgressRules } from "@/lib/egress/rules";
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

/**
 * A guarded fetch for an operator-configured service (TUF mirror, OIDC issuer): the configured
 * origins may live on internal addresses, everything they redirect to is checked like any hop.
 */
export function configuredServiceFetch(env: Env, o: Omit<EgressFetchOptions, "rules"> & { trustedOrigins: string[] }): EgressFetch {
  const plainHttp = o.plainHttp ?? o.trustedOrigins.some((u) => new URL(u).protocol === "http:");
  return createEgressFetch({ ...o, plainHttp, rules: egressRules(env) });
}
