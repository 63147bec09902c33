import { describe, expect, it } from "vitest";
import { rawListPages } from "@/lib/kube/client";
import { newRecordCache, podContainers, podSchema } from "@/lib/kube/inventory";

const DIGEST = `sha256:${"a".repeat(64)}`;

/** A pod as the API server sends it: many fields the inventory never reads. */
const rawPod = (name: string) => ({
  metadata: {
    name,
    namespace: "shop",
    uid: `uid-${name}`,
    labels: { app: "web" },
    managedFields: [{ manager: "kubelet", fieldsV1: { "f:status": {} } }],
    ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-6d4f", uid: "rs-uid", controller: true, blockOwnerDeletion: true }],
  },
  spec: {
    nodeName: "node-1",
    containers: [{ name: "app", image: "ghcr.io/acme/web:1.2", resources: { limits: { cpu: "1" } } }],
    initContainers: [{ name: "init", image: `busybox@${DIGEST}` }],
    volumes: [{ name: "v", emptyDir: {} }],
  },
  status: {
    phase: "Running",
    containerStatuses: [{ name: "app", image: "ghcr.io/acme/web:1.2", imageID: `ghcr.io/acme/web@${DIGEST}`, ready: true }],
  },
});

describe("raw pod pages", () => {
  it("keeps only the fields the inventory reads and rejects wrong types", () => {
    const parsed = podSchema.parse(rawPod("web-1"));
    expect(parsed.metadata).toEqual({
      name: "web-1",
      namespace: "shop",
      uid: "uid-web-1",
      ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-6d4f", controller: true }],
    });
    expect(parsed.spec).toEqual({
      nodeName: "node-1",
      containers: [{ name: "app", image: "ghcr.io/acme/web:1.2" }],
      initContainers: [{ name: "init", image: `busybox@${DIGEST}` }],
    });
    const broken = rawPod("web-2") as unknown as { spec: { containers: unknown[] } };
    broken.spec.containers = [{ name: "app", image: 42 }];
    const result = podSchema.safeParse(broken);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["spec", "containers", 0, "image"]);
  });

  it("turns a parsed pod into container records that share strings and image objects across pods", () => {
    const cache = newRecordCache();
    const a = podContainers(podSchema.parse(rawPod("web-1")), cache);
    const b = podContainers(podSchema.parse(rawPod("web-2")), cache);
    expect(a.map((c) => [c.kind, c.name, c.digest, c.digestSource])).toEqual([
      ["init", "init", DIGEST, "observed"],
      ["app", "app", DIGEST, "observed"],
    ]);
    expect(a[1]!.imageID).toBe(`ghcr.io/acme/web@${DIGEST}`);
    expect(b[1]!.image).toBe(a[1]!.image);
    expect(b).toEqual(a);
  });
});

describe("rawListPages", () => {
  it("passes limit and continue, and maps the list's metadata.continue", async () => {
    const calls: { path: string; query?: Record<string, string | number | undefined> }[] = [];
    const pages = [
      { items: [1, 2], metadata: { continue: "next-token", resourceVersion: "7" } },
      { items: [3], metadata: { continue: "" } },
    ];
    const fetchPage = rawListPages({ getJson: async (path, query) => (calls.push({ path, query }), pages[calls.length - 1]) }, "/api/v1/pods", 2);
    expect(await fetchPage(undefined)).toEqual({ items: [1, 2], metadata: { _continue: "next-token" } });
    expect(await fetchPage("next-token")).toEqual({ items: [3], metadata: { _continue: undefined } });
    expect(calls).toEqual([
      { path: "/api/v1/pods", query: { limit: 2, continue: undefined } },
      { path: "/api/v1/pods", query: { limit: 2, continue: "next-token" } },
    ]);
  });

  it("refuses an answer that is not a list", async () => {
    const fetchPage = rawListPages({ getJson: async () => ({ items: { not: "a list" } }) }, "/api/v1/pods", 10);
    await expect(fetchPage(undefined)).rejects.toThrow(/not a Kubernetes list/);
  });
});
