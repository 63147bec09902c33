import "server-only";
import { LRUCache } from "lru-cache";
import { appendAuditEvents } from "@/lib/audit/store";
import type { Db } from "@/lib/db/client";
import { TX_ADMIN_TIMEOUT_MS, withTransaction } from "@/lib/db/transaction";
import type { Prisma } from "@/lib/generated/prisma/client";
import { canonicalJson } from "@/lib/audit/chain";
import { compilePolicy, duplicateKeyProblems, keySources, type CompiledPolicy, type StoredKey } from "@/lib/policy/compile";
import { PolicyValidationError, policySpecSchema, type PolicyDocument } from "@/lib/policy/schema";

/**
 * Persistence of policies with versions. Saving a document whose spec changed creates a new version
 * (verdicts record the version they were computed under) and appends an `admin` audit event; saving
 * the same spec again is a no-op, so imports and file syncs are idempotent.
 */
export interface SaveOptions {
  source?: "signet" | "file" | "cluster_import";
  readOnly?: boolean;
  sourceCluster?: string;
  /** The cluster object an imported policy comes from ("ClusterImagePolicy/name"). */
  sourceObject?: string;
  actor: string;
}

export interface SaveResult {
  policyId: string;
  version: number;
  changed: boolean;
}

export async function savePolicyDocument(db: Db, doc: PolicyDocument, opts: SaveOptions): Promise<SaveResult> {
  const spec = JSON.parse(JSON.stringify(doc.spec)) as Prisma.InputJsonValue;
  return withTransaction(db, async (tx) => {
    // Serialize concurrent saves of the same policy name.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`policy:${doc.metadata.name}`}))`;
    const existing = await tx.policy.findUnique({
      where: { name: doc.metadata.name },
      include: { versions: { orderBy: { version: "desc" }, take: 1 } },
    });
    if (existing?.readOnly && opts.source !== "cluster_import") {
      throw new PolicyReadOnlyError(doc.metadata.name);
    }
    // one key under two names would look like two signers: refused, naming both authorities
    const refs = doc.spec.authorities.flatMap((a) => keySources(a).flatMap((k) => ("ref" in k ? [k.ref] : [])));
    const stored = refs.length ? await tx.authority.findMany({ where: { name: { in: refs } }, select: { name: true, publicKeyPem: true } }) : [];
    const pems = new Map(stored.flatMap((s) => (s.publicKeyPem ? [[s.name, s.publicKeyPem] as const] : [])));
    const duplicates = duplicateKeyProblems(doc.spec, (ref) => (pems.has(ref) ? { pem: pems.get(ref)! } : undefined));
    if (duplicates.length) throw new PolicyValidationError(duplicates.map((d) => `${doc.metadata.name}: spec.${d}`));
    const latest = existing?.versions[0];
    const same =
      latest !== undefined &&
      canonicalJson(latest.spec) === canonicalJson(spec) &&
      existing!.description === (doc.metadata.description ?? null) &&
      existing!.mode === doc.spec.mode &&
      existing!.archivedAt === null;
    if (existing && same) {
      // where an import comes from is bookkeeping, not a new version
      if (opts.sourceObject !== undefined && existing.sourceObject !== opts.sourceObject) {
        await tx.policy.update({ where: { id: existing.id }, data: { sourceObject: opts.sourceObject } });
      }
      return { policyId: existing.id, version: existing.currentVersion, changed: false };
    }

    const version = (latest?.version ?? 0) + 1;
    const policy = existing
      ? await tx.policy.update({
          where: { id: existing.id },
          data: {
            description: doc.metadata.description ?? null,
            mode: doc.spec.mode,
            currentVersion: version,
            archivedAt: null,
            ...(opts.sourceObject !== undefined ? { sourceObject: opts.sourceObject } : {}),
          },
        })
      : await tx.policy.create({
          data: {
            name: doc.metadata.name,
            description: doc.metadata.description ?? null,
            mode: doc.spec.mode,
            source: opts.source ?? "signet",
            readOnly: opts.readOnly ?? opts.source === "cluster_import",
            sourceCluster: opts.sourceCluster ?? null,
            sourceObject: opts.sourceObject ?? null,
            currentVersion: version,
          },
        });
    await tx.policyVersion.create({ data: { policyId: policy.id, version, spec, createdBy: opts.actor } });
    await appendAuditEvents(tx, [
      {
        kind: "admin",
        actor: opts.actor,
        policyName: doc.metadata.name,
        policyVersion: version,
        details: {
          action: existing ? "policy.update" : "policy.create",
          source: opts.source ?? "signet",
          mode: doc.spec.mode,
          // what it was before: the audit page shows old -> new
          ...(existing ? { fromVersion: latest?.version ?? existing.currentVersion, fromMode: existing.mode } : {}),
        },
      },
    ]);
    return { policyId: policy.id, version, changed: true };
  }, { timeout: TX_ADMIN_TIMEOUT_MS });
}

export class PolicyReadOnlyError extends Error {
  constructor(name: string) {
    super(`policy ${name} is imported from a cluster and read-only`);
    this.name = "PolicyReadOnlyError";
  }
}

export type LoadedPolicy =
  | { id: string; name: string; version: number; mode: string; policy: CompiledPolicy; error?: undefined }
  /** A stored policy that cannot be used (e.g. a key reference to a deleted authority): its verdicts are `error`. */
  | { id: string; name: string; version: number; mode: string; policy?: undefined; error: string };

/**
 * Compiled policy versions by what they were compiled from: the version row (immutable: a changed
 * spec is a new version) and the stored keys as they are now (a key referenced by name may be
 * replaced, retired or revoked). Every image-check batch loads the active policies; compiling them
 * (the spec parsed, every key parsed and fingerprinted) was ~3 % of a rescan's worker CPU.
 */
const compiled = new LRUCache<string, { policy: CompiledPolicy; error?: undefined } | { policy?: undefined; error: string }>({ max: 256 });

/** Every enabled, non-archived policy at its current version, compiled (stored key references resolved). */
export async function loadActivePolicies(db: Db): Promise<LoadedPolicy[]> {
  const rows = await db.policy.findMany({
    where: { enabled: true, archivedAt: null },
    include: { versions: { orderBy: { version: "desc" }, take: 1 } },
    orderBy: { name: "asc" },
  });
  const keys = await db.authority.findMany({ where: { kind: "key", publicKeyPem: { not: null } } });
  const byName = new Map<string, StoredKey>(
    keys.map((k) => [
      k.name,
      { pem: k.publicKeyPem!, status: k.status, validFrom: k.validFrom ?? undefined, validUntil: k.validUntil ?? undefined },
    ]),
  );
  const keysNow = canonicalJson(keys.map((k) => [k.name, k.publicKeyPem, k.status, k.validFrom?.toISOString() ?? null, k.validUntil?.toISOString() ?? null]));
  return rows.flatMap((row): LoadedPolicy[] => {
    const v = row.versions[0];
    if (!v) return [];
    const base = { id: row.id, name: row.name, version: v.version, mode: row.mode };
    const at = `${v.id}\u0000${row.name}\u0000${keysNow}`;
    let outcome = compiled.get(at);
    if (!outcome) {
      try {
        const spec = policySpecSchema.parse(v.spec);
        outcome = { policy: compilePolicy(row.name, v.version, spec, (ref) => byName.get(ref)) };
      } catch (err) {
        outcome = { error: (err as Error).message.split("\n")[0] ?? "invalid policy" };
      }
      compiled.set(at, outcome);
    }
    return [{ ...base, ...outcome }];
  });
}

/**
 * Archives the policies imported from `cluster` that the cluster no longer has (its source object was
 * deleted): they stop applying, keep their versions and verdict history, and come back unarchived if the
 * source reappears (savePolicyDocument clears archivedAt). Call only after a complete, successful listing.
 */
export async function archiveMissingImports(db: Db, cluster: string, keep: readonly string[], actor: string): Promise<string[]> {
  return withTransaction(db, async (tx) => {
    const gone = await tx.policy.findMany({
      where: { source: "cluster_import", sourceCluster: cluster, archivedAt: null, name: { notIn: [...keep] } },
      select: { id: true, name: true, currentVersion: true },
    });
    if (!gone.length) return [];
    await tx.policy.updateMany({ where: { id: { in: gone.map((p) => p.id) } }, data: { archivedAt: new Date() } });
    await appendAuditEvents(
      tx,
      gone.map((p) => ({
        kind: "admin" as const,
        actor,
        policyName: p.name,
        policyVersion: p.currentVersion,
        details: { action: "policy.archive", source: "cluster_import", reason: `source deleted from cluster ${cluster}` },
      })),
    );
    return gone.map((p) => p.name);
  }, { timeout: TX_ADMIN_TIMEOUT_MS });
}
