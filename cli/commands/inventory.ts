import { parseArgs } from "node:util";
import type { Command } from "@/cli/commands/types";
import { getEnv } from "@/lib/env";
import { isInCluster, KubeconfigError, loadInClusterTarget, loadKubeconfigClusters, type KubeTarget } from "@/lib/kube/clusters";
import { inventoryClusters } from "@/lib/kube/inventory";
import type { ClusterInventory, ContainerRecord } from "@/lib/kube/types";

/** `--kubeconfig F`, repeated `--context C`, `--in-cluster`, `--json`: shared by inventory and rejections. */
export const clusterOptions = {
  kubeconfig: { type: "string" },
  context: { type: "string", multiple: true },
  "in-cluster": { type: "boolean", default: false },
  json: { type: "boolean", default: false },
  timeout: { type: "string", default: "30" },
} as const;

export const clusterOptionsHelp = [
  "Options:",
  "  --kubeconfig FILE  kubeconfig to read (default: $KUBECONFIG, else ~/.kube/config)",
  "  --context NAME     only this context (repeatable; default: every context)",
  "  --in-cluster       the cluster this process runs in, through its service account",
  "  --timeout SECONDS  per-request timeout (default 30)",
  "  --json             machine-readable output",
  "",
  "A cluster that cannot be read is reported with its error; the exit code is 1 only when every cluster failed.",
].join("\n");

/** The clusters selected on the command line, or a one-line error (exit 2) for an unusable kubeconfig. */
export function selectClusters(values: { kubeconfig?: string; context?: string[]; "in-cluster"?: boolean; timeout?: string }): KubeTarget[] | string {
  if (values.timeout !== undefined && !(Number(values.timeout) > 0)) return `--timeout must be a number of seconds (got "${values.timeout}")`;
  if (values["in-cluster"]) {
    // KUBERNETES_SERVICE_HOST/PORT are injected by the kubelet, not Signet configuration.
    const { KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT } = getEnv();
    const env = { KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT };
    if (!isInCluster(env)) return "not running in a cluster (no KUBERNETES_SERVICE_HOST or service-account token)";
    return [loadInClusterTarget({ env })];
  }
  try {
    return loadKubeconfigClusters({ kubeconfigPath: values.kubeconfig, contexts: values.context, kubeconfigEnv: getEnv().KUBECONFIG });
  } catch (err) {
    if (err instanceof KubeconfigError) return err.message;
    throw err;
  }
}

const short = (d: string | null) => (d ? `${d.slice(0, 19)}…` : "-");

function digestLabel(c: ContainerRecord): string {
  if (c.digest) return `${short(c.digest)} (${c.digestSource}${c.digestOrigin === "reference" ? ", pinned" : ""})`;
  return c.needsResolution ? "unknown (to resolve)" : "unknown (invalid reference)";
}

export function formatInventory(inv: ClusterInventory): string {
  const lines: string[] = [];
  const head = `cluster ${inv.cluster.name}${inv.cluster.server ? ` (${inv.cluster.server})` : ""}`;
  if (inv.error) return `${head}: ERROR ${inv.error.kind}: ${inv.error.message}\n`;
  const s = inv.stats;
  lines.push(
    `${head}: ${inv.namespaces.length} namespaces, ${inv.workloads.length} workloads, ${s.pods} pods, ${s.containers} containers, ${s.distinctDigests} distinct digests, ${s.containersNeedingResolution} to resolve`,
  );
  for (const w of inv.warnings) lines.push(`  warning: ${w}`);
  const podsByNs = new Map<string, typeof inv.pods>();
  for (const p of inv.pods) podsByNs.set(p.namespace, [...(podsByNs.get(p.namespace) ?? []), p]);
  for (const ns of [...inv.namespaces].sort((a, b) => a.name.localeCompare(b.name))) {
    const labels = Object.entries(ns.labels).map(([k, v]) => `${k}=${v}`).join(",");
    lines.push(`  namespace ${ns.name}${labels ? ` {${labels}}` : ""}`);
    const byWorkload = new Map<string, typeof inv.pods>();
    for (const p of podsByNs.get(ns.name) ?? []) {
      const key = `${p.workload.kind} ${p.workload.name}`;
      byWorkload.set(key, [...(byWorkload.get(key) ?? []), p]);
    }
    for (const [w, pods] of [...byWorkload].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`    ${w}`);
      for (const p of pods) {
        lines.push(`      pod ${p.name}${p.phase ? ` (${p.phase})` : ""}`);
        for (const c of p.containers) lines.push(`        ${c.kind.padEnd(9)} ${c.name}  ${c.imageRef}  ${digestLabel(c)}`);
      }
    }
  }
  return `${lines.join("\n")}\n`;
}

export const inventory: Command = {
  name: "inventory",
  usage: "inventory [--kubeconfig F] [--context C]... [--json]",
  summary: "list the clusters' namespaces, workloads, containers and image digests",
  help: clusterOptionsHelp,
  async run(args) {
    const { values } = parseArgs({ args, options: clusterOptions, allowPositionals: false });
    const targets = selectClusters(values);
    if (typeof targets === "string") {
      process.stderr.write(`signet inventory: ${targets}\n`);
      return 2;
    }
    const results = await inventoryClusters(targets, { timeoutMs: Number(values.timeout) * 1000 });
    if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    else for (const r of results) process.stdout.write(formatInventory(r));
    for (const r of results) if (r.error && values.json) process.stderr.write(`signet inventory: cluster ${r.cluster.name}: ${r.error.message}\n`);
    return results.every((r) => r.error) ? 1 : 0;
  },
};
