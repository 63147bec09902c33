import "server-only";
import { createPublicKey } from "node:crypto";
import { ApiError } from "@/lib/api/errors";
import { appendAuditEvents } from "@/lib/audit/store";
import type { Db } from "@/lib/db/client";
import { childLogger } from "@/lib/log";
import { queueNotification } from "@/lib/notify/webhooks";
import { publicKeyFingerprint } from "@/lib/policy/compile";
import { policySpecSchema, type PolicySpec } from "@/lib/policy/schema";
import { addDualTrust } from "@/lib/trust/rotation";
import { loadActivePolicies, savePolicyDocument } from "@/lib/policy/store";
import type { ScanAdapters } from "@/lib/scan/adapters";
import { checkImages, imageBatches } from "@/lib/scan/pipeline";
import { storedFact } from "@/lib/trust/facts";
import {
  blastRadius,
  evaluateFleet,
  resignList,
  retireSafety,
  usageOf,
  type AuthorityTarget,
  type BlastRadius,
  type FleetImage,
  type FleetPolicy,
  type ResignEntry,
  type RetireSafety,
  type Usage,
} from "@/lib/trust/fleet";
import { normalizeFingerprint } from "@/lib/trust/facts";
import { computeReminders, type Reminder } from "@/lib/trust/reminders";
import { trustRootItems } from "@/lib/trust/trust-roots";
import { readPublicGoodSeedBytes, PUBLIC_GOOD_ID } from "@/lib/sigstore/trusted-root";

/**
 * The trust lifecycle over the database: the authority inventory with live usage, reminders,
 * staged rotation (re-sign list, safe-to-retire), revocation (preview, then revoke and re-evaluate
 * at once). Pure computations live in fleet.ts / reminders.ts; this module loads and writes.
 */

const log = childLogger("trust");

// ───────────── loading ─────────────

/** Every image with running containers, with the facts its stored evidence holds. */
export async function loadFleet(db: Db): Promise<FleetImage[]> {
  const images = await db.image.findMany({
    where: { containers: { some: { pod: { deletedAt: null } } } },
    include: {
      evidence: true,
      containers: { where: { pod: { deletedAt: null } }, include: { pod: { include: { namespace: true, cluster: true, workload: true } } } },
    },
  });
  return images.map((img) => ({
    imageId: img.id,
    imageName: `${img.registry}/${img.repository}`,
    digest: img.digest,
    discovery:
      img.discovery === "error" ? { outcome: "error" as const, reason: img.discoveryError ?? "discovery failed" } : { outcome: img.discovery === "none" ? ("none" as const) : ("found" as const) },
    facts: img.evidence.flatMap((e) => storedFact(e) ?? []),
    containers: img.containers.map((c) => ({
      containerId: c.id,
      name: c.name,
      cluster: c.pod.cluster.name,
      namespace: c.pod.namespace.name,
      namespaceLabels: (c.pod.namespace.labels ?? {}) as Record<string, string>,
      workload: c.pod.workload ? `${c.pod.workload.kind}/${c.pod.workload.name}` : `Pod/${c.pod.name}`,
      pod: c.pod.name,
      imageRef: c.imageRef,
    })),
  }));
}

export async function loadFleetPolicies(db: Db): Promise<FleetPolicy[]> {
  return (await loadActivePolicies(db)).flatMap((p) =>
    p.policy ? [{ id: p.id, name: p.name, mode: p.mode, spec: p.policy.spec, keyFingerprints: p.policy.keyFingerprints }] : [],
  );
}

// ───────────── settings ─────────────

export interface TrustSettingsDto {
  retireSafeDays: number;
  reminderDays: number;
}

export async function getTrustSettings(db: Db): Promise<TrustSettingsDto> {
  const s = await db.trustSettings.findUnique({ where: { id: "default" } });
  return { retireSafeDays: s?.retireSafeDays ?? 7, reminderDays: s?.reminderDays ?? 30 };
}

export async function updateTrustSettings(db: Db, patch: Partial<TrustSettingsDto>, actor: string): Promise<TrustSettingsDto> {
  await db.$transaction(async (tx) => {
    await tx.trustSettings.upsert({ where: { id: "default" }, create: { id: "default", ...patch }, update: { ...patch, updatedAt: new Date() } });
    await appendAuditEvents(tx, [{ kind: "admin", actor, details: { action: "trust.settings", ...patch } }]);
  });
  return getTrustSettings(db);
}

// ───────────── references ─────────────

/** "stored:<name>", "policy:<policy>/<authority>", "sha256:<hex>" (a key by fingerprint), or a bare stored name. */
export type AuthorityRef = string;

export function keyAlgorithm(pem: string): string | null {
  try {
    const k = createPublicKey(pem);
    const d = k.asymmetricKeyDetails;
    if (k.asymmetricKeyType === "ec") return `ecdsa-${d?.namedCurve ?? "?"}`;
    if (k.asymmetricKeyType === "rsa" || k.asymmetricKeyType === "rsa-pss") return `rsa-${d?.modulusLength ?? "?"}`;
    return k.asymmetricKeyType ?? null;
  } catch {
    return null;
  }
}

async function resolveTarget(db: Db, ref: AuthorityRef): Promise<{ target: AuthorityTarget; label: string; storedId?: string }> {
  if (ref.startsWith("policy:")) {
    const rest = ref.slice("policy:".length);
    const slash = rest.indexOf("/");
    if (slash < 1) throw new ApiError("bad_request", 'A policy authority is named "policy:<policy>/<authority>".');
    return { target: { kind: "policy", policy: rest.slice(0, slash), authority: rest.slice(slash + 1) }, label: ref };
  }
  if (/^(sha256:)?[0-9a-f]{64}$/i.test(ref)) {
    const fp = normalizeFingerprint(ref);
    const stored = (await db.authority.findMany({ where: { fingerprint: { not: null } } })).find((a) => normalizeFingerprint(a.fingerprint!) === fp);
    if (stored) return { target: { kind: "stored", name: stored.name, fingerprint: fp }, label: stored.name, storedId: stored.id };
    return { target: { kind: "fingerprint", fingerprint: fp }, label: fp };
  }
  const name = ref.startsWith("stored:") ? ref.slice("stored:".length) : ref;
  const stored = await db.authority.findUnique({ where: { name } });
  if (!stored) throw new ApiError("not_found", `No authority named ${name}.`);
  return {
    target: { kind: "stored", name: stored.name, fingerprint: stored.fingerprint ? normalizeFingerprint(stored.fingerprint) : null },
    label: stored.name,
    storedId: stored.id,
  };
}

// ───────────── inventory ─────────────

export interface InventoryEntry {
  ref: string;
  name: string;
  kind: "key" | "keyless";
  source: string;
  fingerprint: string | null;
  algorithm: string | null;
  identities: { issuer: string; subject: string }[];
  owner: string | null;
  createdAt: string | null;
  rotateBy: string | null;
  validFrom: string | null;
  validUntil: string | null;
  status: "active" | "retiring" | "revoked";
  revokedAt: string | null;
  revokedReason: string | null;
  policies: { policy: string; alias: string; mode: string }[];
  usage: Usage;
  trend: { takenAt: string; containers: number; images: number; namespaces: number; resignImages: number }[];
  /** For retiring authorities: running images still verified only through it, and when retiring is safe. */
  resign: { list: ResignEntry[]; safety: RetireSafety; safeDays: number } | null;
  editable: boolean;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

interface Described {
  entry: Omit<InventoryEntry, "usage" | "trend" | "resign">;
  target: AuthorityTarget;
}

async function describeAuthorities(db: Db, policies: FleetPolicy[]): Promise<Described[]> {
  const stored = await db.authority.findMany({ orderBy: { name: "asc" }, include: { policies: { include: { policy: true } } } });
  const out: Described[] = [];
  const byFp = new Map<string, Described>();
  const byName = new Map<string, Described>();
  for (const a of stored) {
    const fp = a.fingerprint ? normalizeFingerprint(a.fingerprint) : a.publicKeyPem ? safeFingerprint(a.publicKeyPem) : null;
    const d: Described = {
      target: { kind: "stored", name: a.name, fingerprint: fp },
      entry: {
        ref: `stored:${a.name}`,
        name: a.name,
        kind: a.kind,
        source: a.source,
        fingerprint: fp,
        algorithm: a.algorithm ?? (a.publicKeyPem ? keyAlgorithm(a.publicKeyPem) : null),
        identities: a.kind === "keyless" ? [{ issuer: a.issuer ?? a.issuerRegexp ?? "", subject: a.subject ?? a.subjectRegexp ?? "" }] : [],
        owner: a.owner,
        createdAt: iso(a.createdAt),
        rotateBy: iso(a.rotateBy),
        validFrom: iso(a.validFrom),
        validUntil: iso(a.validUntil),
        status: a.status,
        revokedAt: iso(a.revokedAt),
        revokedReason: a.revokedReason,
        policies: a.policies.map((p) => ({ policy: p.policy.name, alias: p.alias, mode: p.policy.mode })),
        editable: true,
      },
    };
    out.push(d);
    byName.set(a.name, d);
    if (fp) byFp.set(fp, d);
  }
  for (const p of policies) {
    for (const a of p.spec.authorities) {
      // a static authority (imported policy-controller `static`) trusts no signer
      if (a.static) continue;
      const link = { policy: p.name, alias: a.name, mode: p.mode };
      const addLink = (d: Described) => {
        if (!d.entry.policies.some((x) => x.policy === link.policy && x.alias === link.alias)) d.entry.policies.push(link);
      };
      if (a.key && "ref" in a.key) {
        const d = byName.get(a.key.ref);
        if (d) addLink(d);
        continue;
      }
      const fp = p.keyFingerprints.get(a.name) ?? null;
      if (fp && byFp.has(fp)) {
        addLink(byFp.get(fp)!);
        continue;
      }
      const d: Described = {
        target: { kind: "policy", policy: p.name, authority: a.name },
        entry: {
          ref: `policy:${p.name}/${a.name}`,
          name: `${p.name}/${a.name}`,
          kind: a.key ? "key" : "keyless",
          source: "policy",
          fingerprint: fp,
          algorithm: a.key && "pem" in a.key ? keyAlgorithm(a.key.pem) : null,
          identities: (a.keyless?.identities ?? []).map((i) => ({ issuer: i.issuer ?? `/${i.issuerRegExp}/`, subject: i.subject ?? `/${i.subjectRegExp}/` })),
          owner: null,
          createdAt: null,
          rotateBy: null,
          validFrom: iso(a.validFrom),
          validUntil: iso(a.validUntil),
          status: a.status,
          revokedAt: null,
          revokedReason: null,
          policies: [link],
          editable: false,
        },
      };
      out.push(d);
    }
  }
  return out;
}

function safeFingerprint(pem: string): string | null {
  try {
    return publicKeyFingerprint(pem);
  } catch {
    return null;
  }
}

export async function getInventory(db: Db, now = new Date()): Promise<InventoryEntry[]> {
  const [policies, fleet, settings] = await Promise.all([loadFleetPolicies(db), loadFleet(db), getTrustSettings(db)]);
  const described = await describeAuthorities(db, policies);
  const verdicts = evaluateFleet(fleet, policies, now);
  const keys = described.map((d) => d.entry.ref);
  const snapshots = await db.authorityUsageSnapshot.findMany({
    where: { authorityKey: { in: keys }, takenAt: { gte: new Date(now.getTime() - 90 * 86_400_000) } },
    orderBy: { takenAt: "asc" },
  });
  return described.map(({ entry, target }) => {
    const mine = snapshots.filter((s) => s.authorityKey === entry.ref);
    let resign: InventoryEntry["resign"] = null;
    if (entry.status === "retiring") {
      const list = resignList(fleet, policies, target, now);
      resign = { list, safety: retireSafety(mine, list.length, now, settings.retireSafeDays), safeDays: settings.retireSafeDays };
    }
    return {
      ...entry,
      usage: usageOf(verdicts, target),
      trend: mine.map((s) => ({ takenAt: s.takenAt.toISOString(), containers: s.containers, images: s.images, namespaces: s.namespaces, resignImages: s.resignImages })),
      resign,
    };
  });
}

/** Records the usage (and re-sign count) of every authority now: the "over time" of the inventory. */
export async function takeUsageSnapshots(db: Db, now = new Date()): Promise<number> {
  const inventory = await getInventory(db, now);
  // a year of history is plenty for trends and the safe-to-retire rule
  await db.authorityUsageSnapshot.deleteMany({ where: { takenAt: { lt: new Date(now.getTime() - 400 * 86_400_000) } } });
  if (inventory.length === 0) return 0;
  await db.authorityUsageSnapshot.createMany({
    data: inventory.map((e) => ({
      takenAt: now,
      authorityKey: e.ref,
      containers: e.usage.containers,
      images: e.usage.images,
      namespaces: e.usage.namespaces,
      resignImages: e.resign?.list.length ?? 0,
    })),
  });
  return inventory.length;
}

// ───────────── reminders ─────────────

export async function getReminders(db: Db, opts: { now?: Date; timeZone?: string } = {}): Promise<Reminder[]> {
  const now = opts.now ?? new Date();
  const [settings, authorities, policies, roots, certs] = await Promise.all([
    getTrustSettings(db),
    db.authority.findMany(),
    loadFleetPolicies(db),
    db.trustedRoot.findMany(),
    db.evidence.findMany({
      where: { status: "valid", signerKind: "keyless", certNotAfter: { lt: now }, tlogIntegratedTime: null, image: { containers: { some: { pod: { deletedAt: null } } } } },
      include: { image: true },
      take: 500,
    }),
  ]);
  const inline = policies.flatMap((p) =>
    p.spec.authorities.filter((a) => !(a.key && "ref" in a.key)).map((a) => ({ key: `policy:${p.name}/${a.name}`, name: `${p.name}/${a.name}`, status: a.status, rotateBy: null, validUntil: a.validUntil ?? null })),
  );
  const trustRoots = roots.flatMap((r) => trustRootItems(r.name, r.document));
  if (!roots.some((r) => r.name === PUBLIC_GOOD_ID)) {
    try {
      trustRoots.push(...trustRootItems(PUBLIC_GOOD_ID, JSON.parse(readPublicGoodSeedBytes().toString("utf8"))));
    } catch (err) {
      log.warn({ err: (err as Error).message }, "public-good trusted root unreadable");
    }
  }
  return computeReminders({
    now,
    timeZone: opts.timeZone,
    reminderDays: settings.reminderDays,
    authorities: [
      ...authorities.map((a) => ({ key: `stored:${a.name}`, name: a.name, status: a.status, rotateBy: a.rotateBy, validUntil: a.validUntil })),
      ...inline,
    ],
    trustRoots,
    certificates: certs.map((e) => ({
      imageName: `${e.image.registry}/${e.image.repository}`,
      digest: e.image.digest,
      identity: e.certIdentity ?? "",
      issuer: e.certIssuer ?? "",
      notAfter: e.certNotAfter!,
      integratedTime: e.tlogIntegratedTime,
    })),
  });
}

// ───────────── authority changes ─────────────

export interface NewKeyAuthority {
  name: string;
  publicKeyPem: string;
  owner?: string | null;
  rotateBy?: Date | null;
  source?: string;
}

export async function createKeyAuthority(db: Db, input: NewKeyAuthority, actor: string) {
  let fingerprint: string;
  try {
    fingerprint = publicKeyFingerprint(input.publicKeyPem);
  } catch (err) {
    throw new ApiError("bad_request", `The public key cannot be parsed: ${(err as Error).message}`);
  }
  return db.$transaction(async (tx) => {
    if (await tx.authority.findUnique({ where: { name: input.name } })) throw new ApiError("conflict", `An authority named ${input.name} exists.`);
    const hex = fingerprint.slice("sha256:".length);
    if (await tx.authority.findFirst({ where: { OR: [{ fingerprint: hex }, { fingerprint }] } })) throw new ApiError("conflict", "This key is stored already.");
    const row = await tx.authority.create({
      data: {
        name: input.name,
        kind: "key",
        publicKeyPem: input.publicKeyPem,
        fingerprint: hex,
        algorithm: keyAlgorithm(input.publicKeyPem),
        source: input.source ?? "manual",
        owner: input.owner ?? null,
        rotateBy: input.rotateBy ?? null,
      },
    });
    await appendAuditEvents(tx, [{ kind: "admin", actor, details: { action: "authority.create", name: row.name, fingerprint, source: row.source } }]);
    return row;
  });
}

export interface AuthorityPatch {
  owner?: string | null;
  rotateBy?: Date | null;
  status?: "active" | "retiring";
}

export async function updateAuthority(db: Db, name: string, patch: AuthorityPatch, actor: string) {
  return db.$transaction(async (tx) => {
    const existing = await tx.authority.findUnique({ where: { name } });
    if (!existing) throw new ApiError("not_found", `No authority named ${name}.`);
    if (existing.status === "revoked" && patch.status) throw new ApiError("conflict", "A revoked authority stays revoked.");
    const row = await tx.authority.update({ where: { name }, data: patch });
    await appendAuditEvents(tx, [{ kind: "admin", actor, details: { action: "authority.update", name, ...patch, rotateBy: patch.rotateBy?.toISOString() ?? patch.rotateBy } }]);
    return row;
  });
}

export interface ReverifyOptions {
  adapters: ScanAdapters;
  now?: Date;
  concurrency?: number;
}

/** Re-verifies and re-evaluates images from stored evidence (no registry traffic), waiting for all. */
export async function reverifyImages(db: Db, imageIds: string[], trigger: string, opts: ReverifyOptions): Promise<number> {
  const ids = [...new Set(imageIds)];
  const batches = imageBatches(ids, { mode: "reverify", trigger });
  let next = 0;
  const ctx = { db, adapters: opts.adapters, log, now: opts.now ? () => opts.now! : undefined, enqueueImageCheck: async () => undefined };
  await Promise.all(
    Array.from({ length: Math.min(opts.concurrency ?? 4, batches.length) }, async () => {
      while (next < batches.length) await checkImages(ctx, batches[next++]!);
    }),
  );
  return ids.length;
}

async function runningImageIds(db: Db): Promise<string[]> {
  return (await db.image.findMany({ where: { containers: { some: { pod: { deletedAt: null } } } }, select: { id: true } })).map((i) => i.id);
}

async function saveSpec(db: Db, policyName: string, spec: PolicySpec, actor: string) {
  const row = await db.policy.findUniqueOrThrow({ where: { name: policyName } });
  await savePolicyDocument(
    db,
    { apiVersion: "signet.dev/v1", kind: "Policy", metadata: { name: policyName, ...(row.description ? { description: row.description } : {}) }, spec: policySpecSchema.parse(spec) },
    { actor, source: row.source },
  );
}

export interface RotationInput {
  newName: string;
  publicKeyPem: string;
  owner?: string | null;
  rotateBy?: Date | null;
}

/**
 * Staged rotation: stores the new key, marks the old one retiring, and adds the new key next to the
 * old one in every editable policy that trusts it (either signature satisfies). Returns the policies
 * changed and those it could not change (imported, read-only).
 */
export async function rotateAuthority(db: Db, oldName: string, input: RotationInput, actor: string, reverify?: ReverifyOptions) {
  const old = await db.authority.findUnique({ where: { name: oldName } });
  if (!old) throw new ApiError("not_found", `No authority named ${oldName}.`);
  if (old.status === "revoked") throw new ApiError("conflict", `${oldName} is revoked; add the new key instead.`);
  const created = await createKeyAuthority(db, { name: input.newName, publicKeyPem: input.publicKeyPem, owner: input.owner ?? old.owner, rotateBy: input.rotateBy ?? null, source: "rotation" }, actor);
  await db.authority.update({ where: { id: old.id }, data: { status: "retiring" } });
  const oldFp = old.fingerprint ? normalizeFingerprint(old.fingerprint) : null;
  const changed: string[] = [];
  const skipped: string[] = [];
  for (const p of await loadFleetPolicies(db)) {
    const row = await db.policy.findUniqueOrThrow({ where: { id: p.id }, include: { versions: { orderBy: { version: "desc" }, take: 1 } } });
    const spec = policySpecSchema.parse(row.versions[0]!.spec);
    const uses = spec.authorities.find((a) => (a.key && "ref" in a.key && a.key.ref === oldName) || (oldFp !== null && p.keyFingerprints.get(a.name) === oldFp));
    if (!uses) continue;
    if (row.readOnly) {
      skipped.push(p.name);
      continue;
    }
    let alias = `${uses.name}-next`.slice(0, 63).replace(/-+$/, "");
    for (let i = 2; spec.authorities.some((a) => a.name === alias); i++) alias = `${uses.name}-next-${i}`.slice(0, 63);
    // inline copies of the old key are marked retiring in the policy itself
    const marked = { ...spec, authorities: spec.authorities.map((a) => (a === uses && a.key && "pem" in a.key ? { ...a, status: "retiring" as const } : a)) };
    await saveSpec(db, p.name, addDualTrust(marked, uses.name, alias, { name: alias, key: { ref: created.name }, status: "active" }), actor);
    await db.policyAuthority.upsert({
      where: { policyId_authorityId: { policyId: p.id, authorityId: created.id } },
      create: { policyId: p.id, authorityId: created.id, alias },
      update: { alias },
    });
    changed.push(p.name);
  }
  await appendAuditEvents(db, [{ kind: "admin", actor, details: { action: "authority.rotate", from: oldName, to: created.name, policies: changed, skipped } }]);
  let reevaluated = 0;
  if (reverify) reevaluated = await reverifyImages(db, await runningImageIds(db), "rotation", reverify);
  return { authority: created.name, policies: changed, skipped, reevaluated };
}

// ───────────── revocation ─────────────

export interface RevocationPreview {
  ref: string;
  label: string;
  radius: BlastRadius;
  /** Read-only policies (imported from a cluster) that embed the key and cannot be changed here. */
  readOnlyPolicies: string[];
}

export async function previewRevocation(db: Db, ref: AuthorityRef, now = new Date()): Promise<RevocationPreview> {
  const { target, label } = await resolveTarget(db, ref);
  const [fleet, policies] = await Promise.all([loadFleet(db), loadFleetPolicies(db)]);
  const readOnly = await readOnlyEmbedding(db, policies, target);
  return { ref, label, radius: blastRadius(fleet, policies, target, now), readOnlyPolicies: readOnly };
}

async function readOnlyEmbedding(db: Db, policies: FleetPolicy[], target: AuthorityTarget): Promise<string[]> {
  const ro = new Set((await db.policy.findMany({ where: { readOnly: true }, select: { name: true } })).map((p) => p.name));
  return policies
    .filter((p) => ro.has(p.name) && p.spec.authorities.some((a) => !(a.key && "ref" in a.key) && targetMatchesInline(target, p, a)))
    .map((p) => p.name);
}

function targetMatchesInline(target: AuthorityTarget, p: FleetPolicy, a: PolicySpec["authorities"][number]): boolean {
  const fp = p.keyFingerprints.get(a.name);
  if (target.kind === "policy") return p.name === target.policy && a.name === target.authority;
  const want = target.kind === "stored" ? target.fingerprint : target.fingerprint;
  return !!want && fp === want;
}

/**
 * Revokes: the stored authority (status, time, reason), and inline copies of the key in editable
 * policies (a new policy version marks them revoked). Then every image whose verdicts change is
 * re-verified from stored evidence right away, and an admin event records the blast radius.
 */
export async function revokeAuthority(db: Db, ref: AuthorityRef, reason: string, actor: string, reverify: ReverifyOptions) {
  const now = reverify.now ?? new Date();
  const { target, label, storedId } = await resolveTarget(db, ref);
  const preview = await previewRevocation(db, ref, now);
  if (storedId) {
    const row = await db.authority.findUniqueOrThrow({ where: { id: storedId } });
    if (row.status === "revoked") throw new ApiError("conflict", `${row.name} is revoked already.`);
    await db.authority.update({ where: { id: storedId }, data: { status: "revoked", revokedAt: now, revokedReason: reason } });
  }
  const policiesChanged: string[] = [];
  for (const p of await loadFleetPolicies(db)) {
    const row = await db.policy.findUniqueOrThrow({ where: { id: p.id }, include: { versions: { orderBy: { version: "desc" }, take: 1 } } });
    if (row.readOnly) continue;
    const spec = policySpecSchema.parse(row.versions[0]!.spec);
    let touched = false;
    const authorities = spec.authorities.map((a) => {
      if (a.key && "ref" in a.key) return a;
      if (!targetMatchesInline(target, p, a) || a.status === "revoked") return a;
      touched = true;
      return { ...a, status: "revoked" as const };
    });
    if (!touched) continue;
    await saveSpec(db, p.name, { ...spec, authorities }, actor);
    policiesChanged.push(p.name);
  }
  if (!storedId && policiesChanged.length === 0) throw new ApiError("not_found", `Nothing to revoke for ${label}.`);
  await appendAuditEvents(db, [
    {
      kind: "admin",
      actor,
      occurredAt: now,
      details: {
        action: "authority.revoke",
        authority: label,
        reason,
        policies: policiesChanged,
        readOnlyPolicies: preview.readOnlyPolicies,
        blastRadius: { containers: preview.radius.containers, images: preview.radius.images, workloads: preview.radius.workloads, namespaces: preview.radius.namespaces, byPolicy: preview.radius.byPolicy },
        workloads: [...new Set(preview.radius.affected.map((a) => `${a.cluster}/${a.namespace}/${a.workload}`))].slice(0, 500),
      },
    },
  ]);
  const reevaluated = await reverifyImages(db, preview.radius.imageIds, "revocation", reverify);
  const workloads = [...new Set(preview.radius.affected.map((a) => `${a.cluster}/${a.namespace} ${a.workload} (${a.policy}, ${a.mode})`))];
  await queueNotification(db, {
    event: "authority.revoked",
    dedupeKey: `revoked:${label}:${now.toISOString()}`,
    occurredAt: now.toISOString(),
    summary: `${actor} revoked ${label} (${reason}): ${preview.radius.containers} container(s) in ${preview.radius.workloads} workload(s) no longer verify`,
    lines: workloads.slice(0, 50),
    data: { authority: label, reason, containers: preview.radius.containers, workloads: preview.radius.workloads, byPolicy: preview.radius.byPolicy },
  });
  return { label, radius: preview.radius, policies: policiesChanged, reevaluated };
}

/** Running workloads whose verdicts fail because an authority was revoked (flagged on the overview). */
export async function revokedWorkloads(db: Db, limit = 50) {
  const rows = await db.verdict.findMany({
    where: { value: "failed", reasons: { array_contains: [{ code: "revoked" }] }, container: { pod: { deletedAt: null } } },
    include: { policy: true, container: { include: { pod: { include: { namespace: true, cluster: true, workload: true } } } } },
    take: 2000,
  });
  const byWorkload = new Map<string, { cluster: string; namespace: string; workload: string; policies: Set<string>; authorities: Set<string> }>();
  for (const v of rows) {
    const pod = v.container.pod;
    const workload = pod.workload ? `${pod.workload.kind}/${pod.workload.name}` : `Pod/${pod.name}`;
    const k = `${pod.cluster.name}/${pod.namespace.name}/${workload}`;
    const e = byWorkload.get(k) ?? { cluster: pod.cluster.name, namespace: pod.namespace.name, workload, policies: new Set(), authorities: new Set() };
    e.policies.add(v.policy.name);
    for (const r of v.reasons as { code?: string; authority?: string }[]) if (r.code === "revoked" && r.authority) e.authorities.add(r.authority);
    byWorkload.set(k, e);
  }
  return [...byWorkload.values()].slice(0, limit).map((e) => ({ ...e, policies: [...e.policies], authorities: [...e.authorities] }));
}
