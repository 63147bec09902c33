import { parseArgs } from "node:util";
import { commandLineRegistries } from "@/cli/commands/registry-options";
import type { Command } from "@/cli/commands/types";
import type { DiscoveredArtifact, DiscoveryResult } from "@/lib/evidence/types";
import { registryEgressOptions } from "@/lib/egress/env";
import { getEnv } from "@/lib/env";
import { RegistryClient } from "@/lib/registry/client";
import type { CredentialProvider } from "@/lib/registry/credentials";
import { loadCredentialsFile } from "@/lib/registry/credentials-file";
import { discover as discoverImage } from "@/lib/registry/discover";
import { RegistryError } from "@/lib/registry/errors";
import { InvalidReferenceError, formatImageReference, parseImageReference, parseRepository } from "@/lib/registry/reference";

const USAGE = "discover <image-ref> [--json] [--insecure-registry HOST]... [--docker-config FILE]";


function toJson(result: DiscoveryResult): unknown {
  const artifacts = (list: DiscoveredArtifact[]) =>
    list.map((a) => ({
      ...a,
      layers: a.layers.map(({ content, ...l }) => ({ ...l, ...(content ? { content: content.toString("base64") } : {}) })),
    }));
  if (result.outcome === "found") return { ...result, artifacts: artifacts(result.artifacts) };
  if (result.outcome === "error") return { ...result, partial: artifacts(result.partial) };
  return result;
}

function describeArtifact(a: DiscoveredArtifact): string[] {
  const where = a.source === "referrers-api" ? "referrers API" : `${a.source === "tag" ? "tag" : "referrers tag"} ${a.tag}`;
  const lines = [`  ${a.kind.padEnd(11)} ${a.manifestDigest}  (${where}${a.artifactType ? `, ${a.artifactType}` : ""})`];
  const predicate = a.annotations["dev.sigstore.bundle.predicateType"];
  if (predicate) lines.push(`              predicate ${predicate}`);
  for (const l of a.layers) {
    const extra = l.annotations.predicateType ? ` predicate ${l.annotations.predicateType}` : "";
    const state = l.content ? "fetched" : (l.skipped ?? "not fetched");
    lines.push(`    layer ${l.digest} ${l.mediaType} ${l.size} B, ${state}${extra}`);
  }
  return lines;
}

function printHuman(result: DiscoveryResult, ref: string): void {
  const out: string[] = [`image: ${ref}`];
  if (result.outcome === "found") {
    out.push(`outcome: found (${result.artifacts.length} artifact${result.artifacts.length === 1 ? "" : "s"})`);
    for (const a of result.artifacts) out.push(...describeArtifact(a));
  } else if (result.outcome === "none") {
    out.push("outcome: none (no signature, attestation, SBOM or referrer)", "checked:", ...result.checked.map((c) => `  ${c}`));
  } else {
    out.push(`outcome: error (${result.code})`, `reason: ${result.reason}`);
    if (result.partial.length) {
      out.push(`fetched before the error (${result.partial.length}):`);
      for (const a of result.partial) out.push(...describeArtifact(a));
    }
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

/** `signet discover`: find every signature artifact of one image, as the scanner would (exit 0 found, 1 none, 2 error). */
export const discover: Command = {
  name: "discover",
  usage: USAGE,
  summary: "find the signatures, attestations, SBOMs and referrers of one image (exit 0 found, 1 none, 2 error)",
  help: [
    "The image may be given by tag (resolved to a digest first) or by digest.",
    "",
    "Options:",
    "  --json                    print the discovery result as JSON (layer contents base64)",
    "  --insecure-registry HOST  talk plain HTTP to HOST (host[:port]); repeatable",
    "  --docker-config FILE      credentials: a docker config.json or a Kubernetes pull secret (JSON/YAML)",
    "  --signature-repository R  look for signatures in repository R (like COSIGN_REPOSITORY)",
    "  --timeout S               deadline of each registry request in seconds (default 30)",
    "",
    "Exit codes: 0 found, 1 none, 2 error (registry unreachable, refused, or answered something invalid), 64 usage.",
  ].join("\n"),
  async run(args) {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        options: {
          json: { type: "boolean", default: false },
          "insecure-registry": { type: "string", multiple: true, default: [] },
          "docker-config": { type: "string" },
          "signature-repository": { type: "string" },
          timeout: { type: "string", default: "30" },
        },
      });
    } catch (err) {
      process.stderr.write(`signet discover: ${(err as Error).message}\nUsage: signet ${USAGE}\n`);
      return 64;
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1) {
      process.stderr.write(`signet discover: expected one image reference\nUsage: signet ${USAGE}\n`);
      return 64;
    }
    const timeoutS = Number(values.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
      process.stderr.write("signet discover: --timeout must be a positive number of seconds\n");
      return 64;
    }
    let ref;
    let registries;
    let signatureRepository;
    try {
      ref = parseImageReference(positionals[0]!);
      signatureRepository = values["signature-repository"] ? parseRepository(values["signature-repository"]) : undefined;
      registries = commandLineRegistries(ref, values["insecure-registry"], signatureRepository);
    } catch (err) {
      if (err instanceof InvalidReferenceError) {
        process.stderr.write(`signet discover: ${err.message}\n`);
        return 64;
      }
      throw err;
    }
    let credentials: CredentialProvider | undefined;
    if (values["docker-config"]) {
      try {
        credentials = await loadCredentialsFile(values["docker-config"]);
      } catch (err) {
        process.stderr.write(`signet discover: cannot use ${values["docker-config"]}: ${(err as Error).message}\n`);
        return 2;
      }
    }
    // SIGNET_REGISTRY_ALLOW / DENY and SIGNET_EGRESS_* apply here as in the worker.
    const client = new RegistryClient({ registries, ...registryEgressOptions(getEnv()), ...(credentials ? { credentials } : {}), requestTimeoutMs: timeoutS * 1000 });
    try {
      let digest: string;
      try {
        digest = await client.resolveDigest(ref);
      } catch (err) {
        if (!(err instanceof RegistryError)) throw err;
        const message = `cannot resolve ${formatImageReference(ref)}: ${err.message}`;
        if (values.json) process.stdout.write(`${JSON.stringify({ outcome: "error", code: err.code, reason: message }, null, 2)}\n`);
        else process.stderr.write(`signet discover: ${message}\n`);
        return 2;
      }
      const image = { registry: ref.registry, repository: ref.repository, digest };
      const result = await discoverImage(image, { client, ...(signatureRepository ? { signatureRepository } : {}) });
      if (values.json) process.stdout.write(`${JSON.stringify(toJson(result), null, 2)}\n`);
      else printHuman(result, formatImageReference({ ...ref, digest }));
      return result.outcome === "found" ? 0 : result.outcome === "none" ? 1 : 2;
    } finally {
      await client.close();
    }
  },
};
