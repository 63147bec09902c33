import { parseArgs } from "node:util";
import { clusterOptions, clusterOptionsHelp, selectClusters } from "@/cli/commands/inventory";
import type { Command } from "@/cli/commands/types";
import { listAdmissionRejectionsForClusters } from "@/lib/kube/rejections";
import type { ClusterRejections } from "@/lib/kube/types";

export function formatRejections(r: ClusterRejections): string {
  const head = `cluster ${r.cluster.name}${r.cluster.server ? ` (${r.cluster.server})` : ""}`;
  if (r.error) return `${head}: ERROR ${r.error.kind}: ${r.error.message}\n`;
  const lines = [`${head}: ${r.rejections.length} admission rejection(s)`];
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  for (const x of r.rejections) {
    const workload = x.workloadKind ? `${x.workloadKind}/${x.workloadName}` : `${x.involvedObject.kind}/${x.involvedObject.name}`;
    lines.push(
      `  ${x.lastSeen.toISOString()}  ${x.namespace}/${workload}  ${x.controller}${x.policyName ? ` policy=${x.policyName}` : ""}${x.image ? ` image=${x.image}` : ""}  ×${x.count}`,
    );
    lines.push(`    ${x.message.split("\n").join("\n    ")}`);
  }
  return `${lines.join("\n")}\n`;
}

export const rejections: Command = {
  name: "rejections",
  usage: "rejections [--kubeconfig F] [--context C]... [--json]",
  summary: "list pods refused by admission webhooks (policy-controller, Kyverno, Gatekeeper)",
  help: clusterOptionsHelp,
  async run(args) {
    const { values } = parseArgs({ args, options: clusterOptions, allowPositionals: false });
    const targets = selectClusters(values);
    if (typeof targets === "string") {
      process.stderr.write(`signet rejections: ${targets}\n`);
      return 2;
    }
    const results = await listAdmissionRejectionsForClusters(targets, { timeoutMs: Number(values.timeout) * 1000 });
    if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    else for (const r of results) process.stdout.write(formatRejections(r));
    for (const r of results) if (r.error && values.json) process.stderr.write(`signet rejections: cluster ${r.cluster.name}: ${r.error.message}\n`);
    return results.every((r) => r.error) ? 1 : 0;
  },
};
