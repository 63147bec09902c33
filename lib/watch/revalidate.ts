import "server-only";
import type { Db } from "@/lib/db/client";
import { mapLimit } from "@/lib/concurrency";
import type { ScanAdapters } from "@/lib/scan/adapters";
import { loadStoredSources, markRevalidated } from "@/lib/scan/evidence-store";
import { pullSecretSourcesOfImages } from "@/lib/scan/pull-secret-sources";

export interface RevalidationResult {
  /** Running images whose signatures were compared. */
  images: number;
  /** Distinct repositories they live in (one tag listing each). */
  repositories: number;
  /** Images whose cosign tags or referrers differ from their stored evidence: to discover again. */
  changed: string[];
}

const same = (a: ReadonlySet<string>, b: ReadonlySet<string>) => a.size === b.size && [...a].every((x) => b.has(x));

/**
 * Hot repositories — those with images running in `clusters` (the clusters this worker follows) — compared with what is stored, cheaply:
 * per repository one tag listing (every page) through a DiscoverySession, which answers for all its
 * images whether a cosign tag (sha256-<hex>.sig / .att / .sbom, the referrers tag) appeared or
 * vanished; per image one referrers-API request where the registry has that API (a registry without
 * it answers the first image's request with 404 and is not asked again in the cycle). Nothing is
 * fetched beyond listings: the images that changed are returned for a full discovery.
 *
 * Images whose stored discovery failed, or was never made, are left to their checks and the scans.
 */
export async function revalidateHotImages(opts: { db: Db; adapters: Pick<ScanAdapters, "openDiscoveryBatch" | "readsPullSecrets">; clusters: readonly string[] }): Promise<RevalidationResult> {
  const { db } = opts;
  if (opts.clusters.length === 0) return { images: 0, repositories: 0, changed: [] };
  // A repository is revalidated by one worker per cycle: the one following the first (by name) of the
  // followed clusters — those with a live watch lease, and this worker's own — that run one of its
  // images. It revalidates every image of the repository running in any of them, so a repository
  // running in clusters followed by several workers is listed once, not once per worker.
  const mine = [...opts.clusters];
  const images = await db.$queryRaw<{ id: string; registry: string; repository: string; digest: string; artifactDigests: string[] }[]>`
    WITH hot AS (
      SELECT DISTINCT i.id, i.registry, i.repository, cl.name AS cluster FROM "Image" i
      JOIN "Container" c ON c."imageId" = i.id
      JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL
      JOIN "Cluster" cl ON cl.id = p."clusterId"
      WHERE i."runningContainers" > 0 AND i.discovery IN ('found', 'none')
        AND (cl.name = ANY(${mine}::text[]) OR EXISTS (SELECT 1 FROM "ClusterLease" l WHERE l."cluster" = cl.name AND l."expiresAt" > now()))
    ), owner AS (
      SELECT registry, repository, min(cluster) AS cluster FROM hot GROUP BY registry, repository
    )
    SELECT i.id, i.registry, i.repository, i.digest, i."artifactDigests" FROM "Image" i
    WHERE i.id IN (SELECT h.id FROM hot h JOIN owner o ON o.registry = h.registry AND o.repository = h.repository WHERE o.cluster = ANY(${mine}::text[]))
    ORDER BY i.registry, i.repository`;
  if (images.length === 0) return { images: 0, repositories: 0, changed: [] };
  const stored = await loadStoredSources(db, images.map((i) => i.id));
  const batch = await opts.adapters.openDiscoveryBatch();
  // a private registry lists its tags with the pull secrets of the pods running the image
  const pullSecrets = opts.adapters.readsPullSecrets ? await pullSecretSourcesOfImages(db, images.map((i) => i.id)) : undefined;
  const changed: string[] = [];
  const confirmed: string[] = [];
  // (taken before the registry is asked: the stored confirmation never claims more than was seen)
  const listedAt = new Date();
  // images of one repository wait for its one listing (the session shares it)
  await mapLimit(images, 8, async (image) => {
    const at = { registry: image.registry, repository: image.repository, digest: image.digest };
    const s = stored.get(image.id)!;
    const tags = await batch.cosignTags(at, pullSecrets?.get(image.id));
    if (tags && !same(tags, s.tags)) {
      changed.push(image.id);
      return;
    }
    const referrers = await batch.referrerDigests?.(at, pullSecrets?.get(image.id));
    const known = new Set(image.artifactDigests);
    if (referrers && ([...referrers].some((d) => !known.has(d)) || [...s.referrers].some((d) => !referrers.has(d)))) changed.push(image.id);
    // the same cosign tags (and referrers, where the registry has the API): scans within the bound reuse it
    else if (tags) confirmed.push(image.id);
  });
  await markRevalidated(db, confirmed, listedAt);
  return { images: images.length, repositories: new Set(images.map((i) => `${i.registry}/${i.repository}`)).size, changed };
}
