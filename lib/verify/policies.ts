/**
 * Policy files and trusted roots as the CLI (and any other caller without a database) loads them:
 * every document of a Signet policy file compiled once, custom trusted_root.json files named after
 * their file.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { candidateKeys, compilePolicy, PolicyCompileError, type CompiledPolicy } from "@/lib/policy/compile";
import { imageInScope } from "@/lib/policy/image-scope";
import { parsePolicyDocuments, PolicyValidationError } from "@/lib/policy/schema";
import { loadPublicGoodTrustRoot, parseTrustedRoot, PUBLIC_GOOD_ID, TrustRootError, type TrustRoot } from "@/lib/sigstore";

export { PolicyCompileError, PolicyValidationError, TrustRootError };

/** A policy file that cannot be used (syntax, schema, a key that does not parse, a stored-key reference). */
export class PolicyFileError extends Error {
  override readonly name = "PolicyFileError";
}

/**
 * Every document of a policy file (YAML, several documents allowed, or JSON), compiled. Stored-key
 * references (`key: { ref }`) need Signet's database and are refused here: a policy is never evaluated
 * with an authority silently missing. Document names must be unique within the file.
 */
export function compilePolicyFile(text: string, file = "(policy)"): CompiledPolicy[] {
  let docs;
  try {
    docs = parsePolicyDocuments(text);
  } catch (err) {
    if (err instanceof PolicyValidationError) throw new PolicyFileError(`${file}: ${err.message}`);
    throw err;
  }
  const seen = new Set<string>();
  return docs.map((doc) => {
    const name = doc.metadata.name;
    if (seen.has(name)) throw new PolicyFileError(`${file}: two documents are named "${name}"`);
    seen.add(name);
    try {
      return compilePolicy(name, 1, doc.spec, (ref) => {
        throw new PolicyCompileError(`authority key ref "${ref}" names a key stored in Signet; outside the server, give the key inline (key: { pem })`);
      });
    } catch (err) {
      if (err instanceof PolicyCompileError) throw new PolicyFileError(`${file}: policy ${name}: ${err.message}`);
      throw err;
    }
  });
}

export async function readPolicyFile(file: string): Promise<CompiledPolicy[]> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    throw new PolicyFileError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return compilePolicyFile(text, file);
}

/**
 * Whether a policy applies to an image outside a cluster: only `scope.images` is matched (against
 * "registry/repository" and the reference as given). Cluster, namespace and namespace-label scope need
 * a running pod and are not considered.
 */
export function appliesToImage(policy: CompiledPolicy, imageName: string, imageRef?: string): boolean {
  return imageInScope(policy.spec.scope.images, imageName, imageRef);
}

/** Candidate keys of some policies for verifyArtifacts: keyId "<policy>/<authority>". */
export { candidateKeys };

const ROOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * The name of a custom trusted root given as `[NAME=]FILE`: NAME when given, else the file name
 * without its `.json` extension ("/etc/sigstore/staging.json" → "staging"). Policies refer to it as
 * `keyless.trustedRoot`. The name "public-good" replaces the built-in public-good root.
 */
export function trustedRootSpec(arg: string): { name: string; file: string } {
  const eq = arg.indexOf("=");
  if (eq > 0 && ROOT_NAME.test(arg.slice(0, eq))) return { name: arg.slice(0, eq), file: arg.slice(eq + 1) };
  const name = path.basename(arg).replace(/\.json$/i, "");
  if (!ROOT_NAME.test(name)) throw new TrustRootError(`cannot derive a trusted-root name from ${arg}; write NAME=${arg}`);
  return { name, file: arg };
}

/**
 * The public-good root (offline seed) plus custom roots from files. Two files with the same name are
 * refused; a file named public-good replaces the seed.
 */
export async function loadTrustRoots(args: readonly string[]): Promise<TrustRoot[]> {
  const custom = new Map<string, TrustRoot>();
  for (const arg of args) {
    const { name, file } = trustedRootSpec(arg);
    if (custom.has(name)) throw new TrustRootError(`two trusted roots are named "${name}"`);
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(file);
    } catch (err) {
      throw new TrustRootError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      custom.set(name, parseTrustedRoot(bytes, { id: name, source: "file" }));
    } catch (err) {
      throw new TrustRootError(`${file}: ${(err as Error).message}`);
    }
  }
  const roots = custom.has(PUBLIC_GOOD_ID) ? [] : [loadPublicGoodTrustRoot()];
  return [...roots, ...custom.values()];
}

/** "policy/authority: trusted root "x" is not loaded" for every keyless authority naming a root that is not in `roots`. */
export function missingTrustedRoots(policies: readonly CompiledPolicy[], roots: readonly TrustRoot[]): string[] {
  const loaded = new Set(roots.map((r) => r.id));
  return policies.flatMap((p) =>
    p.spec.authorities
      .filter((a) => a.keyless && !loaded.has(a.keyless.trustedRoot))
      .map((a) => `policy ${p.name}, authority ${a.name}: trusted root "${a.keyless!.trustedRoot}" is not loaded (add --trusted-root ${a.keyless!.trustedRoot}=FILE)`),
  );
}
