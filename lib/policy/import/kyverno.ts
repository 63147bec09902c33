import { z } from "zod";
import type { LabelSelector, SignatureClause } from "@/lib/policy/schema";
import { isDockerHubHost } from "@/lib/registry/reference";
import {
  asArr,
  asObj,
  asStr,
  finish,
  identityOf,
  looseObject,
  normalizePredicateType,
  quote,
  sanitizeName,
  splitPemKeys,
  type Attestation,
  type Authority,
  type Identity,
  type ImportResult,
} from "@/lib/policy/import/common";

/**
 * Kyverno image verification → Signet policies, with Kyverno's semantics:
 *
 * - `ClusterPolicy` / `Policy` (kyverno.io/v1) `verifyImages`: one policy per entry. Attestor sets must
 *   all hold; within a set `count` entries (default: all). Image patterns use Kyverno's wildcard (`*` any
 *   run, "/" included; `?` one character), matched against the normalized reference (Docker Hub as
 *   `docker.io/library/x`), so they are imported as Signet globs with `*` → `**`.
 * - `ImageValidatingPolicy` (policies.kyverno.io v1alpha1 / v1beta1 / v1, Kyverno 1.14+): attestors by
 *   name; `matchImageReferences[].glob` (gobwas glob: `*` crosses "/") and the CEL `validations` of the
 *   forms Kyverno documents (`images.containers.map(image, verifyImageSignatures(image,
 *   [attestors.a, …])).all(e, e > 0)`, the same with `verifyAttestationSignatures(image,
 *   attestations.x, [...])`, and `… >= K`) become signature clauses and attestation requirements.
 *
 * Transparency log and SCT default to required (`rekor.ignoreTlog` / `ctlog.ignoreSCT` false, IVP
 * `ctlog.insecureIgnoreTlog` / `insecureIgnoreSCT` false); ignoring the log is kept per authority.
 */

/** Kyverno wildcard / gobwas glob → Signet glob. Returns undefined (and says why) when not expressible. */
function importPattern(p: string, where: string, unsupported: string[], dialect: "wildcard" | "gobwas"): string | undefined {
  if (dialect === "gobwas" && /[[\]{}\\]/.test(p)) {
    unsupported.push(`${where}: glob ${quote(p)} uses character classes, alternatives or escapes, not expressible; not imported`);
    return undefined;
  }
  const first = p.split("/")[0]!;
  if (dialect === "gobwas" && p.includes("/") && isDockerHubHost(first)) {
    unsupported.push(`${where}: glob ${quote(p)}: Kyverno matches the image as the pod spec writes it; Signet applies it to the Docker Hub image however it is written`);
  }
  // Kyverno's "*" crosses "/": a run of stars is Signet's "**".
  return p.replace(/\*+/g, "**");
}

function modeOf(action: unknown): "enforce" | "audit" {
  return typeof action === "string" && action.toLowerCase() === "enforce" ? "enforce" : "audit";
}

/** Kyverno's wildcard (`*` any run, `?` one character) as an anchored regular expression. */
function wildcardRegExp(w: string): string {
  return `^${w.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`;
}

/**
 * A ClusterPolicy keyless entry's identity: `subject` / `issuer` are Kyverno wildcards (exact when they
 * hold none), `subjectRegExp` / `issuerRegExp` regexps; an absent one accepts anything, as in Kyverno.
 */
function kyvernoIdentity(k: Record<string, unknown>, at: string, unsupported: string[]): Identity {
  const part = (exact: string | undefined, re: string | undefined, what: string) => {
    if (exact !== undefined) return /[*?]/.test(exact) ? { [`${what}RegExp`]: wildcardRegExp(exact) } : { [what]: exact };
    if (re !== undefined) return { [`${what}RegExp`]: re };
    unsupported.push(`${at}: keyless without ${what}: Kyverno accepts any ${what}, and so does the import`);
    return { [`${what}RegExp`]: ".*" };
  };
  if (asStr(k.subject) && asStr(k.subjectRegExp)) unsupported.push(`${at}: subject and subjectRegExp both set: Kyverno accepts either; imported as subject`);
  if (asStr(k.issuer) && asStr(k.issuerRegExp)) unsupported.push(`${at}: issuer and issuerRegExp both set; imported as issuer`);
  return { ...part(asStr(k.issuer), asStr(k.issuerRegExp), "issuer"), ...part(asStr(k.subject), asStr(k.subjectRegExp), "subject") } as Identity;
}

/** Transparency-log / SCT settings of a ClusterPolicy attestor entry (keys or keyless). */
function clusterPolicyTlog(o: Record<string, unknown>, where: string, unsupported: string[]): boolean {
  const rekor = asObj(o.rekor);
  const ctlog = asObj(o.ctlog);
  if (ctlog?.ignoreSCT === true) unsupported.push(`${where}: ctlog.ignoreSCT is not honoured: Signet still requires the certificate's SCT (stricter)`);
  if (asStr(rekor?.pubkey) || asStr(ctlog?.pubkey)) unsupported.push(`${where}: custom Rekor / CT log public keys are not imported; Signet checks against its trusted roots`);
  if (asStr(ctlog?.tsaCertChain)) unsupported.push(`${where}: ctlog.tsaCertChain is not imported`);
  return rekor?.ignoreTlog !== true;
}

interface Built {
  authorities: Authority[];
  clauses: SignatureClause[];
  /** All authority names, in order. */
  names: string[];
}

/** ClusterPolicy attestor sets → authorities and one clause per set. */
function clusterPolicyAttestors(sets: unknown, prefix: string, where: string, unsupported: string[]): Built {
  const out: Built = { authorities: [], clauses: [], names: [] };
  asArr(sets).forEach((set, si) => {
    const names: string[] = [];
    const entries = asArr(set.entries);
    entries.forEach((entry, ei) => {
      const base = sanitizeName(`${prefix}-s${si}-e${ei}`, `a-${si}-${ei}`);
      const at = `${where} attestor ${base}`;
      const keys = asObj(entry.keys);
      const keyless = asObj(entry.keyless);
      if (entry.attestor !== undefined) return unsupported.push(`${at}: nested attestor sets are not expressible; not imported`);
      if (entry.certificates !== undefined) return unsupported.push(`${at}: certificate attestors are not supported; not imported`);
      if (keys) {
        if (keys.kms !== undefined) return unsupported.push(`${at}: KMS keys are not readable by Signet; not imported`);
        if (keys.secret !== undefined) return unsupported.push(`${at}: keys in a Secret are not readable with Signet's permissions; not imported`);
        const algo = asStr(keys.signatureAlgorithm);
        if (algo && algo !== "sha256") unsupported.push(`${at}: signatureAlgorithm ${quote(algo)} is not honoured`);
        const pems = splitPemKeys(asStr(keys.publicKeys) ?? "");
        if (!pems.length) return unsupported.push(`${at}: publicKeys holds no PEM public key; not imported`);
        const requireTlog = clusterPolicyTlog(keys, at, unsupported);
        const group: string[] = [];
        pems.forEach((pem, ki) => {
          const n = pems.length > 1 ? sanitizeName(`${base}-k${ki}`, base) : base;
          out.authorities.push({ name: n, key: { pem }, requireTlog, status: "active" });
          group.push(n);
        });
        if (group.length > 1 && entries.length > 1) {
          unsupported.push(`${at}: an entry of several keys inside a set of several entries is not expressible; imported as its first key (stricter)`);
          names.push(group[0]!);
        } else names.push(...group);
        return;
      }
      if (keyless) {
        const id = kyvernoIdentity(keyless, at, unsupported);
        if (keyless.roots !== undefined) return unsupported.push(`${at}: keyless with custom roots is not supported; add a trusted root; not imported`);
        if (keyless.additionalExtensions !== undefined) unsupported.push(`${at}: additionalExtensions are not imported (looser)`);
        const requireTlog = clusterPolicyTlog(keyless, at, unsupported);
        out.authorities.push({ name: base, keyless: { identities: [id], trustedRoot: "public-good" }, requireTlog, status: "active" } as Authority);
        names.push(base);
        return;
      }
      unsupported.push(`${at}: neither keys nor keyless; not imported`);
    });
    if (names.length === 0) return;
    if (names.length !== entries.length && set.count === undefined) unsupported.push(`${where}: attestor set ${si}: some entries were not imported and Kyverno needs all of them; Signet needs the imported ones only (looser)`);
    const count = typeof set.count === "number" && set.count >= 1 ? Math.floor(set.count) : undefined;
    if (count !== undefined && count > names.length) unsupported.push(`${where}: attestor set ${si}: count ${count} of ${names.length} importable entries; imported as all of them`);
    // one entry of several keys: any key satisfies it
    const anyKey = entries.length === 1 && names.length > 1;
    out.clauses.push(anyKey ? { anyOf: names } : count !== undefined && count < names.length ? { atLeast: count, of: names } : names.length === 1 ? { anyOf: names } : { allOf: names });
    out.names.push(...names);
  });
  return out;
}

const kyvernoSchema = z.object({
  apiVersion: z.string().regex(/^kyverno\.io\//),
  kind: z.enum(["ClusterPolicy", "Policy"]),
  metadata: z.object({ name: z.string().min(1).max(253), namespace: z.string().max(253).optional() }).loose(),
  spec: z.object({ validationFailureAction: z.string().optional(), rules: z.array(looseObject).max(1000).default([]) }).loose(),
});

/** Namespaces a rule's `match` names (any / all / resources forms); undefined = all. */
function matchedNamespaces(match: unknown): string[] | undefined {
  const m = asObj(match);
  if (!m) return undefined;
  const blocks = [...asArr(m.any), ...asArr(m.all), ...(m.resources ? [m] : [])];
  const names = blocks.flatMap((b) => z.array(z.string()).safeParse(asObj(b.resources)?.namespaces).data ?? []);
  return names.length ? names : undefined;
}

export function importKyvernoPolicy(obj: unknown): ImportResult {
  const kind = asObj(obj)?.kind;
  if (kind === "ImageValidatingPolicy" || kind === "NamespacedImageValidatingPolicy") return importImageValidatingPolicy(obj);
  const parsed = kyvernoSchema.safeParse(obj);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return { documents: [], unsupported: [`not a Kyverno policy: ${i?.path.join(".")}: ${i?.message}`] };
  }
  const pol = parsed.data;
  const documents: ImportResult["documents"] = [];
  const unsupported: string[] = [];
  pol.spec.rules.forEach((rule, ri) => {
    const ruleName = asStr(rule.name) ?? `rule-${ri}`;
    const verifyImages = asArr(rule.verifyImages);
    if (rule.exclude !== undefined) unsupported.push(`rule ${ruleName}: exclude is not imported (Signet applies the rule more widely)`);
    verifyImages.forEach((vi, vj) => {
      const where = `rule ${ruleName} verifyImages[${vj}]`;
      const local: string[] = [];
      const type = asStr(vi.type) ?? "Cosign";
      if (!["cosign", "sigstorebundle"].includes(type.toLowerCase())) return unsupported.push(`${where}: type ${quote(type)} is not supported`);
      if (vi.skipImageReferences !== undefined) local.push(`${where}: skipImageReferences is not imported (Signet applies the rule to those images too)`);
      if (asStr(vi.repository)) local.push(`${where}: signatures in another repository (repository) are not supported`);
      const prefix = sanitizeName(`${ruleName}-${vj}`, `r${ri}-${vj}`);
      const sig = clusterPolicyAttestors(vi.attestors, prefix, where, local);
      const authorities = [...sig.authorities];
      const attestations: Attestation[] = [];
      asArr(vi.attestations).forEach((a, ai) => {
        const t = asStr(a.predicateType) ?? asStr(a.type);
        if (!t) return local.push(`${where}: attestation ${ai} without type`);
        const own = clusterPolicyAttestors(a.attestors, `${prefix}-att${ai}`, `${where} attestation ${ai}`, local);
        authorities.push(...own.authorities);
        if (own.clauses.some((c) => !("anyOf" in c)) || own.clauses.length > 1) local.push(`${where}: attestation ${quote(t)}: several attestors must sign it in Kyverno; Signet needs one of them (looser)`);
        if (a.conditions !== undefined) local.push(`${where}: attestation ${quote(t)} conditions are not evaluated; the predicate type only (looser)`);
        attestations.push({ predicateType: normalizePredicateType(t), ...(own.names.length ? { signedBy: own.names } : {}) });
      });
      const rawImages = z.array(z.string().min(1).max(1024)).safeParse(vi.imageReferences).data ?? (asStr(vi.image) ? [asStr(vi.image)!] : ["*"]);
      const images = rawImages.map((p) => importPattern(p, where, local, "wildcard")).filter((g) => g !== undefined);
      const namespaces = matchedNamespaces(rule.match);
      const result = finish(
        sanitizeName(`kyverno-${pol.metadata.name}-${ruleName}${verifyImages.length > 1 ? `-${vj}` : ""}`, "kyverno"),
        `Imported from Kyverno ${pol.kind} ${pol.metadata.namespace ? `${pol.metadata.namespace}/` : ""}${pol.metadata.name}, rule ${ruleName}`.slice(0, 2000),
        {
          mode: modeOf(vi.failureAction ?? rule.validationFailureAction ?? pol.spec.validationFailureAction),
          scope: { images, ...(pol.kind === "Policy" && pol.metadata.namespace ? { namespaces: [pol.metadata.namespace] } : namespaces ? { namespaces } : {}) },
          authorities,
          requireTlog: false,
          require: { signatures: sig.clauses, attestations },
        },
        local,
      );
      documents.push(...result.documents);
      unsupported.push(...result.unsupported);
    });
  });
  return { documents, unsupported };
}

// --- ImageValidatingPolicy --------------------------------------------------------------------------

const ivpSchema = z.object({
  apiVersion: z.string().regex(/^policies\.kyverno\.io\//),
  kind: z.enum(["ImageValidatingPolicy", "NamespacedImageValidatingPolicy"]),
  metadata: z.object({ name: z.string().min(1).max(253), namespace: z.string().max(253).optional() }).loose(),
  spec: z
    .object({
      matchImageReferences: z.array(looseObject).max(1000).default([]),
      attestors: z.array(looseObject).max(100).default([]),
      attestations: z.array(looseObject).max(100).default([]),
      validations: z.array(looseObject).max(100).default([]),
      validationActions: z.array(z.string()).max(10).optional(),
      matchConstraints: z.unknown().optional(),
    })
    .loose(),
});

function ivpAuthority(a: Record<string, unknown>, name: string, where: string, unsupported: string[]): Authority | undefined {
  if (a.notary !== undefined) return void unsupported.push(`${where}: Notary attestors are not supported; not imported`);
  const cosign = asObj(a.cosign);
  if (!cosign) return void unsupported.push(`${where}: no cosign attestor; not imported`);
  for (const f of ["source", "tuf", "certificate", "trustedRoot"] as const) {
    if (cosign[f] !== undefined) return void unsupported.push(`${where}: cosign.${f} is not supported; not imported`);
  }
  if (cosign.annotations !== undefined) unsupported.push(`${where}: cosign.annotations are not checked (looser)`);
  const ctlog = asObj(cosign.ctlog) ?? {};
  if (ctlog.insecureIgnoreSCT === true) unsupported.push(`${where}: ctlog.insecureIgnoreSCT is not honoured: Signet still requires the certificate's SCT (stricter)`);
  if (asStr(ctlog.rekorPubKey) || asStr(ctlog.ctLogPubKey) || asStr(ctlog.tsaCertChain)) unsupported.push(`${where}: custom Rekor / CT log / TSA keys are not imported; Signet checks against its trusted roots`);
  const requireTlog = ctlog.insecureIgnoreTlog !== true;
  const key = asObj(cosign.key);
  const keyless = asObj(cosign.keyless);
  if (key) {
    if (key.kms !== undefined || key.expression !== undefined) return void unsupported.push(`${where}: KMS or CEL-expression keys are not supported; not imported`);
    const pem = splitPemKeys(asStr(key.data) ?? "")[0];
    if (!pem) return void unsupported.push(`${where}: key.data holds no PEM public key; not imported`);
    const algo = asStr(key.hashAlgorithm);
    if (algo && algo !== "sha256") unsupported.push(`${where}: hashAlgorithm ${quote(algo)} is not honoured`);
    return { name, key: { pem }, requireTlog, status: "active" };
  }
  if (keyless) {
    if (keyless.roots !== undefined) return void unsupported.push(`${where}: keyless with custom roots is not supported; not imported`);
    if (keyless.additionalExtensions !== undefined) unsupported.push(`${where}: additionalExtensions are not imported (looser)`);
    const ids = asArr(keyless.identities);
    if (ids.some((i) => i.subjectExpression !== undefined)) return void unsupported.push(`${where}: subjectExpression (CEL) is not supported; not imported`);
    const identities = ids.map(identityOf).filter((x) => x !== undefined);
    if (!identities.length || identities.length !== ids.length) return void unsupported.push(`${where}: keyless identities need issuer and subject; not imported`);
    return { name, keyless: { identities, trustedRoot: "public-good" }, requireTlog, status: "active" } as Authority;
  }
  return void unsupported.push(`${where}: cosign attestor without key or keyless; not imported`);
}

const IDENT = String.raw`[A-Za-z_][A-Za-z0-9_-]*`;
const CALL = String.raw`(verifyImageSignatures|verifyAttestationSignatures)\(\s*(${IDENT})\s*,\s*(?:attestations\.(${IDENT})\s*,\s*)?\[([^\]]*)\]\s*\)`;
const OP = String.raw`(>|>=|==)\s*(\d{1,3})`;
// images.containers.map(image, CALL).all(e, e OP N)  |  images.containers.all(image, CALL OP N)
const MAP_ALL = new RegExp(String.raw`^images\.(${IDENT})\.map\(\s*(${IDENT})\s*,\s*${CALL}\s*\)\.all\(\s*(${IDENT})\s*,\s*(${IDENT})\s*${OP}\s*\)$`);
const ALL = new RegExp(String.raw`^images\.(${IDENT})\.all\(\s*(${IDENT})\s*,\s*${CALL}\s*${OP}\s*\)$`);

interface ParsedValidation {
  category: string;
  fn: string;
  attestation?: string;
  attestors: string[];
  op: string;
  n: number;
}

/** Recognizes the documented validation forms; anything else is not expressible. Linear regexps only (no nested quantifiers). */
function parseValidation(expression: string): ParsedValidation | undefined {
  const e = expression.trim().replace(/\s+/g, " ");
  if (e.length > 2000) return undefined;
  let m = MAP_ALL.exec(e);
  if (m) {
    const [, category, v1, fn, v2, attestation, list, e1, e2, op, n] = m;
    if (v1 !== v2 || e1 !== e2) return undefined;
    return { category: category!, fn: fn!, attestation, attestors: parseList(list!), op: op!, n: Number(n) };
  }
  m = ALL.exec(e);
  if (m) {
    const [, category, v1, fn, v2, attestation, list, op, n] = m;
    if (v1 !== v2) return undefined;
    return { category: category!, fn: fn!, attestation, attestors: parseList(list!), op: op!, n: Number(n) };
  }
  return undefined;
}

function parseList(list: string): string[] {
  return list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (s.startsWith("attestors.") ? s.slice("attestors.".length) : `\u0000${s}`));
}

function ivpMode(actions: string[] | undefined): "enforce" | "warn" | "audit" {
  const a = (actions ?? ["Deny"]).map((x) => x.toLowerCase());
  return a.includes("deny") ? "enforce" : a.includes("warn") ? "warn" : "audit";
}

export function importImageValidatingPolicy(obj: unknown): ImportResult {
  const parsed = ivpSchema.safeParse(obj);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return { documents: [], unsupported: [`not an ImageValidatingPolicy: ${i?.path.join(".")}: ${i?.message}`] };
  }
  const ivp = parsed.data;
  const unsupported: string[] = [];
  const byName = new Map<string, Authority>();
  ivp.spec.attestors.forEach((a, i) => {
    const raw = asStr(a.name) ?? `attestor-${i}`;
    const where = `attestors[${i}] (${raw})`;
    const authority = ivpAuthority(a, sanitizeName(raw, `attestor-${i}`), where, unsupported);
    if (authority) byName.set(raw, authority);
  });
  const attestationTypes = new Map<string, string | undefined>();
  ivp.spec.attestations.forEach((a, i) => {
    const raw = asStr(a.name) ?? `attestation-${i}`;
    const intoto = asStr(asObj(a.intoto)?.type);
    if (!intoto) unsupported.push(`attestations[${i}] (${raw}): only in-toto attestations (intoto.type) are supported; referrer artifacts are not`);
    attestationTypes.set(raw, intoto ? normalizePredicateType(intoto) : undefined);
  });

  const clauses: SignatureClause[] = [];
  const attestations: Attestation[] = [];
  const used = new Set<string>();
  const categories = new Set<string>();
  let lost = false;
  ivp.spec.validations.forEach((v, i) => {
    const expr = asStr(v.expression) ?? "";
    const p = parseValidation(expr);
    const where = `validations[${i}]`;
    if (!p || !["containers", "initContainers", "ephemeralContainers"].includes(p.category)) {
      lost = true;
      return unsupported.push(`${where}: CEL expression ${quote(expr)} is not one of the forms Signet can express; not imported (looser)`);
    }
    categories.add(p.category);
    const names = p.attestors.filter((n) => !n.startsWith("\u0000") && byName.has(n));
    if (names.length !== p.attestors.length) {
      lost = true;
      unsupported.push(`${where}: names attestors that were not imported (${p.attestors.filter((n) => !names.includes(n)).map((n) => n.replace("\u0000", "")).join(", ")}); ignored there`);
    }
    // count of attestors verified OP n → at least k of them
    const k = p.op === ">" ? p.n + 1 : p.n;
    if (p.op === "==" && p.n !== p.attestors.length) {
      lost = true;
      return unsupported.push(`${where}: "== ${p.n}" of ${p.attestors.length} attestors is not expressible; not imported`);
    }
    if (k < 1) return unsupported.push(`${where}: requires nothing (count ${p.op} ${p.n}); nothing to import`);
    const of = names.map((n) => byName.get(n)!.name);
    if (k > of.length) {
      unsupported.push(`${where}: needs ${k} of ${of.length} importable attestors; imported as a requirement that cannot be met`);
    }
    of.forEach((n) => used.add(n));
    if (p.fn === "verifyImageSignatures") {
      if (!of.length) return;
      clauses.push(k === 1 || of.length === 1 ? (k > of.length ? { allOf: of } : { anyOf: of }) : k >= of.length ? { allOf: of } : { atLeast: k, of });
    } else {
      const type = p.attestation ? attestationTypes.get(p.attestation) : undefined;
      if (!type) {
        lost = true;
        return unsupported.push(`${where}: attestation ${quote(p.attestation)} is not an imported in-toto attestation; not imported`);
      }
      if (k > 1) unsupported.push(`${where}: ${k} attestors must sign the attestation in Kyverno; Signet needs one of them (looser)`);
      attestations.push({ predicateType: type, ...(of.length ? { signedBy: of } : {}) });
    }
  });
  if (!categories.has("initContainers") || !categories.has("ephemeralContainers")) {
    unsupported.push(`validations check only ${[...categories].join(", ") || "no"} images; Signet applies the policy to every container of a pod`);
  }
  const mc = asObj(ivp.spec.matchConstraints);
  const scope: { images: string[]; namespaceSelector?: LabelSelector; namespaces?: string[] } = { images: [] };
  if (mc?.namespaceSelector !== undefined) {
    const sel = asObj(mc.namespaceSelector);
    if (sel && Object.keys(sel).every((k) => k === "matchLabels" || k === "matchExpressions")) scope.namespaceSelector = sel as LabelSelector;
    else unsupported.push("matchConstraints.namespaceSelector is not a label selector Signet can read");
  }
  if (mc?.objectSelector !== undefined) unsupported.push("matchConstraints.objectSelector (pod labels) is not expressible; Signet applies the policy to every pod");
  if (ivp.kind === "NamespacedImageValidatingPolicy" && ivp.metadata.namespace) scope.namespaces = [ivp.metadata.namespace];
  if (ivp.spec.matchImageReferences.length === 0) scope.images = ["**"];
  ivp.spec.matchImageReferences.forEach((m, i) => {
    const glob = asStr(m.glob);
    if (glob) {
      const g = importPattern(glob, `matchImageReferences[${i}]`, unsupported, "gobwas");
      if (g) scope.images.push(g);
    } else unsupported.push(`matchImageReferences[${i}]: CEL expressions are not expressible; not imported`);
  });
  if (scope.images.length === 0) return { documents: [], unsupported: [...unsupported, "no usable matchImageReferences: the policy applies to nothing"] };
  const authorities = [...byName.values()].filter((a) => used.has(a.name));
  if (!clauses.length && !attestations.length) return { documents: [], unsupported: [...unsupported, "no validation could be imported"] };
  if (lost) unsupported.push("some validations were not imported: Signet's verdict checks less than Kyverno");
  return finish(
    sanitizeName(`kyverno-ivp-${ivp.metadata.namespace ? `${ivp.metadata.namespace}-` : ""}${ivp.metadata.name}`, "kyverno-ivp"),
    `Imported from Kyverno ${ivp.kind} ${ivp.metadata.namespace ? `${ivp.metadata.namespace}/` : ""}${ivp.metadata.name}`.slice(0, 2000),
    { mode: ivpMode(ivp.spec.validationActions), scope, authorities, requireTlog: false, require: { signatures: clauses, attestations } },
    unsupported,
  );
}
