import "server-only";
import type { Db } from "@/lib/db/client";
import { loadActivePolicies } from "@/lib/policy/store";
import { storedFact } from "@/lib/trust/facts";
import type { FleetImage, FleetPolicy } from "@/lib/trust/fleet";

/**
 * The fleet as stored: every running image with the facts its evidence holds, and the active policies.
 * Read by the inventory, reminders and revocation previews; nothing here verifies or writes.
 */

/**
 * Evidence columns a fact needs. `raw` (the layer record, up to 4 MiB per layer) is never read here:
 * the layer index that names a fact is its own column.
 */
const FACT_COLUMNS = {
  id: true,
  kind: true,
  artifactDigest: true,
  layerIndex: true,
  layerDigest: true,
  status: true,
  statusReason: true,
  signerKind: true,
  keyFingerprint: true,
  certIdentity: true,
  certIssuer: true,
  certExtensions: true,
  certNotAfter: true,
  tlogLogIndex: true,
  tlogIntegratedTime: true,
  predicateType: true,
  provenance: true,
} as const;

/** Every image with running containers, with the facts its stored evidence holds. */
export async function loadFleet(db: Pick<Db, "image">): Promise<FleetImage[]> {
  const images = await db.image.findMany({
    where: { containers: { some: { pod: { deletedAt: null } } } },
    include: {
      evidence: { select: FACT_COLUMNS },
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

/** The active policies with their compiled keys. */
export async function loadFleetPolicies(db: Db): Promise<FleetPolicy[]> {
  return (await loadActivePolicies(db)).flatMap((p) =>
    p.policy ? [{ id: p.id, name: p.name, mode: p.mode, spec: p.policy.spec, keys: p.policy.keys }] : [],
  );
}

/** Ids of the images some live pod runs. */
export async function runningImageIds(db: Db): Promise<string[]> {
  return (await db.image.findMany({ where: { containers: { some: { pod: { deletedAt: null } } } }, select: { id: true } })).map((i) => i.id);
}
