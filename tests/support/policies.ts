/**
 * Policies as tests write them: one document from its parts (the YAML a user would save), and saved
 * through the policy store as the editor saves it.
 */
import type { Db } from "@/lib/db/client";
import { publicKeyFingerprint } from "@/lib/policy/compile";
import type { EvidenceFact } from "@/lib/policy/facts";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { savePolicyDocument } from "@/lib/policy/store";

export interface TestPolicy {
  name?: string;
  mode?: "enforce" | "warn" | "audit";
  /** Left out when undefined (the schema's default applies). */
  requireTlog?: boolean;
  /** Left out when undefined (the policy applies everywhere). */
  scope?: { images?: string[]; namespaces?: string[]; clusters?: string[]; namespaceSelector?: { matchLabels: Record<string, string> } };
  authorities: unknown[];
}

/** An authority trusting one public key written inline (`ci` unless named). */
export const inlineKey = (publicKeyPem: string, name = "ci") => ({ name, key: { pem: publicKeyPem } });

/** The policy document (YAML; values in flow style, as JSON). */
export function policyYaml(p: TestPolicy): string {
  return `apiVersion: signet.dev/v1
kind: Policy
metadata: { name: ${p.name ?? "release"} }
spec:
  mode: ${p.mode ?? "enforce"}
${p.requireTlog === undefined ? "" : `  requireTlog: ${p.requireTlog}\n`}${p.scope === undefined ? "" : `  scope: ${JSON.stringify(p.scope)}\n`}  authorities: ${JSON.stringify(p.authorities)}`;
}

/** Saves the policy through the store (a new version when it exists), as actor "test". */
export async function savePolicy(db: Db, p: TestPolicy) {
  return savePolicyDocument(db, parsePolicyDocuments(policyYaml(p))[0]!, { actor: "test" });
}

/** An enforce-mode policy (unless `mode`) trusting one inline key, no transparency log required, over `scope` (everywhere when undefined). */
export function saveKeyPolicy(db: Db, publicKeyPem: string, scope: TestPolicy["scope"], opts: { name?: string; mode?: TestPolicy["mode"]; authority?: string } = {}) {
  return savePolicy(db, { name: opts.name, mode: opts.mode, requireTlog: false, scope, authorities: [inlineKey(publicKeyPem, opts.authority)] });
}

/** A valid signature by the key `publicKeyPem`, as verification turns it into a policy fact (no transparency log). */
export function keySignatureFact(publicKeyPem: string, id = "s"): EvidenceFact {
  return { id, kind: "signature", status: "valid", reasons: [], signer: { kind: "key", fingerprints: [publicKeyFingerprint(publicKeyPem)] }, tlog: null };
}
