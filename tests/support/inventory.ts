import type { Db } from "@/lib/db/client";
import { addImageReferences } from "@/lib/scan/persist-inventory";

/** Inserts a small inventory (for tests of pipeline stages that start after inventory). */
export async function seedInventory(
  db: Db,
  spec: {
    cluster: string;
    namespaces: { name: string; labels?: Record<string, string>; pods: { name: string; workload?: string; containers: { name: string; image: string }[] }[] }[];
  },
) {
  const cluster = await db.cluster.upsert({ where: { name: spec.cluster }, create: { name: spec.cluster }, update: {} });
  const images = new Map<string, string>();
  const containers: Record<string, string> = {};
  for (const ns of spec.namespaces) {
    const n = await db.namespace.create({ data: { clusterId: cluster.id, name: ns.name, labels: ns.labels ?? {} } });
    for (const pod of ns.pods) {
      const w = pod.workload
        ? await db.workload.upsert({
            where: { namespaceId_kind_name: { namespaceId: n.id, kind: "Deployment", name: pod.workload } },
            create: { clusterId: cluster.id, namespaceId: n.id, kind: "Deployment", name: pod.workload },
            update: {},
          })
        : null;
      const p = await db.pod.create({
        data: { clusterId: cluster.id, namespaceId: n.id, workloadId: w?.id ?? null, uid: `${spec.cluster}-${ns.name}-${pod.name}`, name: pod.name },
      });
      for (const c of pod.containers) {
        const [name, digest] = c.image.split("@") as [string, string];
        const slash = name.indexOf("/");
        const registry = name.slice(0, slash);
        const repository = name.slice(slash + 1);
        let imageId = images.get(c.image);
        if (!imageId) {
          const img = await db.image.upsert({
            where: { registry_repository_digest: { registry, repository, digest } },
            create: { registry, repository, digest },
            update: {},
          });
          imageId = img.id;
          images.set(c.image, imageId);
        }
        const row = await db.container.create({
          data: { podId: p.id, imageId, kind: "app", name: c.name, imageRef: c.image, digest, digestSource: "observed" },
        });
        // the image list's search by tag reads the references containers wrote (as writeRows records them)
        await addImageReferences(db, [{ image: imageId, ref: c.image }], new Date());
        containers[`${ns.name}/${pod.name}/${c.name}`] = row.id;
      }
    }
  }
  return { clusterId: cluster.id, images, containers };
}
