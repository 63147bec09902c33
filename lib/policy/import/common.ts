import { z } from "zod";
import { duplicateKeyProblems } from "@/lib/policy/compile";
import { policyDocumentSchema, type PolicyDocument } from "@/lib/policy/schema";

/**
 * What importers of cluster policies share (pure). An importer turns one object read from a cluster
 * into Signet policy documents and lists, in `unsupported`, every field it could not express: nothing is
 * silently dropped, made stricter or made looser.
 */

export interface ImportResult {
  documents: PolicyDocument[];
  unsupported: string[];
}

export type Authority = PolicyDocument["spec"]["authorities"][number];
export type Attestation = PolicyDocument["spec"]["require"]["attestations"][number];
export type Identity = NonNullable<Authority["keyless"]>["identities"][number];

/** cosign's short predicate names (cosign attest --type) → predicate type URIs. */
export const COSIGN_PREDICATE_TYPES: Record<string, string> = {
  slsaprovenance: "https://slsa.dev/provenance/v0.2",
  slsaprovenance02: "https://slsa.dev/provenance/v0.2",
  slsaprovenance1: "https://slsa.dev/provenance/v1",
  link: "https://in-toto.io/Link/v1",
  spdx: "https://spdx.dev/Document",
  spdxjson: "https://spdx.dev/Document",
  cyclonedx: "https://cyclonedx.org/bom",
  vuln: "https://cosign.sigstore.dev/attestation/vuln/v1",
  openvex: "https://openvex.dev/ns",
  custom: "https://cosign.sigstore.dev/attestation/v1",
};

export function normalizePredicateType(t: string): string {
  return COSIGN_PREDICATE_TYPES[t.toLowerCase()] ?? t;
}

export function sanitizeName(raw: string, fallback: string): string {
  const n = raw.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "");
  return n || fallback;
}

/** Splits a string holding one or more PEM public keys. */
export function splitPemKeys(text: string): string[] {
  return [...text.matchAll(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g)].map((m) => m[0]);
}

export const looseObject = z.record(z.string(), z.unknown());
export const asObj = (v: unknown): Record<string, unknown> | undefined => looseObject.safeParse(v).data;
export const asArr = (v: unknown): Record<string, unknown>[] => z.array(looseObject).safeParse(v).data ?? [];
export const asStr = (v: unknown): string | undefined => (typeof v === "string" && v.length > 0 ? v : undefined);
/** Clips untrusted text quoted in messages. */
export const quote = (v: unknown): string => JSON.stringify(typeof v === "string" ? (v.length > 120 ? `${v.slice(0, 120)}…` : v) : String(v));

/** A keyless identity from issuer / subject fields (exact form wins over the regexp, as cosign does). */
export function identityOf(o: Record<string, unknown>): Identity | undefined {
  const issuer = asStr(o.issuer);
  const issuerRegExp = asStr(o.issuerRegExp);
  const subject = asStr(o.subject);
  const subjectRegExp = asStr(o.subjectRegExp);
  if ((!issuer && !issuerRegExp) || (!subject && !subjectRegExp)) return undefined;
  return { ...(issuer ? { issuer } : { issuerRegExp }), ...(subject ? { subject } : { subjectRegExp }) } as Identity;
}

/** Validates the assembled document; schema problems become `unsupported` lines and no document. */
export function finish(name: string, description: string, spec: unknown, unsupported: string[]): ImportResult {
  const r = policyDocumentSchema.safeParse({ apiVersion: "signet.dev/v1", kind: "Policy", metadata: { name, description }, spec });
  if (!r.success) {
    return { documents: [], unsupported: [...unsupported, ...r.error.issues.map((i) => `not importable: ${i.path.join(".")}: ${i.message}`)] };
  }
  return { documents: [r.data], unsupported: [...unsupported, ...duplicateKeyProblems(r.data.spec)] };
}
