import "server-only";
import type { Db } from "@/lib/db/client";
import { keyAlgorithm, safeFingerprint } from "@/lib/trust/authority-ref";
import { normalizeFingerprint } from "@/lib/trust/facts";
import { evaluateFleet, resignList, retireSafety, usageHits, usageOf, type AuthorityTarget, type FleetPolicy, type ResignEntry, type RetireSafety, type Usage } from "@/lib/trust/fleet";
import { loadFleet, loadFleetPolicies } from "@/lib/trust/load-fleet";
import { getTrustSettings } from "@/lib/trust/settings";
import { keyName } from "@/lib/ui/format";

/**
 * The authority inventory (/keys, GET /api/authorities): stored authorities, the keys written inline in
 * policies (one entry per key, by fingerprint, however many policies write it) and inline keyless
 * identities, each with its live usage, usage over time and, while retiring, its re-sign list.
 */

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
  // a key written inline is one key whatever policies write it: one entry per fingerprint, listing each of them
  const inlineKeys = new Map<string, { d: Described; statuses: Set<InventoryEntry["status"]> }>();
  for (const p of policies) {
    for (const a of p.spec.authorities) {
      // a static authority (imported policy-controller `static`) trusts no signer
      if (a.static) continue;
      const link = { policy: p.name, alias: a.name, mode: p.mode };
      const addLink = (d: Described) => {
        if (!d.entry.policies.some((x) => x.policy === link.policy && x.alias === link.alias)) d.entry.policies.push(link);
      };
      const keys = p.keys.filter((k) => k.authority === a.name);
      for (const k of keys) {
        // a stored key (by ref, or an inline copy of it: same fingerprint) is listed under its stored entry
        const stored = k.ref !== undefined ? byName.get(k.ref) : byFp.get(normalizeFingerprint(k.fingerprint));
        if (stored) {
          addLink(stored);
          continue;
        }
        const fp = normalizeFingerprint(k.fingerprint);
        let known = inlineKeys.get(fp);
        if (!known) {
          known = {
            statuses: new Set(),
            d: {
              target: { kind: "fingerprint", fingerprint: fp },
              entry: {
                ref: fp,
                name: keyName({ fingerprint: fp }),
                kind: "key",
                source: "policy",
                fingerprint: fp,
                algorithm: keyAlgorithm(k.pem),
                identities: [],
                owner: null,
                createdAt: null,
                rotateBy: null,
                validFrom: iso(k.validFrom),
                validUntil: iso(k.validUntil),
                status: k.status,
                revokedAt: null,
                revokedReason: null,
                policies: [],
                editable: false,
              },
            },
          };
          inlineKeys.set(fp, known);
          out.push(known.d);
        }
        known.statuses.add(k.status);
        addLink(known.d);
      }
      if (keys.length || !a.keyless) continue;
      out.push({
        target: { kind: "policy", policy: p.name, authority: a.name },
        entry: {
          ref: `policy:${p.name}/${a.name}`,
          name: `${p.name}/${a.name}`,
          kind: "keyless",
          source: "policy",
          fingerprint: null,
          algorithm: null,
          identities: a.keyless.identities.map((i) => ({ issuer: i.issuer ?? `/${i.issuerRegExp}/`, subject: i.subject ?? `/${i.subjectRegExp}/` })),
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
      });
    }
  }
  // an inline key is revoked once every policy writing it revoked it; retiring while one still retires it
  for (const { d, statuses } of inlineKeys.values()) {
    d.entry.status = statuses.has("retiring") ? "retiring" : statuses.has("active") ? "active" : "revoked";
  }
  return out;
}

/** The authorities in force (stored and inline in policies) with the policies that use them, without usage: cheap, for reports. */
export async function listAuthorities(db: Db): Promise<Omit<InventoryEntry, "usage" | "trend" | "resign">[]> {
  return (await describeAuthorities(db, await loadFleetPolicies(db))).map((d) => d.entry);
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

/** A running container an authority's usage counts, where it runs and its image. */
export interface UsageContainer {
  containerId: string;
  cluster: string;
  namespace: string;
  imageId: string;
}

/**
 * The running containers behind an authority's usage on the Keys page (`ref` its row's ref: "stored:<name>",
 * "sha256:<hex>", "policy:<policy>/<authority>"), in the order of their ids, with its one display name:
 * the same authorities, targets and fleet evaluation as `getInventory`'s `usage` (lib/trust/fleet
 * `usageHits`), so the figure and the list agree. Null: no such authority.
 */
export async function authorityUsage(db: Db, ref: string, now = new Date()): Promise<{ ref: string; name: string; containers: UsageContainer[] } | null> {
  const [policies, fleet] = await Promise.all([loadFleetPolicies(db), loadFleet(db)]);
  const described = (await describeAuthorities(db, policies)).find((d) => d.entry.ref === ref);
  if (!described) return null;
  const byId = new Map<string, UsageContainer>();
  for (const h of usageHits(evaluateFleet(fleet, policies, now), described.target))
    byId.set(h.container.containerId, { containerId: h.container.containerId, cluster: h.container.cluster, namespace: h.container.namespace, imageId: h.image.imageId });
  return { ref, name: described.entry.name, containers: [...byId.values()].sort((a, b) => (a.containerId < b.containerId ? -1 : a.containerId > b.containerId ? 1 : 0)) };
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

/**
 * The one name of every signer Signet trusts, as the Keys page lists it: "key:sha256:<hex>" and
 * "keyless:<issuer>|<subject>" (exact identities) → the authority's name (a stored key's name, the
 * short fingerprint of a key written inline in policies (lib/ui/format keyName), "<policy>/<authority>"
 * for an inline keyless identity). Pages name keys through this only.
 */
export async function authorityNames(db: Db): Promise<Record<string, string>> {
  const described = await describeAuthorities(db, await loadFleetPolicies(db));
  const names: Record<string, string> = {};
  for (const { entry } of described) {
    if (entry.fingerprint) names[`key:${normalizeFingerprint(entry.fingerprint)}`] ??= entry.name;
    for (const i of entry.identities) if (!i.issuer.startsWith("/") && !i.subject.startsWith("/")) names[`keyless:${i.issuer}|${i.subject}`] ??= entry.name;
  }
  return names;
}

/** Every authority's policies as the Keys page lists them ("Used by"), by authority name. */
export async function authorityPolicies(db: Db): Promise<Record<string, string[]>> {
  const described = await describeAuthorities(db, await loadFleetPolicies(db));
  return Object.fromEntries(described.map(({ entry }) => [entry.name, [...new Set(entry.policies.map((p) => p.policy))]]));
}
