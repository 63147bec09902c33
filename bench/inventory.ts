// Inventory bench: seeds a real kube-apiserver with 20,000 pods in 200 namespaces (about 2,000
// distinct digests; ReplicaSet-owned pods with kubelet-style status) and measures the time and peak
// RSS of inventoryCluster over it, in a separate process so that seeding does not count.
//
//   bash scripts/n24.sh tsx --conditions=react-server bench/inventory.ts [--pods N] [--namespaces N]
//
// Goal on the 2-core reference machine: ≤ 10 s and ≤ 300 MB RSS. About 195 MB of the RSS is the
// process before any request (Node, tsx's loader thread, client-node's ~1,000 model classes); V8's
// young generation then grows up to its default maximum under the allocation rate of JSON pages,
// which `--node-flags=--max-semi-space-size=16` caps (the worker can set the same in NODE_OPTIONS).
import { mapLimit } from "@/lib/concurrency";
import { spawn } from "node:child_process";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  createNamespace,
  fakeDigest,
  podManifest,
  startKubeApiserver,
  type KubeApiserver,
} from "@/tests/support/kube-apiserver";

const { values } = parseArgs({
  options: {
    pods: { type: "string", default: "20000" },
    namespaces: { type: "string", default: "200" },
    digests: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "48" },
    measure: { type: "string" },
    "page-size": { type: "string", default: "500" },
    /** Seed, print the kubeconfig path, and keep the apiserver running until SIGINT (for profiling). */
    serve: { type: "boolean", default: false },
    /** Extra Node flags for the measured process, e.g. "--max-semi-space-size=16". */
    "node-flags": { type: "string", default: "" },
  },
});

async function measure(kubeconfig: string): Promise<void> {
  const { loadKubeconfigClusters } = await import("@/lib/kube/clusters");
  const { inventoryCluster } = await import("@/lib/kube/inventory");
  const [target] = loadKubeconfigClusters({ kubeconfigPath: kubeconfig, contexts: ["admin"] });
  const t0 = performance.now();
  const inv = await inventoryCluster(target!, { pageSize: Number(values["page-size"]) });
  const ms = performance.now() - t0;
  if (inv.error) throw new Error(inv.error.message);
  const result = {
    ms: Math.round(ms),
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    pods: inv.pods.length,
    containers: inv.stats.containers,
    namespaces: inv.namespaces.length,
    workloads: inv.workloads.length,
    distinctDigests: inv.stats.distinctDigests,
    podPages: inv.stats.podPages,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function seed(kube: KubeApiserver, podCount: number, nsCount: number, digestCount: number, concurrency: number) {
  const perNs = Math.ceil(podCount / nsCount);
  const rsPerNs = 5;
  const imagesPerNs = Math.max(1, Math.round(digestCount / nsCount));
  const namespaces = Array.from({ length: nsCount }, (_, i) => `bench-${String(i).padStart(3, "0")}`);
  await mapLimit(namespaces, concurrency, (ns, i) => createNamespace(kube, ns, { team: `team-${i % 10}`, env: i % 2 ? "prod" : "dev" }));
  const rsUids = new Map<string, string>();
  await mapLimit(
    namespaces.flatMap((ns) => Array.from({ length: rsPerNs }, (_, r) => ({ ns, r }))),
    concurrency,
    async ({ ns, r }) => {
      const name = `app-${r}-7d9f8b6c5`;
      const rs = await kube.request<{ metadata: { uid: string } }>("POST", `/apis/apps/v1/namespaces/${ns}/replicasets`, {
        metadata: {
          name,
          ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: `app-${r}`, uid: `00000000-0000-0000-0000-${String(r).padStart(12, "0")}`, controller: true }],
        },
        spec: { selector: { matchLabels: { app: `app-${r}` } }, template: { metadata: { labels: { app: `app-${r}` } }, spec: { containers: [{ name: "c", image: "x" }] } } },
      });
      rsUids.set(`${ns}/${name}`, rs.metadata.uid);
    },
  );
  const pods = Array.from({ length: podCount }, (_, i) => {
    const nsIndex = i % nsCount;
    const k = Math.floor(i / nsCount);
    const r = k % rsPerNs;
    const img = (nsIndex * imagesPerNs + (k % imagesPerNs)) % digestCount;
    return { ns: namespaces[nsIndex]!, name: `app-${r}-7d9f8b6c5-${String(k).padStart(5, "0")}`, r, img };
  });
  let done = 0;
  const t0 = Date.now();
  await mapLimit(pods, concurrency, async (p) => {
    const repo = `registry.example.com/team/svc-${p.img}`;
    const digest = fakeDigest(`image-${p.img}`);
    const rsName = `app-${p.r}-7d9f8b6c5`;
    await kube.request("POST", `/api/v1/namespaces/${p.ns}/pods`, podManifest({
      namespace: p.ns,
      name: p.name,
      containers: [{ name: "app", image: `${repo}:1.${p.img % 7}` }],
      initContainers: p.img % 4 === 0 ? [{ name: "init", image: "busybox:1.36" }] : undefined,
      owner: { apiVersion: "apps/v1", kind: "ReplicaSet", name: rsName, uid: rsUids.get(`${p.ns}/${rsName}`)! },
      labels: { app: `app-${p.r}` },
    }));
    const runtime = p.img % 3 === 0 ? `docker-pullable://${repo}@${digest}` : `${repo}@${digest}`;
    await kube.request("PATCH", `/api/v1/namespaces/${p.ns}/pods/${p.name}/status`, {
      status: {
        phase: "Running",
        containerStatuses: [{ name: "app", image: `${repo}:1.${p.img % 7}`, imageID: runtime, ready: true, restartCount: 0, state: { running: { startedAt: "2026-01-01T00:00:00Z" } } }],
        ...(p.img % 4 === 0
          ? { initContainerStatuses: [{ name: "init", image: "busybox:1.36", imageID: `docker.io/library/busybox@${fakeDigest("busybox")}`, ready: false, restartCount: 0, state: { terminated: { exitCode: 0 } } }] }
          : {}),
      },
    }, { contentType: "application/merge-patch+json" });
    if (++done % 2000 === 0) process.stderr.write(`  seeded ${done}/${podCount} pods (${Math.round(done / ((Date.now() - t0) / 1000))}/s)\n`);
  });
}

async function main() {
  if (values.measure) return measure(values.measure);
  const podCount = Number(values.pods);
  const nsCount = Number(values.namespaces);
  const kube = await startKubeApiserver();
  try {
    const t0 = Date.now();
    process.stderr.write(`seeding ${podCount} pods in ${nsCount} namespaces into ${kube.url}\n`);
    await seed(kube, podCount, nsCount, Number(values.digests), Number(values.concurrency));
    process.stderr.write(`seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s; measuring inventory in a fresh process\n`);
    if (values.serve) {
      process.stdout.write(`kubeconfig: ${kube.kubeconfigPath}\n`);
      await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
      return;
    }
    // Default V8 flags, then the young generation capped as the worker can do through NODE_OPTIONS.
    const configs = [values["node-flags"]!, `${values["node-flags"]} --max-semi-space-size=16`.trim()];
    const lines: string[] = [];
    for (const flags of configs) {
      const runs: { ms: number; maxRssMb: number }[] = [];
      for (let i = 0; i < 2; i++) {
        const out = await new Promise<string>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            [...flags.split(" ").filter(Boolean), "--conditions=react-server", "--import", "tsx", path.join(import.meta.dirname, "inventory.ts"), "--measure", kube.kubeconfigPath, "--page-size", values["page-size"]!],
            { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, LOG_LEVEL: "silent" } },
          );
          let buf = "";
          child.stdout.on("data", (d: Buffer) => (buf += d.toString()));
          child.once("exit", (code) => (code === 0 ? resolve(buf) : reject(new Error(`measure exited ${code}`))));
        });
        const r = JSON.parse(out.trim().split("\n").at(-1)!) as { ms: number; maxRssMb: number };
        runs.push(r);
        process.stderr.write(`  [${flags || "default flags"}] run ${i + 1}: ${JSON.stringify(r)}\n`);
      }
      const ms = Math.min(...runs.map((r) => r.ms));
      const rss = Math.max(...runs.map((r) => r.maxRssMb));
      const ok = ms <= 10_000 && rss <= 300;
      lines.push(`inventory of ${podCount} pods [${flags || "default Node flags"}]: ${(ms / 1000).toFixed(2)} s (best of ${runs.length}), peak RSS ${rss} MB — goal ≤ 10 s, ≤ 300 MB: ${ok ? "met" : "NOT met"}`);
    }
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await kube.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench/inventory: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
