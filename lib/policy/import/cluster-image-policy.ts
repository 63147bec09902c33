import { z } from "zod";
import { isDockerHubHost } from "@/lib/registry/reference";
import { asArr, asObj, asStr, finish, identityOf, looseObject, normalizePredicateType, quote, sanitizeName, splitPemKeys, type Authority, type ImportResult } from "@/lib/policy/import/common";

/**
 * sigstore policy-controller `ClusterImagePolicy` (policy.sigstore.dev v1alpha1 / v1beta1) → one Signet
 * policy with policy-controller v0.13 semantics:
 *
 * - authorities are alternatives: `signatures: { anyOf: [every authority] }`; an authority with
 *   `attestations` is satisfied only by its own attestations of every listed predicate type;
 * - transparency log per authority, as `checkOptsFromAuthority` decides: a key authority needs a Rekor
 *   entry only when it configures `ctlog`; a keyless one always, except with a `trustRootRef` and no
 *   `ctlog` (then the certificate must be valid now); `rfc3161timestamp` replaces the log; a v1beta1
 *   `ctlog` without `url` does not count (the v1beta1 → v1alpha1 conversion drops it);
 * - `static: pass|fail`, `mode` (default enforce), globs (`*` within a segment, `**` across; `*` alone is
 *   `index.docker.io/library/*`, `*` + `/` + `*` is `index.docker.io/*` + `/*`), keyless identities with
 *   their regexp forms, `keyless.trustRootRef` → trusted root of that name, `match` on pods.
 */

const cipSchema = z.object({
  apiVersion: z.string().regex(/^policy\.sigstore\.dev\//),
  kind: z.literal("ClusterImagePolicy"),
  metadata: z.object({ name: z.string().min(1).max(253) }).loose(),
  spec: z
    .object({
      images: z.array(z.object({ glob: z.string().min(1).max(1024) }).loose()).max(1000).default([]),
      authorities: z.array(looseObject).max(100).default([]),
      mode: z.enum(["enforce", "warn"]).optional(),
      policy: z.unknown().optional(),
      match: z.unknown().optional(),
    })
    .loose(),
});

/** policy-controller refuses globs outside this alphabet (pkg/apis/glob). */
const PC_GLOB = /^[a-zA-Z0-9\-_:/*.@]+$/;

function importGlob(glob: string, unsupported: string[]): string | undefined {
  if (glob === "*/*") return "index.docker.io/*/*";
  if (glob === "*") return "index.docker.io/library/*";
  if (!PC_GLOB.test(glob)) {
    unsupported.push(`images: glob ${quote(glob)} is not a valid policy-controller glob (it matches nothing there); not imported`);
    return undefined;
  }
  const first = glob.split("/")[0]!;
  if (glob.includes("/") && isDockerHubHost(first) && first.toLowerCase() !== "index.docker.io") {
    unsupported.push(
      `images: glob ${quote(glob)}: policy-controller matches Docker Hub images as index.docker.io/… only; Signet applies it to Docker Hub images in their canonical form`,
    );
  }
  if (!glob.endsWith("*")) {
    unsupported.push(
      `images: glob ${quote(glob)} ends without a wildcard: policy-controller matches it against the reference with its tag or digest (…@sha256:…), Signet also against the repository name`,
    );
  }
  return glob;
}

const POD_RESOURCES = new Set(["pods"]);

function importMatch(match: unknown, unsupported: string[]): void {
  const entries = asArr(match);
  if (match === undefined || entries.length === 0) return;
  const pods = entries.filter((m) => POD_RESOURCES.has(String(m.resource ?? "")) && !asStr(m.group) && (m.version === undefined || m.version === "v1"));
  if (pods.some((m) => m.selector === undefined)) return;
  if (pods.length) unsupported.push("spec.match: pods with a label selector is not expressible; Signet applies the policy to every pod");
  else
    unsupported.push(
      `spec.match names only ${entries.map((m) => String(m.resource ?? "?")).join(", ")}: policy-controller then checks those objects, not bare pods; Signet applies the policy to every pod`,
    );
}

export function importClusterImagePolicy(obj: unknown): ImportResult {
  const parsed = cipSchema.safeParse(obj);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return { documents: [], unsupported: [`not a ClusterImagePolicy: ${i?.path.join(".")}: ${i?.message}`] };
  }
  const cip = parsed.data;
  const v1beta1 = cip.apiVersion === "policy.sigstore.dev/v1beta1";
  const unsupported: string[] = [];
  const authorities: Authority[] = [];
  const names = new Set<string>();

  cip.spec.authorities.forEach((raw, i) => {
    // policy-controller names unnamed authorities authority-<i>
    let name = sanitizeName(asStr(raw.name) ?? `authority-${i}`, `authority-${i}`);
    if (names.has(name)) name = sanitizeName(`${name.slice(0, 50)}-${i}`, `authority-${i}`);
    names.add(name);
    const where = `authorities[${i}] (${name})`;
    const drop = (why: string) => unsupported.push(`${where}: ${why}; the authority is not imported (Signet is stricter: one alternative fewer)`);

    const st = asObj(raw.static);
    if (st) {
      const action = st.action === "pass" || st.action === "fail" ? st.action : undefined;
      if (!action) return drop(`static action ${quote(st.action)} is unknown`);
      authorities.push({ name, static: { action, ...(asStr(st.message) ? { message: asStr(st.message)!.slice(0, 500) } : {}) }, status: "active" });
      return;
    }
    if (raw.source !== undefined && asArr(raw.source).length) return drop("signatures read from another repository (source) are not supported");

    const key = asObj(raw.key);
    const keyless = asObj(raw.keyless);
    let ctlog = asObj(raw.ctlog);
    // policy-controller converts v1beta1 to v1alpha1 before using a policy and that conversion drops a
    // `ctlog` without `url` (trustRootRef alone): the log is then not required.
    if (ctlog && v1beta1 && !asStr(ctlog.url)) {
      unsupported.push(`${where}: ctlog without url is dropped by policy-controller's v1beta1 conversion; the transparency log is not required`);
      ctlog = undefined;
    }
    const tsa = asObj(raw.rfc3161timestamp);
    const bundleFormat = raw.signatureFormat === "bundle";
    let authority: Authority;

    if (key) {
      if (bundleFormat) {
        // policy-controller: "when using the new bundle format, the authority must be keyless" → every image fails it
        authorities.push({ name, static: { action: "fail", message: "signatureFormat bundle with a key authority (policy-controller refuses it)" }, status: "active" });
        return;
      }
      if (key.kms !== undefined) return drop("KMS keys (key.kms) are not readable by Signet");
      if (key.secretRef !== undefined) return drop("keys in a Secret (key.secretRef) are not readable with Signet's permissions; add the public key to Signet");
      const pem = splitPemKeys(asStr(key.data) ?? "")[0];
      if (!pem) return drop("key.data holds no PEM public key");
      const hash = asStr(key.hashAlgorithm);
      if (hash && hash.toLowerCase() !== "sha256") unsupported.push(`${where}: key.hashAlgorithm ${quote(hash)} is not honoured (Signet verifies cosign's SHA-256 signatures)`);
      authority = { name, key: { pem }, status: "active" };
    } else if (keyless) {
      if (keyless["ca-cert"] !== undefined) return drop("keyless with a CA certificate (keyless.ca-cert) is not supported; add it as a trusted root and use trustRootRef");
      const ids = asArr(keyless.identities);
      const identities = ids.map(identityOf).filter((x) => x !== undefined);
      if (identities.length === 0 || identities.length !== ids.length) return drop("keyless needs identities with issuer and subject (policy-controller refuses the policy otherwise)");
      if (keyless.insecureIgnoreSCT === true) unsupported.push(`${where}: insecureIgnoreSCT is not honoured: Signet still requires the certificate's SCT (stricter)`);
      const trustedRoot = asStr(keyless.trustRootRef) ?? "public-good";
      authority = { name, keyless: { identities, trustedRoot }, status: "active" } as Authority;
    } else {
      return drop("neither key, keyless nor static");
    }

    // Transparency log, as checkOptsFromAuthority decides.
    let requireTlog: boolean;
    if (bundleFormat) {
      requireTlog = !tsa;
    } else if (tsa && asStr(tsa.trustRootRef)) {
      requireTlog = false;
    } else {
      requireTlog = ctlog !== undefined || (keyless !== undefined && !asStr(keyless.trustRootRef));
    }
    if (tsa) unsupported.push(`${where}: rfc3161timestamp: Signet does not require the RFC 3161 timestamp policy-controller requires (looser)`);
    if (ctlog && asStr(ctlog.trustRootRef) && key) unsupported.push(`${where}: ctlog.trustRootRef ${quote(ctlog.trustRootRef)}: Signet checks Rekor entries against the trusted roots it has`);
    // policy-controller reads classic cosign layers, or only Sigstore bundles with signatureFormat: bundle
    authority = { ...authority, requireTlog, signatureFormat: bundleFormat ? "bundle" : "classic" };

    const atts = asArr(raw.attestations);
    if (atts.length) {
      const types: { predicateType: string }[] = [];
      for (const [j, a] of atts.entries()) {
        const t = asStr(a.predicateType);
        if (!t) return drop(`attestations[${j}] has no predicateType`);
        if (a.policy !== undefined) unsupported.push(`${where}: attestation ${quote(a.name ?? t)} policy (${String(asObj(a.policy)?.type ?? "?")}) is not evaluated; the predicate type only (looser)`);
        types.push({ predicateType: normalizePredicateType(t) });
      }
      authority = { ...authority, attestations: types };
    }
    authorities.push(authority);
  });

  if (cip.spec.policy !== undefined) unsupported.push("spec.policy (CUE/Rego over all authorities) is not evaluated (looser)");
  importMatch(cip.spec.match, unsupported);
  const images = cip.spec.images.map((g) => importGlob(g.glob, unsupported)).filter((g) => g !== undefined);
  if (images.length === 0) return { documents: [], unsupported: [...unsupported, "no usable images glob: the policy applies to nothing"] };
  if (authorities.length === 0) return { documents: [], unsupported: [...unsupported, "no authority could be imported"] };

  return finish(
    sanitizeName(`cip-${cip.metadata.name}`, "cip"),
    `Imported from ClusterImagePolicy ${cip.metadata.name}`.slice(0, 2000),
    {
      mode: cip.spec.mode ?? "enforce",
      scope: { images },
      authorities,
      requireTlog: false,
      require: { signatures: { anyOf: authorities.map((a) => a.name) }, attestations: [] },
    },
    unsupported,
  );
}
