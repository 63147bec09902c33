import { z } from "zod";
import {
  policyDocumentSchema,
  type PolicyDocument,
  type SignatureClause,
} from "@/lib/policy/schema";

/**
 * Importers of the policies clusters enforce, into Signet policy documents (read-only in Signet):
 * sigstore policy-controller `ClusterImagePolicy` and Kyverno `verifyImages` rules. What cannot be
 * expressed is listed in `unsupported` (never silently dropped); when nothing usable remains, no
 * document is produced.
 */

export interface ImportResult {
  documents: PolicyDocument[];
  unsupported: string[];
}

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

const PUBLIC_GOOD_FULCIO = ["https://fulcio.sigstore.dev", "https://fulcio.sigstore.dev/"];

function sanitizeName(raw: string, fallback: string): string {
  const n = raw.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "");
  return n || fallback;
}

/** Splits a string holding one or more PEM public keys. */
export function splitPemKeys(text: string): string[] {
  return [...text.matchAll(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g)].map((m) => m[0]);
}

const looseObject = z.record(z.string(), z.unknown());

const cipSchema = z.object({
  apiVersion: z.string().regex(/^policy\.sigstore\.dev\//),
  kind: z.literal("ClusterImagePolicy"),
  metadata: z.object({ name: z.string().min(1) }).loose(),
  spec: z
    .object({
      images: z.array(z.object({ glob: z.string().min(1) }).loose()).default([]),
      authorities: z.array(looseObject).default([]),
      mode: z.enum(["enforce", "warn"]).optional(),
      policy: z.unknown().optional(),
      match: z.unknown().optional(),
    })
    .loose(),
});

type Authority = PolicyDocument["spec"]["authorities"][number];
type Attestation = PolicyDocument["spec"]["require"]["attestations"][number];

function finish(name: string, description: string, spec: unknown, unsupported: string[]): ImportResult {
  const r = policyDocumentSchema.safeParse({ apiVersion: "signet.dev/v1", kind: "Policy", metadata: { name, description }, spec });
  if (!r.success) {
    return { documents: [], unsupported: [...unsupported, ...r.error.issues.map((i) => `not importable: ${i.path.join(".")}: ${i.message}`)] };
  }
  return { documents: [r.data], unsupported };
}

export function importClusterImagePolicy(obj: unknown): ImportResult {
  const parsed = cipSchema.safeParse(obj);
  if (!parsed.success) {
    return { documents: [], unsupported: [`not a ClusterImagePolicy: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`] };
  }
  const cip = parsed.data;
  const unsupported: string[] = [];
  const authorities: Authority[] = [];
  const signatureAuthorities: string[] = [];
  const attestations: Attestation[] = [];
  const attestationAuthorities: string[] = [];

  cip.spec.authorities.forEach((raw, i) => {
    const name = sanitizeName(typeof raw.name === "string" ? raw.name : "", `authority-${i}`);
    const where = `authorities[${i}] (${name})`;
    if (raw.static !== undefined) {
      unsupported.push(`${where}: static action is not imported`);
      return;
    }
    if (raw.source !== undefined) unsupported.push(`${where}: source (signatures in another repository) is not imported`);
    if (raw.rfc3161timestamp !== undefined) unsupported.push(`${where}: rfc3161timestamp trust root is not imported`);
    const key = raw.key as Record<string, unknown> | undefined;
    const keyless = raw.keyless as Record<string, unknown> | undefined;
    const ctlog = raw.ctlog as Record<string, unknown> | undefined;
    if (ctlog?.trustRootRef !== undefined) unsupported.push(`${where}: ctlog.trustRootRef is not imported (public-good Rekor assumed)`);
    let authority: Authority | undefined;
    if (key) {
      if (typeof key.data === "string" && splitPemKeys(key.data).length === 1) {
        authority = { name, key: { pem: splitPemKeys(key.data)[0]! }, status: "active" };
      } else if (key.kms !== undefined) {
        unsupported.push(`${where}: KMS keys are not imported`);
      } else if (key.secretRef !== undefined) {
        unsupported.push(`${where}: keys from a Secret are not imported (add the public key to Signet)`);
      } else {
        unsupported.push(`${where}: key.data is not one PEM public key`);
      }
    } else if (keyless) {
      const ids = Array.isArray(keyless.identities) ? (keyless.identities as Record<string, unknown>[]) : [];
      const identities = ids
        .map((id) => ({
          ...(typeof id.issuer === "string" ? { issuer: id.issuer } : {}),
          ...(typeof id.issuerRegExp === "string" ? { issuerRegExp: id.issuerRegExp } : {}),
          ...(typeof id.subject === "string" ? { subject: id.subject } : {}),
          ...(typeof id.subjectRegExp === "string" ? { subjectRegExp: id.subjectRegExp } : {}),
        }))
        .filter((id) => Object.keys(id).length >= 2);
      if (identities.length === 0) unsupported.push(`${where}: keyless authority without identities (any identity) is not imported`);
      if (keyless["ca-cert"] !== undefined) unsupported.push(`${where}: keyless ca-cert is not imported`);
      if (keyless.insecureIgnoreSCT === true) unsupported.push(`${where}: insecureIgnoreSCT is not honoured (SCTs are checked)`);
      const custom = typeof keyless.url === "string" && !PUBLIC_GOOD_FULCIO.includes(keyless.url);
      const trustedRoot = typeof keyless.trustRootRef === "string" ? keyless.trustRootRef : "public-good";
      if (custom && trustedRoot === "public-good") unsupported.push(`${where}: Fulcio ${String(keyless.url)} without trustRootRef; public-good root assumed`);
      if (identities.length) authority = { name, keyless: { identities, trustedRoot }, status: "active" } as Authority;
    } else {
      unsupported.push(`${where}: neither key nor keyless`);
    }
    if (!authority) return;
    authorities.push(authority);
    const atts = Array.isArray(raw.attestations) ? (raw.attestations as Record<string, unknown>[]) : [];
    if (atts.length) {
      attestationAuthorities.push(name);
      for (const a of atts) {
        if (typeof a.predicateType !== "string") {
          unsupported.push(`${where}: attestation without predicateType`);
          continue;
        }
        if (a.policy !== undefined) unsupported.push(`${where}: attestation ${String(a.name ?? a.predicateType)} policy (${String((a.policy as Record<string, unknown>)?.type ?? "?")}) is not evaluated; predicate type only`);
        attestations.push({ predicateType: normalizePredicateType(a.predicateType), signedBy: [name] });
      }
    } else {
      signatureAuthorities.push(name);
    }
  });
  if (cip.spec.policy !== undefined) unsupported.push("spec.policy (CUE/Rego over all authorities) is not evaluated");
  if (cip.spec.match !== undefined) unsupported.push("spec.match (resource kinds) is not imported: applies to all pods");
  if (signatureAuthorities.length && attestationAuthorities.length) {
    unsupported.push(
      `authorities are alternatives in policy-controller; imported stricter: a signature by [${signatureAuthorities.join(", ")}] AND the attestations of [${attestationAuthorities.join(", ")}]`,
    );
  }
  const signatures: SignatureClause[] = signatureAuthorities.length ? [{ anyOf: signatureAuthorities }] : [];
  return finish(
    sanitizeName(`cip-${cip.metadata.name}`, "cip"),
    `Imported from ClusterImagePolicy ${cip.metadata.name}`,
    {
      mode: cip.spec.mode ?? "enforce",
      scope: { images: cip.spec.images.map((g) => g.glob) },
      authorities,
      requireTlog: true,
      require: { signatures, attestations },
    },
    unsupported,
  );
}

const kyvernoSchema = z.object({
  apiVersion: z.string().regex(/^kyverno\.io\//),
  kind: z.enum(["ClusterPolicy", "Policy"]),
  metadata: z.object({ name: z.string().min(1), namespace: z.string().optional() }).loose(),
  spec: z
    .object({
      validationFailureAction: z.string().optional(),
      rules: z.array(looseObject).default([]),
    })
    .loose(),
});

function kyvernoMode(action: unknown): "enforce" | "audit" {
  return typeof action === "string" && action.toLowerCase() === "enforce" ? "enforce" : "audit";
}

/** Namespaces a rule's `match` names for Pods (any/all/resources forms); undefined = all. */
function matchedNamespaces(match: unknown): string[] | undefined {
  const m = match as Record<string, unknown> | undefined;
  if (!m) return undefined;
  const blocks = [...((m.any as unknown[]) ?? []), ...((m.all as unknown[]) ?? []), ...(m.resources ? [m] : [])] as Record<string, unknown>[];
  const names = blocks.flatMap((b) => ((b.resources as Record<string, unknown> | undefined)?.namespaces as string[] | undefined) ?? []);
  return names.length ? names : undefined;
}

export function importKyvernoPolicy(obj: unknown): ImportResult {
  const parsed = kyvernoSchema.safeParse(obj);
  if (!parsed.success) {
    return { documents: [], unsupported: [`not a Kyverno policy: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`] };
  }
  const pol = parsed.data;
  const documents: PolicyDocument[] = [];
  const unsupported: string[] = [];
  pol.spec.rules.forEach((rule, ri) => {
    const ruleName = typeof rule.name === "string" ? rule.name : `rule-${ri}`;
    const verifyImages = Array.isArray(rule.verifyImages) ? (rule.verifyImages as Record<string, unknown>[]) : [];
    verifyImages.forEach((vi, vj) => {
      const where = `rule ${ruleName} verifyImages[${vj}]`;
      const local: string[] = [];
      if (typeof vi.type === "string" && !["cosign", "sigstorebundle"].includes(vi.type.toLowerCase())) {
        unsupported.push(`${where}: type ${vi.type} is not supported`);
        return;
      }
      const authorities: Authority[] = [];
      const toAuthorities = (attestors: unknown, prefix: string): { clauses: SignatureClause[]; names: string[] } => {
        const clauses: SignatureClause[] = [];
        const all: string[] = [];
        ((attestors as Record<string, unknown>[] | undefined) ?? []).forEach((set, si) => {
          const names: string[] = [];
          ((set.entries as Record<string, unknown>[] | undefined) ?? []).forEach((entry, ei) => {
            const base = sanitizeName(`${prefix}-s${si}-e${ei}`, `a-${si}-${ei}`);
            const keys = entry.keys as Record<string, unknown> | undefined;
            const keyless = entry.keyless as Record<string, unknown> | undefined;
            if (keys) {
              const pems = typeof keys.publicKeys === "string" ? splitPemKeys(keys.publicKeys) : [];
              if (!pems.length) local.push(`${where}: attestor ${base}: keys without inline PEM (secret/KMS) are not imported`);
              if ((keys.rekor as Record<string, unknown> | undefined)?.ignoreTlog === true) local.push(`${where}: attestor ${base}: rekor.ignoreTlog honoured per policy (requireTlog false)`);
              pems.forEach((pem, ki) => {
                const n = pems.length > 1 ? sanitizeName(`${base}-k${ki}`, base) : base;
                authorities.push({ name: n, key: { pem }, status: "active" });
                names.push(n);
              });
            } else if (keyless) {
              const id = {
                ...(typeof keyless.issuer === "string" ? { issuer: keyless.issuer } : {}),
                ...(typeof keyless.issuerRegExp === "string" ? { issuerRegExp: keyless.issuerRegExp } : {}),
                ...(typeof keyless.subject === "string" ? { subject: keyless.subject } : {}),
                ...(typeof keyless.subjectRegExp === "string" ? { subjectRegExp: keyless.subjectRegExp } : {}),
              };
              if (Object.keys(id).length < 2) {
                local.push(`${where}: attestor ${base}: keyless without issuer and subject is not imported`);
                return;
              }
              if (keyless.roots !== undefined) local.push(`${where}: attestor ${base}: custom roots are not imported`);
              if (keyless.additionalExtensions !== undefined) local.push(`${where}: attestor ${base}: additionalExtensions are not imported`);
              authorities.push({ name: base, keyless: { identities: [id], trustedRoot: "public-good" }, status: "active" } as Authority);
              names.push(base);
            } else {
              local.push(`${where}: attestor ${base}: only keys and keyless attestors are imported`);
            }
          });
          if (!names.length) return;
          const count = typeof set.count === "number" ? set.count : undefined;
          clauses.push(count ? { atLeast: Math.min(count, names.length), of: names } : names.length === 1 ? { anyOf: names } : { allOf: names });
          all.push(...names);
        });
        return { clauses, names: all };
      };
      const sig = toAuthorities(vi.attestors, sanitizeName(`${ruleName}-${vj}`, `r${ri}-${vj}`));
      const attestations: Attestation[] = [];
      ((vi.attestations as Record<string, unknown>[] | undefined) ?? []).forEach((a, ai) => {
        const type = typeof a.predicateType === "string" ? a.predicateType : typeof a.type === "string" ? a.type : undefined;
        if (!type) {
          local.push(`${where}: attestation ${ai} without type`);
          return;
        }
        const own = toAuthorities(a.attestors, sanitizeName(`${ruleName}-${vj}-att${ai}`, `att-${ai}`));
        if (a.conditions !== undefined) local.push(`${where}: attestation ${type} conditions are not evaluated; predicate type only`);
        attestations.push({ predicateType: normalizePredicateType(type), ...(own.names.length ? { signedBy: own.names } : {}) });
      });
      const ignoreTlog = local.some((u) => u.includes("ignoreTlog"));
      const images = Array.isArray(vi.imageReferences) ? (vi.imageReferences as string[]) : typeof vi.image === "string" ? [vi.image] : ["**"];
      const namespaces = matchedNamespaces(rule.match);
      const result = finish(
        sanitizeName(`kyverno-${pol.metadata.name}-${ruleName}${verifyImages.length > 1 ? `-${vj}` : ""}`, "kyverno"),
        `Imported from Kyverno ${pol.kind} ${pol.metadata.namespace ? `${pol.metadata.namespace}/` : ""}${pol.metadata.name}, rule ${ruleName}`,
        {
          mode: kyvernoMode(vi.failureAction ?? rule.validationFailureAction ?? pol.spec.validationFailureAction),
          scope: {
            images,
            ...(pol.kind === "Policy" && pol.metadata.namespace ? { namespaces: [pol.metadata.namespace] } : namespaces ? { namespaces } : {}),
          },
          authorities,
          requireTlog: !ignoreTlog,
          require: { signatures: sig.clauses, attestations },
        },
        local,
      );
      documents.push(...result.documents);
      unsupported.push(...result.unsupported);
    });
    if (!verifyImages.length && rule.verifyImages !== undefined) unsupported.push(`rule ${ruleName}: empty verifyImages`);
  });
  return { documents, unsupported };
}
