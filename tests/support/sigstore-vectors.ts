/**
 * Loads the shared signature vectors (../shared/vectors) and turns each case into what discovery would
 * hand to verification: DiscoveredArtifacts built straight from the case's manifest and blob files.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { DiscoveredArtifact, DiscoveredLayer, ImageAt } from "@/lib/evidence/types";
import { COSIGN_SIGN_PREDICATE } from "@/lib/scan/facts";

export const repoRoot = path.resolve(import.meta.dirname, "../..");
export const vectorsDir = path.resolve(repoRoot, "../shared/vectors");

/** Whether the vectors are present; under CI a missing folder is an error, not a skip. */
export function vectorsAvailable(dir = vectorsDir, ci = process.env.CI): boolean {
  const present = fs.existsSync(path.join(dir, "cases.json"));
  if (!present && /^(1|true)$/i.test(ci ?? "")) {
    throw new Error(`signature vectors missing at ${dir} (CI requires them)`);
  }
  return present;
}

export interface CaseIndexEntry {
  name: string;
  scheme: "tag-sig" | "tag-att" | "referrers-fallback-tag";
  digest: string;
  repository: string;
  trust: "key" | "keyless";
  requireTlog: boolean;
  predicateType?: string;
  verdict: "verified" | "failed";
  failsAt?: string;
  derivedFrom?: string;
}

/** expected.json (the fields the tests use). */
export interface ExpectedCase {
  verdict: "verified" | "failed";
  failsAt?: string;
  policy: {
    type: "key" | "keyless";
    key?: string;
    requireTlog: boolean;
    certificateIdentity?: string;
    certificateOidcIssuer?: string;
    predicateType?: string;
  };
  signer: Record<string, unknown> & {
    keyFingerprint?: string;
    identity?: string;
    oidcIssuer?: string;
    serialNumber?: string;
    notBefore?: string;
    notAfter?: string;
    issuerDN?: string;
    matchingLayerIndex?: number;
  };
  rekor: null | {
    logIndex: number;
    integratedTime: number;
    integratedTimeISO: string;
    logID: string;
    entryKind: string;
    entryApiVersion: string;
    inclusionProofLogIndex?: number;
    treeSize?: number;
  };
  timestamps?: { rfc3161: string[] };
  statement?: { _type: string; predicateType: string };
  provenance?: Record<string, unknown>;
}

export interface VectorCase {
  index: CaseIndexEntry;
  dir: string;
  expected: ExpectedCase;
  image: ImageAt;
  artifacts: DiscoveredArtifact[];
  /** PEM of key.pub (key cases). */
  keyPem: string | null;
}

export function listCases(): CaseIndexEntry[] {
  const json = JSON.parse(fs.readFileSync(path.join(vectorsDir, "cases.json"), "utf8")) as { cases: CaseIndexEntry[] };
  return json.cases;
}

export function trustedRootPath(): string {
  return path.join(vectorsDir, "trust/public-good-trusted_root.json");
}

const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

interface Descriptor {
  mediaType: string;
  size: number;
  digest: string;
  annotations?: Record<string, string>;
  artifactType?: string;
}

interface Manifest {
  mediaType: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
  artifactType?: string;
}

function readBlob(dir: string, digest: string): Buffer {
  const bytes = fs.readFileSync(path.join(dir, "blobs/sha256", digest.slice("sha256:".length)));
  if (sha256(bytes) !== digest) throw new Error(`blob ${digest} does not match its digest`);
  return bytes;
}

function toLayers(dir: string, manifest: Manifest): DiscoveredLayer[] {
  return (manifest.layers ?? []).map((d) => ({
    digest: d.digest,
    mediaType: d.mediaType,
    size: d.size,
    annotations: d.annotations ?? {},
    content: readBlob(dir, d.digest),
  }));
}

/** Builds the artifacts discovery would return for a case (tag schema or referrers fallback tag). */
export function loadCase(name: string): VectorCase {
  const dir = path.join(vectorsDir, "cases", name);
  const index = listCases().find((c) => c.name === name);
  if (!index) throw new Error(`unknown case ${name}`);
  const expected = JSON.parse(fs.readFileSync(path.join(dir, "expected.json"), "utf8")) as ExpectedCase;
  const subject = JSON.parse(fs.readFileSync(path.join(dir, "subject.json"), "utf8")) as { repository: string; digest: string };
  const image: ImageAt = { registry: "localhost:5000", repository: subject.repository, digest: subject.digest };
  const tagFiles = fs.readdirSync(path.join(dir, "manifests")).filter((f) => f.endsWith(".json"));
  const artifacts: DiscoveredArtifact[] = [];
  for (const file of tagFiles) {
    const tag = file.slice(0, -".json".length);
    const bytes = fs.readFileSync(path.join(dir, "manifests", file));
    const manifest = JSON.parse(bytes.toString("utf8")) as Manifest;
    if (index.scheme === "referrers-fallback-tag") {
      for (const entry of manifest.manifests ?? []) {
        const childBytes = fs.readFileSync(path.join(dir, "manifests/sha256", `${entry.digest.slice("sha256:".length)}.json`));
        if (sha256(childBytes) !== entry.digest || childBytes.length !== entry.size) throw new Error("referrer manifest mismatch");
        const child = JSON.parse(childBytes.toString("utf8")) as Manifest;
        artifacts.push({
          kind: "bundle",
          source: "referrers-tag",
          tag,
          manifestDigest: entry.digest,
          manifestMediaType: child.mediaType,
          artifactType: child.artifactType ?? child.config?.mediaType,
          subjectDigest: child.subject?.digest,
          annotations: child.annotations ?? {},
          layers: toLayers(dir, child),
        });
      }
    } else {
      artifacts.push({
        kind: tag.endsWith(".att") ? "attestation" : "signature",
        source: "tag",
        tag,
        manifestDigest: sha256(bytes),
        manifestMediaType: manifest.mediaType,
        annotations: manifest.annotations ?? {},
        layers: toLayers(dir, manifest),
      });
    }
  }
  const keyPath = path.join(dir, "key.pub");
  return { index, dir, expected, image, artifacts, keyPem: fs.existsSync(keyPath) ? fs.readFileSync(keyPath, "utf8") : null };
}

/** The Signet policy document equivalent to a case's expected.json policy (YAML). */
export function signetPolicyFor(c: VectorCase): string {
  const p = c.expected.policy;
  const authority =
    p.type === "key"
      ? `{ name: signer, key: { pem: ${JSON.stringify(c.keyPem)} } }`
      : `{ name: signer, keyless: { identities: [ { issuer: ${JSON.stringify(p.certificateOidcIssuer)}, subject: ${JSON.stringify(p.certificateIdentity)} } ] } }`;
  // a bundle carrying the cosign image-signature predicate is a signature, not an attestation
  const attestation = p.predicateType && p.predicateType !== COSIGN_SIGN_PREDICATE;
  const require = attestation
    ? `{ signatures: [], attestations: [ { predicateType: ${JSON.stringify(p.predicateType)} } ] }`
    : "{ signatures: { anyOf: [signer] } }";
  return `apiVersion: signet.dev/v1
kind: Policy
metadata: { name: vector }
spec:
  mode: enforce
  requireTlog: ${p.requireTlog}
  authorities: [ ${authority} ]
  require: ${require}
`;
}
