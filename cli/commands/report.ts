import fs from "node:fs/promises";
import { parseArgs } from "node:util";
import { databaseUrl, withDatabase } from "@/cli/commands/database";
import type { Command } from "@/cli/commands/types";
import type { Db } from "@/lib/db/client";
import type { PipelineReport } from "@/lib/report/pipeline";

const USAGE =
  "report [--kubeconfig F] [--context C]... [--cluster C] [--namespace N] [--policy P] [--format json|csv|junit] [--min-coverage PCT] [--output FILE]";

/**
 * `signet report`: coverage of a scope for pipelines (exit 1 below --min-coverage), from the database
 * as the last scans left it, or from a scan of --kubeconfig / --context clusters run here first.
 */
export const report: Command = {
  name: "report",
  usage: USAGE,
  summary: "coverage of a cluster / namespace / policy as JSON, CSV or JUnit XML, from the database or a live scan (exit 1 below --min-coverage)",
  help: [
    "Prints the coverage of a scope with one row per container and applicable policy: the latest",
    "verdicts of the running containers in Signet's database (what the last scans found), or, with",
    "--kubeconfig / --context, of the clusters this command scans first (in this process, as",
    "`signet scan --kubeconfig … --wait` does; the scan is stored like any other).",
    "",
    "Options:",
    "  --kubeconfig FILE    scan the clusters of this kubeconfig now and report on them",
    "  --context NAME       scan this kubeconfig context now and report on it (repeatable)",
    "  --cluster C          only cluster C (with a live scan: one of the scanned clusters)",
    "  --namespace N        only namespace N",
    "  --policy P           only policy P (coverage over the containers P applies to)",
    "  --format F           json (default: figures + rows), csv (the compliance export's columns) or junit",
    "                       (a test suite per namespace, a test case per container and policy)",
    "  --min-coverage PCT   fail (exit 1) when less than PCT % of the containers in scope are verified",
    "  --output FILE        write the report to FILE (default: standard output); the summary goes to stderr",
    "",
    "Exit codes: 0 the report was written and coverage reaches --min-coverage (or none was given);",
    "1 coverage below --min-coverage; 2 the database could not be read or the live scan failed (no",
    "cluster could be listed); 64 usage.",
  ].join("\n"),
  async run(args) {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        options: {
          kubeconfig: { type: "string" },
          context: { type: "string", multiple: true, default: [] },
          cluster: { type: "string" },
          namespace: { type: "string" },
          policy: { type: "string" },
          format: { type: "string", default: "json" },
          "min-coverage": { type: "string" },
          output: { type: "string" },
        },
      }));
    } catch (err) {
      process.stderr.write(`signet report: ${(err as Error).message}\nUsage: signet ${USAGE}\n`);
      return 64;
    }
    const format = values.format;
    if (format !== "json" && format !== "csv" && format !== "junit") {
      process.stderr.write(`signet report: --format must be json, csv or junit\nUsage: signet ${USAGE}\n`);
      return 64;
    }
    let threshold: number | undefined;
    if (values["min-coverage"] !== undefined) {
      threshold = Number(values["min-coverage"]);
      if (values["min-coverage"].trim() === "" || !Number.isFinite(threshold) || threshold < 0 || threshold > 100) {
        process.stderr.write(`signet report: --min-coverage must be a percentage between 0 and 100\nUsage: signet ${USAGE}\n`);
        return 64;
      }
    }
    const contexts = values.context as string[];
    const query = {
      ...(values.cluster ? { cluster: values.cluster } : {}),
      ...(values.namespace ? { namespace: values.namespace } : {}),
      ...(values.policy ? { policy: values.policy } : {}),
      ...(threshold !== undefined ? { threshold } : {}),
    };
    const write = async (r: PipelineReport): Promise<number> => {
      const { summaryLine, toCsv, toJunit } = await import("@/lib/report/pipeline");
      const text = format === "csv" ? toCsv(r) : format === "junit" ? toJunit(r) : `${JSON.stringify(r, null, 2)}\n`;
      if (values.output) await fs.writeFile(values.output, text);
      else process.stdout.write(text);
      process.stderr.write(`${summaryLine(r)}\n`);
      return r.passed ? 0 : 1;
    };
    const { buildPipelineReport } = await import("@/lib/data/report");
    if (!values.kubeconfig && contexts.length === 0) return withDatabase("report", async (db) => write(await buildPipelineReport(db, query)));

    // a live scan first, as `signet scan --kubeconfig … --wait` runs it (cli/main.ts started this
    // process under the scan runtime), then the report over the clusters it covered
    const [{ scanHere, scannedClusters, useClusters }, { listClusterTargets }] = await Promise.all([import("@/cli/commands/scan"), import("@/lib/kube/clusters")]);
    useClusters(values.kubeconfig, contexts);
    const names = listClusterTargets().map((t) => t.name);
    if (values.cluster && !names.includes(values.cluster)) {
      process.stderr.write(`signet report: --cluster ${values.cluster} is not a cluster of the kubeconfig (${names.join(", ") || "none"})\n`);
      return 64;
    }
    const url = await databaseUrl("report");
    if (url === undefined) return 2;
    const [{ createScanDb }, { getEnv }] = await Promise.all([import("@/lib/db/client"), import("@/lib/env")]);
    const db: Db = createScanDb(url, getEnv().SIGNET_WORKER_CONCURRENCY, { asyncCommit: true });
    try {
      // --cluster: that cluster only
      const scan = await scanHere(db, url, values.cluster ?? (contexts.length === 1 ? contexts[0] : undefined));
      const clusters = await scannedClusters(db, scan.scanId, true);
      if (scan.status === "failed") {
        process.stderr.write(`signet report: scan ${scan.scanId} failed: no cluster of ${clusters.join(", ") || "the kubeconfig"} could be listed (signet scan --kubeconfig … for the details)\n`);
        return 2;
      }
      const r = await buildPipelineReport(db, { ...query, clusters });
      return await write({ ...r, scan: { id: scan.scanId, status: scan.status, clusters } });
    } catch (err) {
      process.stderr.write(`signet report: ${(err as Error).message}\n`);
      return 2;
    } finally {
      await db.$disconnect();
    }
  },
};
