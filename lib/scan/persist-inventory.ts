import "server-only";
import { z } from "zod";
import { createHash } from "node:crypto";
import { canonicalJson } from "@/lib/audit/chain";
import type { Db } from "@/lib/db/client";
import { uuidList } from "@/lib/db/bulk";
import { withTransaction } from "@/lib/db/transaction";
import type { ClusterInventory, ClusterRejections, ListVersions, NamespaceRecord, PodRecord } from "@/lib/kube/types";

/**
 * Writes one cluster's inventory with set-based upserts (INSERT … SELECT FROM unnest … ON CONFLICT),
 * a few statements per thousand rows instead of one per row. Pods no longer listed are marked
 * deleted (their history stays). A failed inventory records the cluster's error and keeps the last
 * known inventory untouched: a failure never erases data.
 */
export interface PersistResult {
  clusterId: string;
  pods: number;
  containers: number;
  images: number;
  deletedPods: number;
  /** Images whose containers appeared or changed digest in this inventory. */
  imageIds: string[];
  /** The pods and containers were exactly those last persisted (no row compared or written). */
  unchanged: boolean;
  /** Pod and container rows written because they were new or differed from the stored ones. */
  written: { pods: number; containers: number };
}

/**
 * A digest of everything persistInventory writes (namespaces, workloads, pods, containers and the
 * images they run), independent of list order.
 * Equal digests mean equal rows: only this function's caller writes pods and containers (tag
 * resolution only fills digests the inventory lacks, which the row-by-row path keeps as well).
 */
export function inventoryHash(inv: Pick<ClusterInventory, "namespaces" | "workloads" | "pods">): string {
  const h = createHash("sha256").update("inventory-v3\n");
  // the text is handed to the hash in pieces of about 64 KB, not a call per line (two per pod: most of
  // this function's time at 33,000 pods), and each sort key is built once, not at every comparison;
  // the digest is the same whatever the pieces
  let text = "";
  const add = (line: string) => {
    text += line;
    if (text.length >= 65_536) {
      h.update(text);
      text = "";
    }
  };
  const sorted = <T>(items: readonly T[], key: (x: T) => string): T[] =>
    items
      .map((x) => ({ k: key(x), x }))
      .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
      .map((e) => e.x);
  for (const n of sorted(inv.namespaces, (x) => x.name)) add(`${JSON.stringify([n.name, canonicalJson(n.labels)])}\n`);
  for (const w of sorted(inv.workloads, (x) => `${x.namespace}\u0000${x.kind}\u0000${x.name}`)) add(`${JSON.stringify([w.namespace, w.kind, w.name])}\n`);
  add("pods\n");
  const pods = [...inv.pods].sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
  for (const p of pods) {
    add(
      `${JSON.stringify([
        p.uid,
        p.namespace,
        p.name,
        p.phase,
        p.nodeName,
        p.pullSecrets,
        p.serviceAccount,
        p.workload.kind,
        p.workload.name,
        p.containers.map((c) => [c.kind, c.name, c.imageRef, c.digest, c.digestSource, c.image ? `${c.image.registry}/${c.image.repository}` : null]),
      ])}\n`,
    );
  }
  return h.update(text).digest("hex");
}

const CHUNK = 2000;

function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function upsertCluster(db: Db, inv: Pick<ClusterInventory, "cluster" | "error" | "collectedAt">): Promise<string> {
  const c = inv.cluster;
  const row = await db.cluster.upsert({
    where: { name: c.name },
    create: {
      name: c.name,
      source: c.source,
      context: c.context,
      server: c.server,
      ...(inv.error ? { lastError: `${inv.error.kind}: ${inv.error.message}`, lastErrorAt: inv.error.at } : { lastInventoryAt: inv.collectedAt }),
    },
    update: {
      source: c.source,
      context: c.context,
      server: c.server,
      ...(inv.error
        ? { lastError: `${inv.error.kind}: ${inv.error.message}`, lastErrorAt: inv.error.at }
        : { lastInventoryAt: inv.collectedAt, lastError: null, lastErrorAt: null }),
    },
    select: { id: true },
  });
  return row.id;
}

/**
 * Called first inside a write's transaction; throwing rolls the write back. A cluster watch passes
 * its lease's fence (lib/jobs/lease.ts fenceLease): a worker that lost the cluster writes nothing.
 */
export interface WriteOptions {
  fence?: (tx: Tx) => Promise<void>;
  /**
   * Compare every row even when the inventory hashes as the last one persisted (a watch's
   * reconciliation: the stored rows are checked, not assumed to be that inventory).
   */
  compareRows?: boolean;
  /**
   * Recount the running containers of the images that ran or run in the cluster after the write
   * (default). A scan passes false: it recounts every image once after all its clusters are written
   * (prepareItems), which each cluster's recount would only repeat.
   */
  recount?: boolean;
}

export async function persistInventory(db: Db, inv: ClusterInventory, opts: WriteOptions = {}): Promise<PersistResult> {
  const clusterId = await upsertCluster(db, inv);
  if (inv.error) return { clusterId, pods: 0, containers: 0, images: 0, deletedPods: 0, imageIds: [], unchanged: false, written: { pods: 0, containers: 0 } };
  const now = inv.collectedAt;

  const r = await withTransaction(
    db,
    async (tx): Promise<PersistResult & { after?: { recount: string[]; seen: string[] } }> => {
      await opts.fence?.(tx);
      // An inventory identical to the last one persisted changes no row: only the images it runs are
      // marked seen (image lists show when an image was last seen).
      const hash = inventoryHash(inv);
      const last = await tx.$queryRaw<{ inventoryHash: string | null }[]>`SELECT "inventoryHash" FROM "Cluster" WHERE id = ${clusterId}::uuid`;
      // where this inventory's lists were taken (none for an inventory not made of complete lists)
      const versions = inv.listVersions ? JSON.stringify(inv.listVersions) : null;
      if (last[0]?.inventoryHash === hash && !opts.compareRows) {
        await tx.$executeRaw`UPDATE "Cluster" SET "listVersions" = ${versions}::jsonb WHERE id = ${clusterId}::uuid`;
        // (to the minute, as keepInventory)
        await tx.$executeRaw`
          UPDATE "Image" SET "lastSeen" = ${now}
          WHERE "lastSeen" < ${new Date(now.getTime() - LAST_SEEN_PRECISION_MS)} AND id IN (
            SELECT c."imageId" FROM "Container" c JOIN "Pod" p ON p.id = c."podId"
            WHERE p."clusterId" = ${clusterId}::uuid AND p."deletedAt" IS NULL AND c."imageId" IS NOT NULL)`;
        const [seen] = await tx.$queryRaw<{ n: number }[]>`
          SELECT count(DISTINCT c."imageId")::int AS n FROM "Container" c JOIN "Pod" p ON p.id = c."podId"
          WHERE p."clusterId" = ${clusterId}::uuid AND p."deletedAt" IS NULL AND c."imageId" IS NOT NULL`;
        const containerCount = inv.pods.reduce((n, p) => n + p.containers.length, 0);
        return { clusterId, pods: inv.pods.length, containers: containerCount, images: seen?.n ?? 0, deletedPods: 0, imageIds: [], unchanged: true, written: { pods: 0, containers: 0 } };
      }
      const written = await writeRows(tx, clusterId, now, inv, "cluster");
      await tx.$executeRaw`UPDATE "Namespace" SET "deletedAt" = ${now} WHERE "clusterId" = ${clusterId}::uuid AND "deletedAt" IS NULL AND "lastSeen" < ${now}`;
      // pods no longer listed (a pod a watch wrote after this list was taken is not this list's to judge)
      const deleted = await tx.$executeRaw`
        UPDATE "Pod" SET "deletedAt" = ${now}
        WHERE "clusterId" = ${clusterId}::uuid AND "deletedAt" IS NULL AND "lastSeen" <= ${now} AND NOT (uid = ANY(${inv.pods.map((p) => p.uid)}::text[]))`;
      // the counts of images that ran here before this list or run here now (a watch's relist is not
      // followed by a scan's recount of every image: an image left alone here would stay counted)
      const ranHere = opts.recount === false ? [] : await tx.$queryRaw<{ id: string }[]>`SELECT id FROM "Image" WHERE ${clusterId}::uuid = ANY("runningClusters")`;
      await tx.$executeRaw`UPDATE "Cluster" SET "inventoryHash" = ${hash}, "listVersions" = ${versions}::jsonb WHERE id = ${clusterId}::uuid`;
      return {
        clusterId,
        pods: inv.pods.length,
        containers: written.containers,
        images: written.images,
        deletedPods: Number(deleted),
        imageIds: written.changedImages,
        unchanged: false,
        written: written.written,
        after: { recount: opts.recount === false ? [] : [...new Set([...ranHere.map((r) => r.id), ...written.changedImages])], seen: written.imageIds },
      };
    },
    { timeout: 120_000 },
  );
  const { after, ...result } = r;
  if (after) await imagesAfterInventory(db, after, now);
  return result;
}

/**
 * The image rows an inventory changes, written after its transaction (short statements of their own,
 * so that the inventory holds no image's row lock; writeRows): the images it runs marked seen, and the
 * running-container counts of those that ran or run in the cluster recounted. A process that dies in
 * between leaves counts the next scan's recount (updateRunningContainers of every image) makes true.
 */
async function imagesAfterInventory(db: Db, after: { recount: readonly string[]; seen: readonly string[] }, now: Date): Promise<void> {
  for (const part of chunks([...after.seen], 5000)) {
    await db.$executeRaw`UPDATE "Image" SET "lastSeen" = ${now} WHERE id = ANY(${part}::uuid[]) AND "lastSeen" < ${now}`;
  }
  await updateRunningContainers(db, after.recount);
}

/**
 * The list versions of a cluster's stored inventory, while the stored rows are exactly that
 * inventory (a write from a pod watch, persistInventoryChanges, clears inventoryHash: then none).
 */
export async function storedListVersions(db: Db, cluster: string): Promise<ListVersions | null> {
  const rows = await db.$queryRawUnsafe<{ name: string; v: unknown }[]>(STORED_LIST_VERSIONS_SQL, [cluster]);
  return parseListVersions(rows[0]?.v);
}

/**
 * What storedListVersions reads, as one statement for a plain pg client too ($1: cluster names; rows
 * `name`, `v`): `signet scan` reads it before its Prisma client is ready (cli/commands/unchanged-ahead.ts).
 */
export const STORED_LIST_VERSIONS_SQL = `SELECT name, "listVersions" AS v FROM "Cluster" WHERE name = ANY($1::text[]) AND "inventoryHash" IS NOT NULL`;

/** A stored `Cluster.listVersions` value, or null when it is not one. */
export function parseListVersions(v: unknown): ListVersions | null {
  const parsed = listVersionsSchema.safeParse(v);
  return parsed.success ? parsed.data : null;
}

const listVersionsSchema = z.object({ server: z.string().nullable(), namespaces: z.string(), pods: z.string(), replicasets: z.string(), jobs: z.string() });

/**
 * A cluster proven unchanged since its stored inventory (lib/kube/unchanged.ts): nothing is written
 * but what a persisted identical inventory writes — the cluster's inventory time, and the images it
 * runs marked seen. Returns the count of its live pods.
 */
export async function keepInventory(db: Db, cluster: string, now: Date): Promise<{ clusterId: string; pods: number }> {
  return withTransaction(db, async (tx) => {
    const [row] = await tx.$queryRaw<{ id: string }[]>`
      UPDATE "Cluster" SET "lastInventoryAt" = ${now}, "lastError" = NULL, "lastErrorAt" = NULL WHERE name = ${cluster} RETURNING id`;
    if (!row) throw new Error(`no stored inventory of cluster ${cluster}`);
    // (to the minute: images shared by the clusters of a scan are not rewritten for each of them)
    await tx.$executeRaw`
      UPDATE "Image" SET "lastSeen" = ${now}
      WHERE "lastSeen" < ${new Date(now.getTime() - LAST_SEEN_PRECISION_MS)} AND id IN (
        SELECT c."imageId" FROM "Container" c JOIN "Pod" p ON p.id = c."podId"
        WHERE p."clusterId" = ${row.id}::uuid AND p."deletedAt" IS NULL AND c."imageId" IS NOT NULL)`;
    const [n] = await tx.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM "Pod" WHERE "clusterId" = ${row.id}::uuid AND "deletedAt" IS NULL`;
    return { clusterId: row.id, pods: n?.n ?? 0 };
  }, { timeout: 60_000 });
}

/** How stale an image's lastSeen may be left by a cluster proven unchanged (keepInventory). */
const LAST_SEEN_PRECISION_MS = 60_000;

/** What changed in a cluster since the last write, as a pod watch reports it (lib/watch). */
export interface InventoryChanges {
  cluster: ClusterInventory["cluster"];
  collectedAt: Date;
  /** Namespaces added or whose labels changed. */
  namespaces: NamespaceRecord[];
  /** Names of namespaces deleted. */
  deletedNamespaces?: string[];
  /** Pods added or changed, with their workload resolved. */
  pods: PodRecord[];
  /** Uids of pods deleted. */
  deletedUids: string[];
}

export interface ChangesResult {
  clusterId: string;
  /** Images whose containers appeared or changed digest (their new containers need verdicts). */
  imageIds: string[];
  /** Images whose running-container count may have moved (new, changed and deleted pods' images). */
  touchedImageIds: string[];
  /** Images running in namespaces whose labels changed (policies may select namespaces by label). */
  namespaceImageIds: string[];
  deletedPods: number;
}

/**
 * Writes a batch of watch changes with the same statements as a full inventory (writeRows), limited to
 * the pods named: pods added or changed are upserted, deleted pods are marked deleted (they leave
 * coverage), namespace labels follow, deleted namespaces are marked deleted. The cluster's inventory digest is cleared: the rows no longer
 * come from one list, so the next full inventory compares row by row.
 */
export async function persistInventoryChanges(db: Db, changes: InventoryChanges, opts: WriteOptions = {}): Promise<ChangesResult> {
  const clusterId = await upsertCluster(db, { cluster: changes.cluster, error: null, collectedAt: changes.collectedAt });
  const now = changes.collectedAt;
  const r = await withTransaction(
    db,
    async (tx) => {
      await opts.fence?.(tx);
      // the images the changed and deleted pods ran before this batch
      const uids = [...changes.pods.map((p) => p.uid), ...changes.deletedUids];
      const before = uids.length
        ? await tx.$queryRaw<{ imageId: string }[]>`
            SELECT DISTINCT c."imageId" FROM "Container" c JOIN "Pod" p ON p.id = c."podId"
            WHERE p."clusterId" = ${clusterId}::uuid AND p.uid = ANY(${uids}::text[]) AND c."imageId" IS NOT NULL`
        : [];
      const written = await writeRows(tx, clusterId, now, { namespaces: changes.namespaces, workloads: [], pods: changes.pods }, "listed");
      const deleted = changes.deletedUids.length
        ? await tx.$executeRaw`
            UPDATE "Pod" SET "deletedAt" = ${now}
            WHERE "clusterId" = ${clusterId}::uuid AND "deletedAt" IS NULL AND uid = ANY(${changes.deletedUids}::text[])`
        : 0;
      if (changes.deletedNamespaces?.length) {
        await tx.$executeRaw`
          UPDATE "Namespace" SET "deletedAt" = ${now}
          WHERE "clusterId" = ${clusterId}::uuid AND "deletedAt" IS NULL AND name = ANY(${changes.deletedNamespaces}::text[])`;
      }
      const labelled = changes.namespaces.map((n) => n.name);
      const inNamespaces = labelled.length
        ? await tx.$queryRaw<{ imageId: string }[]>`
            SELECT DISTINCT c."imageId" FROM "Container" c JOIN "Pod" p ON p.id = c."podId" JOIN "Namespace" n ON n.id = p."namespaceId"
            WHERE p."clusterId" = ${clusterId}::uuid AND p."deletedAt" IS NULL AND n.name = ANY(${labelled}::text[]) AND c."imageId" IS NOT NULL`
        : [];
      const touched = [...new Set([...before.map((r) => r.imageId), ...written.imageIds])];
      await tx.$executeRaw`UPDATE "Cluster" SET "inventoryHash" = NULL, "lastInventoryAt" = ${now} WHERE id = ${clusterId}::uuid`;
      return {
        clusterId,
        imageIds: written.changedImages,
        touchedImageIds: touched,
        namespaceImageIds: inNamespaces.map((r) => r.imageId),
        deletedPods: Number(deleted),
        seen: written.imageIds,
      };
    },
    { timeout: 120_000 },
  );
  const { seen, ...result } = r;
  await imagesAfterInventory(db, { recount: result.touchedImageIds, seen }, now);
  return result;
}

/**
 * Keeps the denormalized count of running containers and the clusters they are in (sorted ids) true
 * for the given images (every image when `imageIds` is undefined), including images whose last pod
 * just went away: one aggregate over the live containers, not a count per image.
 */
export async function updateRunningContainers(db: Db, imageIds?: readonly string[]): Promise<void> {
  if (imageIds === undefined) {
    await db.$executeRaw`
      UPDATE "Image" i SET "runningContainers" = COALESCE(n.count, 0), "runningClusters" = COALESCE(n.clusters, '{}')
      FROM "Image" i2
      LEFT JOIN (SELECT c."imageId", count(*)::int AS count, array_agg(DISTINCT p."clusterId" ORDER BY p."clusterId") AS clusters
                 FROM "Container" c JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL
                 WHERE c."imageId" IS NOT NULL GROUP BY c."imageId") n ON n."imageId" = i2.id
      WHERE i2.id = i.id AND (i."runningContainers" IS DISTINCT FROM COALESCE(n.count, 0) OR i."runningClusters" IS DISTINCT FROM COALESCE(n.clusters, '{}'))`;
    return;
  }
  if (imageIds.length === 0) return;
  await db.$executeRaw`
    UPDATE "Image" i SET "runningContainers" = COALESCE(n.count, 0), "runningClusters" = COALESCE(n.clusters, '{}')
    FROM unnest(${[...imageIds]}::uuid[]) AS t(id)
    LEFT JOIN (SELECT c."imageId", count(*)::int AS count, array_agg(DISTINCT p."clusterId" ORDER BY p."clusterId") AS clusters
               FROM "Container" c JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL
               WHERE c."imageId" = ANY(${[...imageIds]}::uuid[]) GROUP BY c."imageId") n ON n."imageId" = t.id
    WHERE i.id = t.id AND (i."runningContainers" IS DISTINCT FROM COALESCE(n.count, 0) OR i."runningClusters" IS DISTINCT FROM COALESCE(n.clusters, '{}'))`;
}

type Tx = Parameters<Parameters<typeof withTransaction>[1]>[0];

/**
 * The one way inventory rows are written (a full inventory and a watch's changes alike): namespaces,
 * workloads, images, pods and containers with set-based upserts; only new or changed pod and container
 * rows are written. `scope` says which stored pods to compare with: the cluster's live ones (a full
 * list) or only those listed (a batch of changes).
 */
async function writeRows(
  tx: Tx,
  clusterId: string,
  now: Date,
  inv: Pick<ClusterInventory, "namespaces" | "workloads" | "pods">,
  scope: "cluster" | "listed",
): Promise<{ containers: number; images: number; changedImages: string[]; imageIds: string[]; written: { pods: number; containers: number } }> {
  // namespaces
  const nsRows = inv.namespaces.length
    ? await tx.$queryRaw<{ id: string; name: string }[]>`
        INSERT INTO "Namespace" (id, "clusterId", name, labels, "firstSeen", "lastSeen", "deletedAt")
        SELECT gen_random_uuid(), ${clusterId}::uuid, n, l::jsonb, ${now}, ${now}, NULL
        FROM unnest(${inv.namespaces.map((n) => n.name)}::text[], ${inv.namespaces.map((n) => JSON.stringify(n.labels))}::text[]) AS t(n, l)
        ON CONFLICT ("clusterId", name) DO UPDATE SET labels = EXCLUDED.labels, "lastSeen" = EXCLUDED."lastSeen", "deletedAt" = NULL
        RETURNING id, name`
    : [];
  const nsId = new Map(nsRows.map((r) => [r.name, r.id]));
  // namespaces referenced by pods but not listed (e.g. created between the two lists)
  const missingNs = [...new Set(inv.pods.map((p) => p.namespace))].filter((n) => !nsId.has(n));
  if (missingNs.length) {
    const extra = await tx.$queryRaw<{ id: string; name: string }[]>`
      INSERT INTO "Namespace" (id, "clusterId", name, labels, "firstSeen", "lastSeen")
      SELECT gen_random_uuid(), ${clusterId}::uuid, n, '{}'::jsonb, ${now}, ${now} FROM unnest(${missingNs}::text[]) AS t(n)
      ON CONFLICT ("clusterId", name) DO UPDATE SET "lastSeen" = EXCLUDED."lastSeen", "deletedAt" = NULL
      RETURNING id, name`;
    for (const r of extra) nsId.set(r.name, r.id);
  }

  // workloads (one per namespace/kind/name, including bare pods as kind Pod)
  const wlKey = (ns: string, kind: string, name: string) => `${ns}\u0000${kind}\u0000${name}`;
  const wl = new Map<string, { ns: string; kind: string; name: string }>();
  for (const w of inv.workloads) wl.set(wlKey(w.namespace, w.kind, w.name), { ns: w.namespace, kind: w.kind, name: w.name });
  for (const p of inv.pods) wl.set(wlKey(p.namespace, p.workload.kind, p.workload.name), { ns: p.namespace, kind: p.workload.kind, name: p.workload.name });
  const wlId = new Map<string, string>();
  for (const part of chunks([...wl.values()])) {
    const rows = await tx.$queryRaw<{ id: string; ns: string; kind: string; name: string }[]>`
      INSERT INTO "Workload" (id, "clusterId", "namespaceId", kind, name, "firstSeen", "lastSeen")
      SELECT gen_random_uuid(), ${clusterId}::uuid, ns, k::"WorkloadKind", n, ${now}, ${now}
      FROM json_to_recordset(${JSON.stringify(part.map((w) => ({ ns: nsId.get(w.ns)!, k: w.kind, n: w.name })))}::json) AS t(ns uuid, k text, n text)
      ON CONFLICT ("namespaceId", kind, name) DO UPDATE SET "lastSeen" = EXCLUDED."lastSeen"
      RETURNING id, "namespaceId" AS ns, kind::text AS kind, name`;
    const nsName = new Map([...nsId].map(([n, id]) => [id, n]));
    for (const r of rows) wlId.set(wlKey(nsName.get(r.ns)!, r.kind, r.name), r.id);
  }

  // images (distinct registry/repository/digest of containers whose digest is known)
  const imgKey = (reg: string, repo: string, dig: string) => `${reg}/${repo}@${dig}`;
  const images = new Map<string, { reg: string; repo: string; dig: string }>();
  for (const p of inv.pods) {
    for (const c of p.containers) {
      if (c.digest && c.image) images.set(imgKey(c.image.registry, c.image.repository, c.digest), { reg: c.image.registry, repo: c.image.repository, dig: c.digest });
    }
  }
  // images are read under a key-share lock (kept from deletion until commit, as the containers' foreign
  // key needs, but not from being updated) and only the missing ones inserted: an inventory's
  // transaction lasts seconds, and a row lock on every image it runs held the checks of those images
  // (discovery ahead, a watch's) until it committed — as did an upsert's unique check, which waits for
  // any transaction updating the row it conflicts with. Their lastSeen is marked after (imagesAfterInventory).
  // The list is joined as arrays (unnest), not as JSON rows like the inserts: the planner knows an
  // array's length but guesses 100 rows for json_to_recordset, and with Image's statistics taken before
  // the scan's first cluster added its images, that guess made a nested loop over an index of every
  // image per row — 2.8 s instead of 15 ms for 3,400 images of 10,000 (ADR 0019).
  const imgId = new Map<string, string>();
  const readImages = async (list: ReadonlyArray<{ reg: string; repo: string; dig: string }>) => {
    const rows = await tx.$queryRaw<{ id: string; registry: string; repository: string; digest: string }[]>`
      SELECT i.id, i.registry, i.repository, i.digest FROM "Image" i
      JOIN unnest(${list.map((i) => i.reg)}::text[], ${list.map((i) => i.repo)}::text[], ${list.map((i) => i.dig)}::text[]) AS t(r, p, d)
        ON i.registry = t.r AND i.repository = t.p AND i.digest = t.d
      FOR KEY SHARE OF i`;
    for (const r of rows) imgId.set(imgKey(r.registry, r.repository, r.digest), r.id);
  };
  for (const part of chunks([...images.values()])) {
    await readImages(part);
    const missing = part.filter((i) => !imgId.has(imgKey(i.reg, i.repo, i.dig)));
    if (missing.length === 0) continue;
    const inserted = await tx.$queryRaw<{ id: string; registry: string; repository: string; digest: string }[]>`
      INSERT INTO "Image" (id, registry, repository, digest, "firstSeen", "lastSeen")
      SELECT gen_random_uuid(), r, p, d, ${now}, ${now}
      FROM json_to_recordset(${JSON.stringify(missing.map((i) => ({ r: i.reg, p: i.repo, d: i.dig })))}::json) AS t(r text, p text, d text)
      ON CONFLICT (registry, repository, digest) DO NOTHING
      RETURNING id, registry, repository, digest`;
    for (const r of inserted) imgId.set(imgKey(r.registry, r.repository, r.digest), r.id);
    // inserted meanwhile by another transaction (which this insert waited for)
    const raced = missing.filter((i) => !imgId.has(imgKey(i.reg, i.repo, i.dig)));
    if (raced.length) await readImages(raced);
  }

  // pods: read the stored ones, write only what is new or changed (a rescan of an unchanged
  // cluster writes no pod row; a live pod's last sighting is the cluster's lastInventoryAt)
  const uids = inv.pods.map((p) => p.uid);
  const storedPods = await tx.$queryRaw<
    {
      id: string;
      uid: string;
      namespaceId: string;
      workloadId: string | null;
      name: string;
      phase: string | null;
      nodeName: string | null;
      pullSecrets: string[] | null;
      serviceAccount: string | null;
      deletedAt: Date | null;
    }[]
  >`SELECT id, uid, "namespaceId", "workloadId", name, phase, "nodeName", "pullSecrets", "serviceAccount", "deletedAt" FROM "Pod"
    WHERE "clusterId" = ${clusterId}::uuid AND (${scope === "cluster"} AND "deletedAt" IS NULL OR uid = ANY(${uids}::text[]))`;
  const podByUid = new Map(storedPods.map((p) => [p.uid, p]));
  const podId = new Map<string, string>();
  const podWrites = inv.pods.filter((p) => {
    const stored = podByUid.get(p.uid);
    // deleted (by a watch) after this inventory was taken: the deletion is the newer news
    if (stored?.deletedAt && stored.deletedAt > now) return false;
    const wl = wlId.get(wlKey(p.namespace, p.workload.kind, p.workload.name)) ?? null;
    if (
      stored &&
      stored.deletedAt === null &&
      stored.namespaceId === nsId.get(p.namespace) &&
      stored.workloadId === wl &&
      stored.name === p.name &&
      stored.phase === p.phase &&
      stored.nodeName === p.nodeName &&
      stored.serviceAccount === p.serviceAccount &&
      (stored.pullSecrets ?? []).join("\n") === p.pullSecrets.join("\n")
    ) {
      podId.set(p.uid, stored.id);
      return false;
    }
    return true;
  });
  for (const part of chunks(podWrites)) {
    const rows = await tx.$queryRaw<{ id: string; uid: string }[]>`
      INSERT INTO "Pod" (id, "clusterId", "namespaceId", "workloadId", uid, name, phase, "nodeName", "pullSecrets", "serviceAccount", "firstSeen", "lastSeen", "deletedAt")
      SELECT gen_random_uuid(), ${clusterId}::uuid, ns, wl, u, n, ph, nd, ARRAY(SELECT json_array_elements_text(ps)), sa, ${now}, ${now}, NULL
      FROM json_to_recordset(${JSON.stringify(
        part.map((p) => ({
          ns: nsId.get(p.namespace)!,
          wl: wlId.get(wlKey(p.namespace, p.workload.kind, p.workload.name)) ?? null,
          u: p.uid,
          n: p.name,
          ph: p.phase,
          nd: p.nodeName,
          ps: p.pullSecrets,
          sa: p.serviceAccount,
        })),
      )}::json) AS t(ns uuid, wl uuid, u text, n text, ph text, nd text, ps json, sa text)
      ON CONFLICT ("clusterId", uid) DO UPDATE SET "namespaceId" = EXCLUDED."namespaceId", "workloadId" = EXCLUDED."workloadId",
        name = EXCLUDED.name, phase = EXCLUDED.phase, "nodeName" = EXCLUDED."nodeName",
        "pullSecrets" = EXCLUDED."pullSecrets", "serviceAccount" = EXCLUDED."serviceAccount", "lastSeen" = EXCLUDED."lastSeen", "deletedAt" = NULL
      RETURNING id, uid`;
    for (const r of rows) podId.set(r.uid, r.id);
  }
  // containers: the same (only new or changed rows are written); report images whose container
  // set changed (a new container, or a container whose digest changed)
  const containers = inv.pods.filter((p) => podId.has(p.uid)).flatMap((p) =>
    p.containers.map((c) => ({
      pod: podId.get(p.uid)!,
      kind: c.kind as string,
      name: c.name,
      ref: c.imageRef,
      digest: c.digest,
      source: c.digestSource as string | null,
      image: c.digest && c.image ? (imgId.get(imgKey(c.image.registry, c.image.repository, c.digest)) ?? null) : null,
    })),
  );
  const key = (pod: string, kind: string, name: string) => `${pod}\u0000${kind}\u0000${name}`;
  const storedContainers = new Map<string, { imageRef: string; digest: string | null; digestSource: string | null; imageId: string | null }>();
  for (const part of chunks([...new Set(podId.values())], 5000)) {
    const rows = await tx.$queryRaw<{ podId: string; kind: string; name: string; imageRef: string; digest: string | null; digestSource: string | null; imageId: string | null }[]>`
      SELECT "podId", kind::text AS kind, name, "imageRef", digest, "digestSource"::text AS "digestSource", "imageId" FROM "Container" WHERE "podId" = ANY(string_to_array(${uuidList(part)}, ',')::uuid[])`;
    for (const r of rows) storedContainers.set(key(r.podId, r.kind, r.name), r);
  }
  const changedImages = new Set<string>();
  /** The (image, reference) pairs the written containers store: the image list's search by tag (ImageReference). */
  const references = new Map<string, { image: string; ref: string }>();
  const containerWrites = containers.filter((c) => {
    const stored = storedContainers.get(key(c.pod, c.kind, c.name));
    if (!stored) {
      if (c.image) {
        changedImages.add(c.image);
        references.set(`${c.image}\u0000${c.ref}`, { image: c.image, ref: c.ref });
      }
      return true;
    }
    // what the upsert below would store: a known digest wins over an unknown one
    const digest = c.digest ?? stored.digest;
    const source = c.digest === null ? stored.digestSource : c.source;
    const image = c.image ?? stored.imageId;
    if (digest !== stored.digest && image) changedImages.add(image);
    const write = stored.imageRef !== c.ref || digest !== stored.digest || source !== stored.digestSource || image !== stored.imageId;
    if (write && image) references.set(`${image}\u0000${c.ref}`, { image, ref: c.ref });
    return write;
  });
  for (const part of chunks(containerWrites)) {
    await tx.$executeRaw`
      INSERT INTO "Container" (id, "podId", "imageId", kind, name, "imageRef", digest, "digestSource", "firstSeen", "lastSeen")
      SELECT gen_random_uuid(), pod, img, k::"ContainerKind", n, ref, dig, src::"DigestSource", ${now}, ${now}
      FROM json_to_recordset(${JSON.stringify(part.map((c) => ({ pod: c.pod, img: c.image, k: c.kind, n: c.name, ref: c.ref, dig: c.digest, src: c.source })))}::json)
        AS t(pod uuid, img uuid, k text, n text, ref text, dig text, src text)
      ON CONFLICT ("podId", kind, name) DO UPDATE SET "imageRef" = EXCLUDED."imageRef",
        digest = COALESCE(EXCLUDED.digest, "Container".digest),
        "digestSource" = CASE WHEN EXCLUDED.digest IS NULL THEN "Container"."digestSource" ELSE EXCLUDED."digestSource" END,
        "imageId" = COALESCE(EXCLUDED."imageId", "Container"."imageId"),
        "lastSeen" = EXCLUDED."lastSeen"`;
  }
  await addImageReferences(tx, [...references.values()], now);
  const imageIds = [...new Set(containers.flatMap((c) => (c.image ? [c.image] : [])))];
  return { containers: containers.length, images: images.size, changedImages: [...changedImages], imageIds, written: { pods: podWrites.length, containers: containerWrites.length } };
}

/**
 * Records the references containers wrote for images (ImageReference: the image list's search by tag),
 * the new ones only. Sorted, so that two transactions adding overlapping pairs take their key locks in
 * the same order (no deadlock).
 */
export async function addImageReferences(db: Db | Tx, pairs: ReadonlyArray<{ image: string; ref: string }>, now: Date): Promise<void> {
  const sorted = [...pairs].sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  for (const part of chunks(sorted)) {
    await db.$executeRaw`
      INSERT INTO "ImageReference" ("imageId", ref, "firstSeen")
      SELECT i, r, ${now} FROM ROWS FROM (json_to_recordset(${JSON.stringify(part.map((p) => ({ i: p.image, r: p.ref })))}::json) AS (i uuid, r text)) WITH ORDINALITY AS t(i, r, n)
      ORDER BY n
      ON CONFLICT DO NOTHING`;
  }
}

/** Upserts admission rejections by (cluster, event uid): counts and last-seen move forward only. */
export async function persistRejections(db: Db, rej: ClusterRejections): Promise<number> {
  const clusterId = await upsertCluster(db, { cluster: rej.cluster, error: rej.error, collectedAt: rej.collectedAt });
  if (rej.error || rej.rejections.length === 0) return 0;
  let n = 0;
  for (const part of chunks(rej.rejections, 1000)) {
    n += Number(await db.$executeRaw`
      INSERT INTO "AdmissionRejection" (id, "clusterId", namespace, "workloadKind", "workloadName", image, controller, webhook, "policyName", message, "eventUid", "firstSeen", "lastSeen", count)
      SELECT gen_random_uuid(), ${clusterId}::uuid, ns, wk, wn, img, ctl::"AdmissionController", wh, pol, msg, uid, fs, ls, cnt
      FROM unnest(
        ${part.map((r) => r.namespace)}::text[], ${part.map((r) => r.workloadKind)}::text[], ${part.map((r) => r.workloadName)}::text[],
        ${part.map((r) => r.image)}::text[], ${part.map((r) => r.controller)}::text[], ${part.map((r) => r.webhook)}::text[],
        ${part.map((r) => r.policyName)}::text[], ${part.map((r) => r.message)}::text[], ${part.map((r) => r.eventUid)}::text[],
        ${part.map((r) => r.firstSeen)}::timestamptz[], ${part.map((r) => r.lastSeen)}::timestamptz[], ${part.map((r) => r.count)}::int[]
      ) AS t(ns, wk, wn, img, ctl, wh, pol, msg, uid, fs, ls, cnt)
      ON CONFLICT ("clusterId", "eventUid") DO UPDATE SET
        "lastSeen" = GREATEST("AdmissionRejection"."lastSeen", EXCLUDED."lastSeen"),
        count = GREATEST("AdmissionRejection".count, EXCLUDED.count),
        message = EXCLUDED.message`);
  }
  return n;
}
