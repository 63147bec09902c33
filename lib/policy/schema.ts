import { parseAllDocuments } from "yaml";
import { z } from "zod";
import { MAX_PATTERN_LENGTH, regexProblem } from "@/lib/policy/regex";

/**
 * The Signet policy document (YAML or JSON), documented in docs/policies.md. Validated with zod at the
 * boundary; everything after parsing works on the typed `PolicySpec`.
 */

const name = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "lower-case letters, digits and dashes (max 63)");

/** RE2 syntax (lib/policy/regex): what Go's regexp, cosign and policy-controller accept, matched in linear time. */
const regexp = z
  .string()
  .max(MAX_PATTERN_LENGTH)
  .superRefine((v, ctx) => {
    const problem = regexProblem(v);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

const glob = z.string().min(1).max(1024, "a glob is at most 1024 characters");

const pemPublicKey = z
  .string()
  .max(20_000)
  .refine((v) => /-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----/.test(v), "must be a PEM public key (BEGIN PUBLIC KEY)");

/** Fulcio certificate extensions a keyless authority may constrain (exact values or regexps). */
export const FULCIO_EXTENSION_NAMES = [
  "buildSignerURI",
  "buildSignerDigest",
  "runnerEnvironment",
  "sourceRepositoryURI",
  "sourceRepositoryDigest",
  "sourceRepositoryRef",
  "sourceRepositoryIdentifier",
  "sourceRepositoryOwnerURI",
  "sourceRepositoryOwnerIdentifier",
  "buildConfigURI",
  "buildConfigDigest",
  "buildTrigger",
  "runInvocationURI",
  "sourceRepositoryVisibilityAtSigning",
  "deploymentEnvironment",
] as const;

const extensionConstraint = z.union([z.string().min(1), z.object({ regexp })]);

const identity = z
  .object({
    issuer: z.string().min(1).optional(),
    issuerRegExp: regexp.optional(),
    subject: z.string().min(1).optional(),
    subjectRegExp: regexp.optional(),
  })
  .strict()
  .refine((i) => (i.issuer === undefined) !== (i.issuerRegExp === undefined), "set exactly one of issuer / issuerRegExp")
  .refine((i) => (i.subject === undefined) !== (i.subjectRegExp === undefined), "set exactly one of subject / subjectRegExp");

const authorityStatus = z.enum(["active", "retiring", "revoked"]);

const keySource = z.union([z.object({ pem: pemPublicKey }).strict(), z.object({ ref: z.string().min(1) }).strict()]);

const authority = z
  .object({
    name,
    /** A public key (PEM), or the name of a stored Signet authority. */
    key: keySource.optional(),
    /** Several keys of ONE signer (a rotation's old and new key): either one satisfies the authority, which still counts once. */
    keys: z.array(keySource).min(1).max(10).optional(),
    keyless: z
      .object({
        identities: z.array(identity).min(1).max(100),
        extensions: z.partialRecord(z.enum(FULCIO_EXTENSION_NAMES), extensionConstraint).optional(),
        /** Name of a trusted root; default: the Sigstore public-good root. */
        trustedRoot: z.string().min(1).default("public-good"),
      })
      .strict()
      .optional(),
    /**
     * A fixed answer without any signer (policy-controller's `static` authority): `pass` satisfies the
     * authority for every image, `fail` never does.
     */
    static: z.object({ action: z.enum(["pass", "fail"]), message: z.string().max(500).optional() }).strict().optional(),
    /**
     * Whether this authority's signatures and attestations need a verified transparency-log entry;
     * default: the policy's `requireTlog`. `false` on a keyless authority also accepts a certificate
     * without a trusted time when it is valid now (cosign's and policy-controller's behaviour with the
     * log ignored).
     */
    requireTlog: z.boolean().optional(),
    /**
     * Which evidence format counts for this authority (default: both). policy-controller v0.13 reads
     * classic cosign layers (.sig / .att) unless its authority says `signatureFormat: bundle`.
     */
    signatureFormat: z.enum(["classic", "bundle"]).optional(),
    /**
     * policy-controller's attestation authority: the authority is satisfied only by valid attestations
     * it signed, one of each listed predicate type (an image signature by it does not count).
     */
    attestations: z.array(z.object({ predicateType: z.string().min(1) }).strict()).min(1).max(50).optional(),
    status: authorityStatus.default("active"),
    validFrom: z.coerce.date().optional(),
    validUntil: z.coerce.date().optional(),
  })
  .strict()
  .refine(
    (a) => [a.key, a.keys, a.keyless, a.static].filter((x) => x !== undefined).length === 1,
    "an authority has exactly one of key / keys / keyless / static",
  )
  .refine(
    (a) => a.static === undefined || (a.attestations === undefined && a.requireTlog === undefined && a.signatureFormat === undefined),
    "a static authority has no attestations, requireTlog or signatureFormat",
  );

const clause = z.union([
  z.object({ anyOf: z.array(name).min(1) }).strict(),
  z.object({ allOf: z.array(name).min(1) }).strict(),
  z.object({ atLeast: z.number().int().min(1), of: z.array(name).min(1) }).strict(),
]);

const condition = z.union([z.string().min(1), z.object({ regexp })]);

const attestationRequirement = z
  .object({
    predicateType: z.string().min(1),
    /** Authorities that may sign it (default: any authority of the policy). */
    signedBy: z.array(name).min(1).optional(),
    conditions: z
      .object({
        builderId: condition.optional(),
        buildType: condition.optional(),
        sourceRepository: condition.optional(),
        sourceRef: condition.optional(),
        entryPoint: condition.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const labelSelector = z
  .object({
    matchLabels: z.record(z.string(), z.string()).optional(),
    matchExpressions: z
      .array(
        z
          .object({
            key: z.string().min(1),
            operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
            values: z.array(z.string()).optional(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();

export const policySpecSchema = z
  .object({
    mode: z.enum(["enforce", "warn", "audit"]).default("audit"),
    scope: z
      .object({
        // globs (lib/glob.ts): bounded, since each is matched against every container
        clusters: z.array(glob).max(1000).optional(),
        namespaces: z.array(glob).max(1000).optional(),
        excludeNamespaces: z.array(glob).max(1000).optional(),
        namespaceSelector: labelSelector.optional(),
        images: z.array(glob).min(1).max(1000).default(["**"]),
      })
      .strict()
      .default({ images: ["**"] }),
    authorities: z.array(authority).max(100).default([]),
    /** Whether a transparency-log entry is mandatory (default true: cosign's default). */
    requireTlog: z.boolean().default(true),
    require: z
      .object({
        /** Signature clauses, all of which must hold. Default: any one authority. */
        signatures: z.union([clause, z.array(clause).max(50)]).optional(),
        attestations: z.array(attestationRequirement).default([]),
      })
      .strict()
      .default({ attestations: [] }),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const names = new Set<string>();
    spec.authorities.forEach((a, i) => {
      if (names.has(a.name)) ctx.addIssue({ code: "custom", path: ["authorities", i, "name"], message: `duplicate authority "${a.name}"` });
      names.add(a.name);
    });
    const check = (list: string[], path: (string | number)[]) =>
      list.forEach((n, i) => {
        if (!names.has(n)) ctx.addIssue({ code: "custom", path: [...path, i], message: `unknown authority "${n}"` });
        // a name listed twice is still one authority, and `atLeast` counts authorities
        else if (list.indexOf(n) !== i) ctx.addIssue({ code: "custom", path: [...path, i], message: `authority "${n}" is listed twice` });
      });
    const clauses = spec.require.signatures === undefined ? [] : Array.isArray(spec.require.signatures) ? spec.require.signatures : [spec.require.signatures];
    clauses.forEach((c, i) => {
      const path = Array.isArray(spec.require.signatures) ? ["require", "signatures", i] : ["require", "signatures"];
      if ("anyOf" in c) check(c.anyOf, [...path, "anyOf"]);
      if ("allOf" in c) check(c.allOf, [...path, "allOf"]);
      if ("atLeast" in c) {
        check(c.of, [...path, "of"]);
        if (c.atLeast > c.of.length) ctx.addIssue({ code: "custom", path: [...path, "atLeast"], message: `atLeast ${c.atLeast} of only ${c.of.length} authorities` });
      }
    });
    spec.require.attestations.forEach((a, i) => a.signedBy && check(a.signedBy, ["require", "attestations", i, "signedBy"]));
    if (spec.authorities.length === 0) ctx.addIssue({ code: "custom", path: ["authorities"], message: "a policy needs at least one authority" });
    // `signatures: []` means "attestations only"; a policy that requires nothing would verify anything.
    if (Array.isArray(spec.require.signatures) && spec.require.signatures.length === 0 && spec.require.attestations.length === 0) {
      ctx.addIssue({ code: "custom", path: ["require"], message: "a policy must require at least one signature or attestation" });
    }
  });

export const policyDocumentSchema = z
  .object({
    apiVersion: z.literal("signet.dev/v1"),
    kind: z.literal("Policy"),
    metadata: z.object({ name, description: z.string().max(2000).optional() }).strict(),
    spec: policySpecSchema,
  })
  .strict();

export type PolicySpec = z.output<typeof policySpecSchema>;
export type PolicyDocument = z.output<typeof policyDocumentSchema>;
export type PolicyAuthority = PolicySpec["authorities"][number];
export type SignatureClause = z.output<typeof clause>;
export type AttestationRequirement = PolicySpec["require"]["attestations"][number];
export type LabelSelector = z.output<typeof labelSelector>;
export type Condition = z.output<typeof condition>;

/** A policy document that failed validation; `problems` holds "path: message" lines. */
export class PolicyValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid policy:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "PolicyValidationError";
  }
}

const MAX_POLICY_BYTES = 1024 * 1024;

/** Parses YAML or JSON text (several YAML documents allowed) into validated policy documents. */
export function parsePolicyDocuments(text: string): PolicyDocument[] {
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES) throw new PolicyValidationError([`(file): larger than ${MAX_POLICY_BYTES} bytes`]);
  let raws: unknown[];
  try {
    const docs = parseAllDocuments(text);
    const list = Array.isArray(docs) ? docs : [docs];
    const errors = list.flatMap((d) => d.errors.map((e) => e.message.split("\n")[0] ?? "syntax error"));
    if (errors.length) throw new PolicyValidationError(errors.map((e) => `(syntax): ${e}`));
    raws = list.map((d) => d.toJS({ maxAliasCount: 100 })).filter((d) => d !== null && d !== undefined);
  } catch (err) {
    if (err instanceof PolicyValidationError) throw err;
    throw new PolicyValidationError([`(syntax): ${(err as Error).message.split("\n")[0]}`]);
  }
  if (raws.length === 0) throw new PolicyValidationError(["(file): no policy document found"]);
  return raws.map((raw, i) => {
    const r = policyDocumentSchema.safeParse(raw);
    if (!r.success) {
      const prefix = raws.length > 1 ? `document ${i + 1}: ` : "";
      throw new PolicyValidationError(r.error.issues.map((iss) => `${prefix}${iss.path.join(".") || "(root)"}: ${iss.message}`));
    }
    return r.data;
  });
}
