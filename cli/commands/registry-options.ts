import { normalizeRegistryHost, type ImageReference, type RepositoryRef } from "@/lib/registry/reference";
import type { RegistryConfig } from "@/lib/registry/client";

/**
 * Registry settings for a command-line lookup: `--insecure-registry` hosts over plain HTTP, and the
 * registries the operator named (the image's, the signature repository's) count as configured — unlike
 * a pod spec's — so a registry on localhost or a private address is fine. Plain HTTP still needs
 * --insecure-registry.
 */
export function commandLineRegistries(ref: ImageReference, insecureHosts: string[], signatureRepository?: RepositoryRef): RegistryConfig[] {
  const registries: RegistryConfig[] = insecureHosts.map((host) => ({ host: normalizeRegistryHost(host), insecure: true }));
  for (const host of [ref.registry, signatureRepository?.registry]) {
    if (host && !registries.some((r) => r.host === host)) registries.push({ host, insecure: false });
  }
  return registries;
}
