import { parseArgs } from "node:util";
import { commandLineRegistries } from "@/cli/commands/registry-options";
import type { Command } from "@/cli/commands/types";
import { registryEgressOptions } from "@/lib/egress/env";
import { getEnv } from "@/lib/env";
import { RegistryClient } from "@/lib/registry/client";
import type { CredentialProvider } from "@/lib/registry/credentials";
import { InvalidReferenceError, parseImageReference, parseRepository } from "@/lib/registry/reference";
import { TrustRootError } from "@/lib/sigstore";
import { loadCredentialsFile } from "@/lib/registry/credentials-file";
// (the modules themselves, not lib/verify's index: `signet verify` does not load verify-bundle's parts)
import { exitCodeOf, verifyImage, type EvidenceSummary, type ImageVerification } from "@/lib/verify/image";
import { loadTrustRoots, missingTrustedRoots, PolicyFileError, readPolicyFile } from "@/lib/verify/policies";

const USAGE = "verify <image-ref> --policy FILE [--json] [--trusted-root [NAME=]FILE]... [options]";

function describeSigner(e: EvidenceSummary): string {
  const s = e.signer;
  if (!s) return "signer unknown";
  if (s.kind === "key") return `key ${s.fingerprints.join(", ")}${s.keyIds.length ? ` (${s.keyIds.join(", ")})` : ""}`;
  return `identity ${s.identity}, issuer ${s.issuer ?? "(none)"}, trusted root ${s.trustedRoot ?? "?"}, certificate ${s.certificateSerial}`;
}

function describeEvidence(e: EvidenceSummary, indent: string): string[] {
  const lines = [`${indent}${e.kind}${e.predicateType ? ` ${e.predicateType}` : ""} [${e.status}] ${e.id} (${e.source})`, `${indent}  signed by ${describeSigner(e)}`];
  if (e.rekor) {
    const proof = [e.rekor.verifiedSet ? "SET" : "", e.rekor.verifiedInclusionProof ? "inclusion proof" : ""].filter(Boolean).join(" + ") || "unverified";
    lines.push(`${indent}  rekor: log index ${e.rekor.logIndex}, integrated ${e.rekor.integratedTime}${e.rekor.logUrl ? ` on ${e.rekor.logUrl}` : ""} (${proof})`);
  } else {
    lines.push(`${indent}  rekor: no entry`);
  }
  for (const t of e.timestamps) lines.push(`${indent}  RFC 3161 timestamp: ${t}`);
  if (e.provenance) {
    const p = Object.entries(e.provenance).map(([k, v]) => `${k}=${v}`);
    if (p.length) lines.push(`${indent}  provenance: ${p.join(", ")}`);
  }
  for (const r of e.reasons) lines.push(`${indent}  reason ${r.code}: ${r.message}`);
  return lines;
}

function printHuman(r: ImageVerification, policyFile: string): void {
  const out: string[] = [`image: ${r.reference}`];
  const d = r.discovery;
  out.push(
    d.outcome === "found"
      ? `discovery: found (${d.artifacts} artifact${d.artifacts === 1 ? "" : "s"})`
      : d.outcome === "none"
        ? "discovery: none (no signature, attestation or referrer)"
        : `discovery: error (${d.code}): ${d.reason}`,
  );
  out.push(`verdict: ${r.verdict}`);
  if (r.policies.length === 0) out.push(`no policy of ${policyFile} applies to ${r.image.registry}/${r.image.repository}`);
  const byId = new Map(r.evidence.map((e) => [e.id, e]));
  for (const p of r.policies) {
    out.push("", `policy ${p.policy} (${p.mode}): ${p.verdict.value}`);
    for (const reason of p.verdict.reasons) {
      const where = [reason.authority ? `authority ${reason.authority}` : "", reason.evidenceId ? `evidence ${reason.evidenceId}` : ""].filter(Boolean).join(", ");
      out.push(`  ${reason.code}: ${reason.message}${where ? ` [${where}]` : ""}`);
    }
    for (const id of p.verdict.evidenceIds) {
      const e = byId.get(id);
      if (e) out.push(...describeEvidence(e, "  "));
    }
  }
  const unused = r.evidence.filter((e) => !r.policies.some((p) => p.verdict.evidenceIds.includes(e.id)));
  if (unused.length) {
    out.push("", `other evidence (${unused.length}):`);
    for (const e of unused) out.push(...describeEvidence(e, "  "));
  }
  if (r.notApplicable.length) out.push("", `not applicable (scope.images): ${r.notApplicable.join(", ")}`);
  process.stdout.write(`${out.join("\n")}\n`);
}

/** `signet verify`: is one image signed as a policy file requires? (exit 0 verified, 1 failed / unsigned, 2 error) */
export const verify: Command = {
  name: "verify",
  usage: USAGE,
  summary: "verify one image against a Signet policy file (exit 0 verified, 1 failed/unsigned, 2 error)",
  help: [
    "Resolves a tag to its digest, discovers the image's signatures, attestations and Sigstore bundles,",
    "verifies them with the keys, identities and trusted roots of the policy file, and evaluates every",
    "document of the file whose scope.images matches the image (cluster and namespace scope are ignored:",
    "there is no pod here). The policy mode (enforce / warn / audit) does not change the result.",
    "",
    "Options:",
    "  --policy FILE                  Signet policy file (YAML, several documents allowed, or JSON); required",
    "  --json                         print the result as JSON",
    "  --insecure-registry HOST       talk plain HTTP to HOST (host[:port]); repeatable",
    "  --docker-config FILE           credentials: a docker config.json or a Kubernetes pull secret (JSON/YAML)",
    "  --trusted-root [NAME=]FILE     a custom Sigstore trusted_root.json, named NAME or after the file",
    "                                 (staging.json → staging), usable as keyless.trustedRoot; repeatable",
    "  --signature-repository R       look for signatures in repository R (like COSIGN_REPOSITORY)",
    "  --timeout S                    deadline of each registry request in seconds (default 30)",
    "",
    "A keyless authority naming a trusted root that is not loaded is an error (exit 2).",
    "Exit codes: 0 every applicable policy verified; 1 failed, unsigned, or no policy applies;",
    "2 error (registry unreachable, unverifiable evidence, unusable policy or trusted root); 64 usage.",
  ].join("\n"),
  async run(args) {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        options: {
          policy: { type: "string" },
          json: { type: "boolean", default: false },
          "insecure-registry": { type: "string", multiple: true, default: [] },
          "docker-config": { type: "string" },
          "trusted-root": { type: "string", multiple: true, default: [] },
          "signature-repository": { type: "string" },
          timeout: { type: "string", default: "30" },
        },
      });
    } catch (err) {
      process.stderr.write(`signet verify: ${(err as Error).message}\nUsage: signet ${USAGE}\n`);
      return 64;
    }
    const { values, positionals } = parsed;
    const usage = (message: string) => {
      process.stderr.write(`signet verify: ${message}\nUsage: signet ${USAGE}\n`);
      return 64;
    };
    if (positionals.length !== 1) return usage("expected one image reference");
    if (!values.policy) return usage("--policy FILE is required");
    const timeoutS = Number(values.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS <= 0) return usage("--timeout must be a positive number of seconds");
    let ref;
    let registries;
    let signatureRepository;
    try {
      ref = parseImageReference(positionals[0]!);
      signatureRepository = values["signature-repository"] ? parseRepository(values["signature-repository"]) : undefined;
      registries = commandLineRegistries(ref, values["insecure-registry"], signatureRepository);
    } catch (err) {
      if (err instanceof InvalidReferenceError) return usage(err.message);
      throw err;
    }
    let policies;
    let trust;
    let credentials: CredentialProvider | undefined;
    try {
      policies = await readPolicyFile(values.policy);
      trust = await loadTrustRoots(values["trusted-root"]);
      // A typo in keyless.trustedRoot would otherwise only show up as "issuer" failures.
      const missing = missingTrustedRoots(policies, trust);
      if (missing.length) throw new PolicyFileError(missing.join("; "));
      if (values["docker-config"]) {
        try {
          credentials = await loadCredentialsFile(values["docker-config"]);
        } catch (err) {
          throw new Error(`cannot use ${values["docker-config"]}: ${(err as Error).message}`);
        }
      }
    } catch (err) {
      if (err instanceof PolicyFileError || err instanceof TrustRootError || err instanceof Error) {
        process.stderr.write(`signet verify: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
    // SIGNET_REGISTRY_ALLOW / DENY and SIGNET_EGRESS_* apply here as in the worker.
    const client = new RegistryClient({ registries, ...registryEgressOptions(getEnv()), ...(credentials ? { credentials } : {}), requestTimeoutMs: timeoutS * 1000 });
    try {
      const result = await verifyImage({ client, reference: ref, policies, trust, ...(signatureRepository ? { signatureRepository } : {}) });
      if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else printHuman(result, values.policy);
      return exitCodeOf(result.verdict);
    } finally {
      await client.close();
    }
  },
};
