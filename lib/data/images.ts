import "server-only";
import type { Db } from "@/lib/db/client";
import type { Tx } from "@/lib/db/transaction";
import type { Prisma } from "@/lib/generated/prisma/client";
import { imageDetailDto, imageFacetsDto, type ImageDetailDto, type ImageFacetsDto } from "@/lib/dto/dashboard";
import { FAILING_VERDICTS, imageListDto, type ImageListDto, type ImageListQuery, type VerdictValueDto } from "@/lib/dto/read";
import { tagOf, tryParseImageReference } from "@/lib/registry/reference";
import { factId } from "@/lib/trust/facts";
import { verdictEvaluatedAt } from "@/lib/data/drilldown";

/**
 * Whether an image list filters on the verdict rows of running containers (a policy's verdicts, stale
 * or unknown ones) rather than on the image's denormalized overall verdict.
 */
const byVerdictRows = (q: ImageListQuery): boolean => q.policy !== undefined || q.verdict === "stale";

/** Images with running containers, filtered, sorted and paginated on the server. */
export async function listImages(db: Db | Tx, q: ImageListQuery): Promise<ImageListDto> {
  const running: Prisma.ContainerWhereInput = {
    pod: {
      deletedAt: null,
      ...(q.cluster ? { cluster: { name: q.cluster } } : {}),
      ...(q.namespace ? { namespace: { name: q.namespace } } : {}),
    },
  };
  const [refMatches, cluster, verdictRows] = await Promise.all([
    q.q ? imagesByReference(db, q.q) : [],
    q.cluster && !q.namespace ? db.cluster.findUnique({ where: { name: q.cluster }, select: { id: true } }) : null,
    byVerdictRows(q) ? verdictRowsFilter(db, q) : null,
  ]);
  const where: Prisma.ImageWhereInput = {
    AND: [
      // Denormalized where each image runs (kept by every scan and watch: lib/scan/persist-inventory
      // updateRunningContainers, lib/scan/evaluate-image): without a namespace filter, the count answers
      // "is it running" and the cluster ids "does it run in this cluster" (GIN index), without a join over
      // containers and pods.
      q.namespace
        ? { containers: { some: running } }
        : q.cluster
          ? // an unknown cluster runs nothing
            cluster ? { runningClusters: { has: cluster.id } } : { id: { in: [] } }
          : { runningContainers: { gt: 0 } },
      verdictRows ?? (q.verdict ? { verdict: q.verdict === "failing" ? { in: [...FAILING_VERDICTS] } : (q.verdict as VerdictValueDto) } : {}),
      q.registry ? { registry: q.registry } : {},
      q.signer ? { signers: { has: q.signer } } : {},
      q.q
        ? {
            OR: [
              { repository: { contains: q.q, mode: "insensitive" as const } },
              { digest: { startsWith: q.q.startsWith("sha256:") ? q.q : `sha256:${q.q}` } },
              // a tag (or any part of the reference as written) of a container: one bounded read, not a
              // correlated subquery per image
              ...(refMatches.length ? [{ id: { in: refMatches } }] : []),
              // A name in any Docker Hub form ("docker.io/redis", "redis:7") also finds its canonical repository.
              ...canonicalNameFilter(q.q),
            ],
          }
        : {},
    ],
  };
  const orderBy: Prisma.ImageOrderByWithRelationInput[] =
    q.sort === "lastSeen"
      ? [{ lastSeen: q.order }, { digest: "asc" }, { id: "asc" }]
      : q.sort === "containers"
        ? [{ runningContainers: q.order }, { digest: "asc" }, { id: "asc" }]
        : q.sort === "verdict"
          ? [{ verdict: { sort: q.order, nulls: "last" } }, { repository: "asc" }, { digest: "asc" }, { id: "asc" }]
          : [{ registry: q.order }, { repository: q.order }, { digest: q.order }, { id: "asc" }];
  const [total, rows] = await Promise.all([
    db.image.count({ where }),
    db.image.findMany({
      where,
      orderBy,
      skip: (q.page - 1) * q.pageSize,
      take: q.pageSize,
      select: { id: true, registry: true, repository: true, digest: true, verdict: true, discovery: true, runningContainers: true, signers: true, lastSeen: true },
    }),
  ]);
  const tags = await runningTags(db, rows.map((r) => r.id));
  return imageListDto.parse({
    total,
    page: q.page,
    pageSize: q.pageSize,
    rows: rows.map((r) => ({ ...r, tags: tags.get(r.id) ?? [], lastSeen: r.lastSeen.toISOString() })),
  });
}

const DEFINITE_OR_ERROR = ["verified", "failed", "unsigned", "error"] as const;

/**
 * The images whose running containers' verdicts match the query, from the denormalized
 * `Image.policyVerdicts` (GIN; kept by every evaluation, lib/scan/evaluate-image): under `policy` when
 * given (an unknown policy matches nothing), with `verdict` as the value (`failing`: failed, unsigned or
 * error; `unmatched`: the policy judges none of its containers; `stale`: an `error` verdict — stale or
 * unknown — or a container of a cluster whose last inventory failed, as coverage counts them, ADR 0013).
 * Like the image's overall verdict, these are the image's, wherever it runs.
 */
async function verdictRowsFilter(db: Db | Tx, q: ImageListQuery): Promise<Prisma.ImageWhereInput> {
  const [policy, staleClusters] = await Promise.all([
    q.policy ? db.policy.findUnique({ where: { name: q.policy }, select: { id: true } }) : null,
    q.verdict === "stale" ? db.cluster.findMany({ where: { lastError: { not: null } }, select: { id: true } }) : [],
  ]);
  if (q.policy && !policy) return { id: { in: [] } };
  const entry = (v: string) => (policy ? `${policy.id}:${v}` : v);
  const judged: Prisma.ImageWhereInput = { policyVerdicts: policy ? { has: policy.id } : { hasSome: [...DEFINITE_OR_ERROR] } };
  return q.verdict === undefined
    ? judged
    : q.verdict === "unmatched"
      ? { NOT: judged }
      : q.verdict === "failing"
        ? { policyVerdicts: { hasSome: FAILING_VERDICTS.map(entry) } }
        : q.verdict === "stale"
          ? {
              OR: [
                { policyVerdicts: { has: entry("error") } },
                // a container whose cluster cannot be listed shows its last known verdict (one no policy judges stays unmatched)
                ...(staleClusters.length ? [{ AND: [{ runningClusters: { hasSome: staleClusters.map((c) => c.id) } }, judged] }] : []),
              ],
            }
          : { policyVerdicts: { has: entry(q.verdict) } };
}

/** Images whose containers wrote a reference containing `text` (a tag: "v1.2.3", ":latest"); at most 1,000. */
async function imagesByReference(db: Db | Tx, text: string): Promise<string[]> {
  const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const rows = await db.$queryRaw<{ imageId: string }[]>`
    SELECT DISTINCT "imageId"::text AS "imageId" FROM "ImageReference" WHERE ref ILIKE ${pattern} LIMIT 1000`;
  return rows.map((r) => r.imageId);
}

/** The tags running containers wrote for these images (one page of a list), sorted. */
async function runningTags(db: Db | Tx, imageIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (imageIds.length === 0) return out;
  const refs = await db.$queryRaw<{ imageId: string; imageRef: string }[]>`
    SELECT DISTINCT c."imageId"::text AS "imageId", c."imageRef" FROM "Container" c JOIN "Pod" p ON p.id = c."podId"
    WHERE c."imageId" = ANY(${imageIds}::uuid[]) AND p."deletedAt" IS NULL LIMIT 2000`;
  for (const r of refs) {
    const tag = tagOf(r.imageRef);
    if (!tag) continue;
    const list = out.get(r.imageId) ?? [];
    if (!list.includes(tag)) list.push(tag);
    out.set(r.imageId, list.sort());
  }
  return out;
}

function canonicalNameFilter(text: string): Prisma.ImageWhereInput[] {
  const ref = tryParseImageReference(text.trim());
  return ref ? [{ registry: ref.registry, repository: ref.repository }] : [];
}

/** Distinct values the image filters offer (running inventory only). */
export async function listImageFacets(db: Db): Promise<ImageFacetsDto> {
  const [clusters, namespaces, registries, signers, policies] = await Promise.all([
    db.cluster.findMany({ where: { enabled: true }, select: { name: true }, orderBy: { name: "asc" } }),
    db.$queryRaw<{ name: string }[]>`SELECT DISTINCT name FROM "Namespace" WHERE "deletedAt" IS NULL ORDER BY name LIMIT 2000`,
    db.$queryRaw<{ registry: string }[]>`SELECT DISTINCT registry FROM "Image" WHERE "runningContainers" > 0 ORDER BY registry LIMIT 500`,
    db.$queryRaw<{ signer: string }[]>`SELECT DISTINCT unnest(signers) AS signer FROM "Image" WHERE "runningContainers" > 0 ORDER BY 1 LIMIT 500`,
    db.policy.findMany({ where: { archivedAt: null }, select: { name: true }, orderBy: { name: "asc" }, take: 500 }),
  ]);
  return imageFacetsDto.parse({
    clusters: clusters.map((c) => c.name),
    namespaces: namespaces.map((n) => n.name),
    registries: registries.map((r) => r.registry),
    signers: signers.map((s) => s.signer),
    policies: policies.map((p) => p.name),
  });
}

/**
 * Every row of an image list (all pages) for a CSV export, in the list's order, `pageSize` rows per
 * read; capped. Run it in one snapshot (lib/db/cursor.ts withSnapshot) so that no row moves between
 * pages while they are read.
 */
export async function* iterateImages(db: Db | Tx, q: ImageListQuery, cap = 100_000, pageSize = 1000): AsyncGenerator<ImageListDto["rows"][number]> {
  let seen = 0;
  for (let page = 1; ; page += 1) {
    const res = await listImages(db, { ...q, page, pageSize });
    for (const row of res.rows) {
      if (seen++ >= cap) return;
      yield row;
    }
    if (res.rows.length < pageSize) return;
  }
}

const str = (v: unknown): string | null => (typeof v === "string" && v ? v : null);

/** One image: its trust chain (evidence with signer, Rekor entry, provenance), where it runs, verdicts and history. */
export async function getImageDetail(db: Db, id: string): Promise<ImageDetailDto | null> {
  const image = await db.image.findUnique({
    where: { id },
    include: {
      evidence: { orderBy: [{ kind: "asc" }, { fetchedAt: "asc" }] },
      containers: {
        where: { pod: { deletedAt: null } },
        include: {
          pod: { include: { cluster: { select: { name: true } }, namespace: { select: { name: true } }, workload: { select: { kind: true, name: true } } } },
          verdicts: { include: { policy: { select: { name: true, mode: true } } }, orderBy: { policy: { name: "asc" } } },
        },
        take: 500,
      },
    },
  });
  if (!image) return null;
  const history = await db.verificationEvent.findMany({
    where: { imageDigest: image.digest, kind: "verdict" },
    orderBy: { seq: "desc" },
    take: 200,
    select: { seq: true, occurredAt: true, clusterName: true, namespace: true, workload: true, policyName: true, policyVersion: true, verdict: true, previousVerdict: true },
  });
  const source = trustedSource(image.evidence, trustedEvidence(image.containers));
  return imageDetailDto.parse({
    id: image.id,
    registry: image.registry,
    repository: image.repository,
    digest: image.digest,
    verdict: image.verdict,
    discovery: image.discovery,
    discoveryError: image.discoveryError,
    discoveredAt: image.discoveredAt?.toISOString() ?? null,
    verifiedAt: image.verifiedAt?.toISOString() ?? null,
    signers: image.signers,
    source: source.fields,
    evidence: image.evidence.map((e) => ({
      id: e.id,
      trusted: e.status === "valid" && source.trusted.has(factId(e)),
      kind: e.kind,
      artifactDigest: e.artifactDigest,
      mediaType: e.mediaType,
      status: e.status,
      statusReason: e.statusReason,
      signerKind: e.signerKind,
      keyFingerprint: e.keyFingerprint,
      certIdentity: e.certIdentity,
      certIssuer: e.certIssuer,
      certExtensions: e.certExtensions && typeof e.certExtensions === "object" && !Array.isArray(e.certExtensions)
        ? Object.fromEntries(Object.entries(e.certExtensions).filter(([, v]) => v !== null))
        : null,
      tlogLogIndex: e.tlogLogIndex?.toString() ?? null,
      tlogIntegratedTime: e.tlogIntegratedTime?.toISOString() ?? null,
      predicateType: e.predicateType,
      provenance: e.provenance ?? null,
      verifiedAt: e.verifiedAt?.toISOString() ?? null,
    })),
    containers: image.containers.map((c) => ({
      id: c.id,
      cluster: c.pod.cluster.name,
      namespace: c.pod.namespace.name,
      workload: c.pod.workload ? `${c.pod.workload.kind}/${c.pod.workload.name}` : `Pod/${c.pod.name}`,
      pod: c.pod.name,
      name: c.name,
      imageRef: c.imageRef,
      verdicts: c.verdicts.map((v) => ({
        policy: v.policy.name,
        policyId: v.policyId,
        mode: v.policy.mode,
        policyVersion: v.policyVersion,
        verdict: v.value,
        reasons: ((v.reasons as { message?: string }[] | null) ?? []).map((r) => r.message ?? "").filter(Boolean),
        // (the image's running containers only: see the query)
        evaluatedAt: verdictEvaluatedAt(v.evaluatedAt, image.evaluatedAt, true).toISOString(),
      })),
    })),
    history: history.map((h) => ({ ...h, seq: h.seq.toString(), occurredAt: h.occurredAt.toISOString() })),
  });
}

/**
 * The evidence a policy trusted: what satisfied an authority of an applicable policy, as the current
 * verified verdicts of the image's running containers name it ("<artifact digest>#<layer index>").
 */
function trustedEvidence(containers: readonly { verdicts: readonly { value: string; evidenceIds: string[] }[] }[]): Set<string> {
  const ids = new Set<string>();
  for (const c of containers) for (const v of c.verdicts) if (v.value === "verified") for (const id of v.evidenceIds) ids.add(id);
  return ids;
}

type SourceFields = { repository: string | null; commit: string | null; builder: string | null; workflow: string | null; evidenceId: string | null };

/**
 * The source of the build as ONE piece of trusted evidence states it: the Fulcio extensions of a
 * trusted keyless signature, else the SLSA provenance of a trusted attestation. Evidence no policy
 * trusted (anyone can co-sign an image with a public Fulcio certificate) never fills it, and fields
 * never mix across signatures: a co-signer cannot choose what the trust chain shows.
 */
function trustedSource(
  evidence: readonly (Parameters<typeof factId>[0] & { id: string; status: string; certExtensions: unknown; provenance: unknown })[],
  trustedIds: ReadonlySet<string>,
): { fields: SourceFields; trusted: ReadonlySet<string> } {
  const empty: SourceFields = { repository: null, commit: null, builder: null, workflow: null, evidenceId: null };
  const candidates = evidence
    .filter((e) => e.status === "valid" && trustedIds.has(factId(e)))
    .map((e): SourceFields & { fromCert: boolean } => {
      const ext = (e.certExtensions ?? {}) as Record<string, unknown>;
      const prov = (e.provenance ?? {}) as Record<string, unknown>;
      const fromCert = str(ext.sourceRepositoryUri) ?? str(ext.githubWorkflowRepository);
      if (fromCert) {
        return {
          repository: fromCert,
          commit: str(ext.sourceRepositoryDigest) ?? str(ext.githubWorkflowSha),
          builder: str(ext.buildSignerUri),
          workflow: str(ext.buildConfigUri) ?? str(ext.githubWorkflowName),
          evidenceId: e.id,
          fromCert: true,
        };
      }
      return { repository: str(prov.sourceRepository), commit: str(prov.sourceCommit), builder: str(prov.builderId), workflow: str(prov.entryPoint), evidenceId: e.id, fromCert: false };
    })
    .filter((f) => f.repository || f.commit || f.builder || f.workflow);
  // a certificate's own statement first (it is the signer's identity), then provenance
  const { fromCert: _, ...fields } = candidates.find((f) => f.fromCert) ?? candidates[0] ?? { ...empty, fromCert: false };
  return { fields, trusted: trustedIds };
}
