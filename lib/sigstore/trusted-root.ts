/**
 * Trust material: Sigstore trusted_root.json files (protobuf-specs JSON), zod-validated, turned into
 * sigstore-js TrustMaterial once and reused for every verification.
 *
 * - `loadPublicGoodTrustRoot()` — the public-good root shipped offline inside @sigstore/tuf (seeds.json).
 * - `parseTrustedRoot(json)` — a custom root for a private Sigstore deployment.
 * - lib/trust/tuf.ts — the worker's TUF refresh; lib/trust/trusted-roots.ts — the roots in force.
 */
import { createRequire } from "node:module";
import { TrustedRoot } from "@sigstore/protobuf-specs";
import { toTrustMaterial, type TrustMaterial } from "@sigstore/verify";
import { z } from "zod";
import { LIMITS } from "./limits";
import { decodeBase64, dropJsonNulls, MalformedError, parseJson, parseWith, sha256Hex } from "./encoding";

/** A usable trust root. `material.publicKey` refuses every hint: keys come from policies, per call. */
export interface TrustRoot {
  /** Caller-chosen id recorded on evidence (e.g. "public-good" or a TrustedRoot row id). */
  id: string;
  source: "seed" | "file" | "tuf";
  /** sha256 of the trusted_root.json bytes. */
  sha256: string;
  mediaType: string;
  root: TrustedRoot;
  material: TrustMaterial;
  /** logID hex → baseUrl of every transparency log, for evidence facts. */
  tlogUrls: ReadonlyMap<string, string>;
}

/** A trusted_root.json that cannot be used; `problems` lists what is wrong. */
export class TrustRootError extends Error {
  override readonly name = "TrustRootError";
}

export const PUBLIC_GOOD_ID = "public-good";
export const PUBLIC_GOOD_MIRROR = "https://tuf-repo-cdn.sigstore.dev";

const MEDIA_TYPES = [
  "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
  "application/vnd.dev.sigstore.trustedroot.v0.1+json",
  "application/vnd.dev.sigstore.trustedroot.v0.2+json",
] as const;

const isoTime = z.string().max(64).refine((s) => !Number.isNaN(Date.parse(s)), "not a timestamp");
const b64 = (max: number) => z.string().min(1).max(max);
const validFor = z.object({ start: isoTime, end: isoTime.optional() }).loose();

const logSchema = z.object({
  baseUrl: z.string().min(1).max(2048),
  hashAlgorithm: z.string().max(64).optional(),
  publicKey: z.object({ rawBytes: b64(16 * 1024), keyDetails: z.string().min(1).max(128), validFor }).loose(),
  logId: z.object({ keyId: b64(1024) }).loose(),
  checkpointKeyId: z.object({ keyId: b64(1024) }).loose().optional(),
}).loose();

const authoritySchema = z.object({
  subject: z.object({ organization: z.string().max(1024).optional(), commonName: z.string().max(1024).optional() }).loose().optional(),
  uri: z.string().max(2048).optional(),
  certChain: z.object({ certificates: z.array(z.object({ rawBytes: b64(64 * 1024) }).loose()).min(1).max(10) }).loose(),
  validFor,
}).loose();

/**
 * zod schema of trusted_root.json (the parts sigstore-js reads, all required to be well-formed). Read as
 * protobuf JSON: `null` members are unset fields.
 */
export const trustedRootSchema = z.preprocess(
  (value) => dropJsonNulls(value),
  z.object({
    mediaType: z.enum(MEDIA_TYPES),
    tlogs: z.array(logSchema).max(32).default([]),
    certificateAuthorities: z.array(authoritySchema).max(32).default([]),
    ctlogs: z.array(logSchema).max(32).default([]),
    timestampAuthorities: z.array(authoritySchema).max(32).default([]),
  }).loose(),
);

/** Parses and validates a trusted_root.json; throws TrustRootError with a readable message. */
export function parseTrustedRoot(json: Buffer | string, options: { id: string; source?: TrustRoot["source"] }): TrustRoot {
  const bytes = typeof json === "string" ? Buffer.from(json, "utf8") : json;
  let parsed: z.output<typeof trustedRootSchema>;
  try {
    parsed = parseWith(trustedRootSchema, parseJson(bytes, "trustedRoot", LIMITS.trustedRootBytes), "trustedRoot");
    for (const [i, log] of [...parsed.tlogs, ...parsed.ctlogs].entries()) {
      decodeBase64(log.publicKey.rawBytes, `trustedRoot.log${i}.publicKey`, 16 * 1024);
      decodeBase64(log.logId.keyId, `trustedRoot.log${i}.logId`, 1024);
    }
    for (const [i, ca] of [...parsed.certificateAuthorities, ...parsed.timestampAuthorities].entries()) {
      for (const cert of ca.certChain.certificates) decodeBase64(cert.rawBytes, `trustedRoot.authority${i}.certChain`, 64 * 1024);
    }
  } catch (err) {
    throw new TrustRootError(`invalid trusted root: ${err instanceof Error ? err.message : "unreadable"}`);
  }
  let root: TrustedRoot;
  let material: TrustMaterial;
  try {
    root = TrustedRoot.fromJSON(parsed);
    // Keys are never looked up by hint here: key-based verification supplies its own finder per candidate.
    material = toTrustMaterial(root, () => {
      throw new MalformedError("publicKey", "no key material for this hint");
    });
  } catch (err) {
    throw new TrustRootError(`unusable trusted root: ${err instanceof Error ? err.message : "unreadable key or certificate"}`);
  }
  const tlogUrls = new Map<string, string>();
  for (const tlog of material.tlogs) tlogUrls.set(tlog.logID.toString("hex"), tlog.baseURL);
  return {
    id: options.id,
    source: options.source ?? "file",
    sha256: sha256Hex(bytes),
    mediaType: parsed.mediaType,
    root,
    material,
    tlogUrls,
  };
}

const seedsSchema = z.record(
  z.string(),
  z.object({ "root.json": z.string(), targets: z.record(z.string(), z.string()) }).loose(),
);

/** The trusted_root.json bytes shipped in @sigstore/tuf's seeds.json for the public-good TUF mirror. */
export function readPublicGoodSeedBytes(): Buffer {
  const require = createRequire(import.meta.url);
  const seeds = parseWith(seedsSchema, require("@sigstore/tuf/seeds.json"), "seeds.json");
  const target = seeds[PUBLIC_GOOD_MIRROR]?.targets["trusted_root.json"];
  if (!target) throw new TrustRootError("@sigstore/tuf seeds.json has no public-good trusted_root.json");
  return decodeBase64(target, "seeds.json", LIMITS.trustedRootBytes);
}

let publicGood: TrustRoot | undefined;

/** The Sigstore public-good trusted root, offline (only as fresh as the installed @sigstore/tuf). */
export function loadPublicGoodTrustRoot(): TrustRoot {
  publicGood ??= parseTrustedRoot(readPublicGoodSeedBytes(), { id: PUBLIC_GOOD_ID, source: "seed" });
  return publicGood;
}

/** A root with no authorities: lets key-only evidence run through the same verifier. */
export const EMPTY_TRUST_MATERIAL: TrustMaterial = {
  certificateAuthorities: [],
  timestampAuthorities: [],
  tlogs: [],
  ctlogs: [],
  publicKey: () => {
    throw new MalformedError("publicKey", "no key material for this hint");
  },
};
