import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import { parseArgs } from "node:util";
import type { Command } from "@/cli/commands/types";
import { loadPublicGoodTrustRoot, parsePublicKey, parseTrustedRoot, type TrustRoot } from "@/lib/sigstore";
import { hashFile, trustedRootSpec, verifyBundle, type BundleArtifact, type BundleTrustPolicy } from "@/lib/verify";

const USAGE = "verify-bundle --bundle F (--key K | --certificate-identity I --certificate-oidc-issuer U) ARTIFACT";

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const MAX_BUNDLE_BYTES = 4 * 1024 * 1024;

/** Whether the bundle is (or may be) a message signature, whose verification needs the artifact's bytes. */
function needsBytes(bundle: Buffer): boolean {
  try {
    return (JSON.parse(bundle.toString("utf8")) as { dsseEnvelope?: unknown }).dsseEnvelope === undefined;
  } catch {
    return true;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/** `signet verify-bundle`: does a Sigstore bundle verify for this blob or digest? (exit 0 yes, 1 no, 2 unreadable input) */
export const verifyBundleCommand: Command = {
  name: "verify-bundle",
  usage: USAGE,
  summary: "verify a Sigstore bundle for a file or a sha256 digest (exit 0 verified, 1 not verified, 2 error)",
  help: [
    "ARTIFACT is a file (hashed with sha256) or a digest sha256:<64 hex> (sigstore-conformance's FILE_OR_DIGEST).",
    "The bundle may be v0.1–v0.3, with a message signature or a DSSE envelope (an in-toto statement: one",
    "subject's sha256 must be the artifact's digest; a file or a digest). A message signature is checked over",
    "the file's bytes, or from the digest alone when the signer is an ECDSA key and the bundle's message digest",
    "is SHA-256 (ECDSA signs that digest itself); Ed25519 and RSA signatures need the file.",
    "",
    "Options:",
    "  --bundle FILE                  the Sigstore bundle JSON (cosign sign-blob --bundle, attest-blob, …)",
    "  --key FILE                     the signer's PEM public key, or:",
    "  --certificate-identity ID      the certificate's identity (SAN), exact",
    "  --certificate-oidc-issuer URL  the certificate's OIDC issuer, exact",
    "  --trusted-root FILE            trusted_root.json to verify certificates, Rekor entries and timestamps",
    "                                 against (repeatable; default: the Sigstore public-good root)",
    "  --require-tlog                 a verified Rekor entry is mandatory (keyless always needs a Rekor entry",
    "                                 or an RFC 3161 timestamp; a key-signed bundle without one is accepted)",
    "  --json                         print the result as JSON",
    "",
    "A Rekor entry or timestamp present in the bundle must verify. Exit codes: 0 verified, 1 not verified",
    "(the reasons are printed), 2 unreadable input (bundle, key, trusted root or file), 64 usage.",
  ].join("\n"),
  async run(args) {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        options: {
          bundle: { type: "string" },
          key: { type: "string" },
          "certificate-identity": { type: "string" },
          "certificate-oidc-issuer": { type: "string" },
          "trusted-root": { type: "string", multiple: true, default: [] },
          "require-tlog": { type: "boolean", default: false },
          json: { type: "boolean", default: false },
        },
      });
    } catch (err) {
      process.stderr.write(`signet verify-bundle: ${(err as Error).message}\nUsage: signet ${USAGE}\n`);
      return 64;
    }
    const { values, positionals } = parsed;
    const usage = (message: string) => {
      process.stderr.write(`signet verify-bundle: ${message}\nUsage: signet ${USAGE}\n`);
      return 64;
    };
    const error = (message: string) => {
      process.stderr.write(`signet verify-bundle: ${message}\n`);
      return 2;
    };
    if (positionals.length !== 1) return usage("expected one file or sha256:<hex> digest");
    if (!values.bundle) return usage("--bundle FILE is required");
    const identity = values["certificate-identity"];
    const issuer = values["certificate-oidc-issuer"];
    if (values.key !== undefined && (identity !== undefined || issuer !== undefined)) return usage("give either --key or --certificate-identity with --certificate-oidc-issuer");
    if (values.key === undefined && (identity === undefined || issuer === undefined)) return usage("give --key, or both --certificate-identity and --certificate-oidc-issuer");

    let policy: BundleTrustPolicy;
    let bundle: Buffer;
    let artifact: BundleArtifact;
    let trust: TrustRoot[];
    try {
      if (values.key !== undefined) {
        const pem = await fs.readFile(values.key, "utf8").catch((err: NodeJS.ErrnoException) => {
          throw new Error(`cannot read ${values.key}: ${err.code ?? err.message}`);
        });
        try {
          parsePublicKey(pem);
        } catch (err) {
          throw new Error(`${values.key}: ${(err as Error).message}`);
        }
        policy = { key: pem };
      } else {
        policy = { identity: identity!, issuer: issuer! };
      }
      const stat = await fs.stat(values.bundle).catch((err: NodeJS.ErrnoException) => {
        throw new Error(`cannot read ${values.bundle}: ${err.code ?? err.message}`);
      });
      if (stat.size > MAX_BUNDLE_BYTES) throw new Error(`${values.bundle} is larger than ${MAX_BUNDLE_BYTES} bytes`);
      bundle = await fs.readFile(values.bundle);
      const target = positionals[0]!;
      if (DIGEST.test(target) && !(await exists(target))) {
        artifact = { kind: "digest", digest: target };
      } else {
        if (!(await exists(target))) throw new Error(`${target} is neither a file nor a sha256:<64 hex> digest`);
        // Only a message signature needs the bytes in memory; for DSSE the (streamed) digest is the artifact.
        if (needsBytes(bundle)) {
          const bytes = await fs.readFile(target);
          artifact = { kind: "file", bytes, digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}` };
        } else {
          artifact = { kind: "digest", digest: await hashFile(target) };
        }
      }
      trust = [];
      for (const arg of values["trusted-root"]) {
        const { name, file } = trustedRootSpec(arg);
        const json = await fs.readFile(file).catch((err: NodeJS.ErrnoException) => {
          throw new Error(`cannot read ${file}: ${err.code ?? err.message}`);
        });
        trust.push(parseTrustedRoot(json, { id: name, source: "file" }));
      }
      if (trust.length === 0) trust.push(loadPublicGoodTrustRoot());
    } catch (err) {
      return error((err as Error).message);
    }

    const result = verifyBundle({ bundle, artifact, policy, trust, requireTlog: values["require-tlog"] });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      const out = [`artifact: ${positionals[0]} (${result.artifactDigest})`, `bundle: ${values.bundle} (${result.mediaType ?? "unreadable"}, ${result.content ?? "?"})`];
      out.push(`result: ${result.ok ? "verified" : "not verified"}`);
      const s = result.signer;
      if (s?.kind === "key") out.push(`signer: key ${s.fingerprint}`);
      if (s?.kind === "keyless") out.push(`signer: identity ${s.identity}, issuer ${s.issuer ?? "(none)"}, trusted root ${result.trustRootId ?? "?"}`);
      if (result.tlog) out.push(`rekor: log index ${result.tlog.logIndex}, integrated ${result.tlog.integratedTimeISO}${result.tlog.verifiedSet || result.tlog.verifiedInclusionProof ? "" : " (not verified)"}`);
      for (const t of result.timestamps) out.push(`RFC 3161 timestamp: ${t.time}${t.verified ? "" : " (not verified)"}`);
      if (result.statement) out.push(`statement: ${result.statement.predicateType}`);
      for (const r of result.reasons) out.push(`reason ${r.code}: ${r.message}`);
      process.stdout.write(`${out.join("\n")}\n`);
    }
    return result.ok ? 0 : 1;
  },
};
