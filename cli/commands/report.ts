import fs from "node:fs/promises";
import { parseArgs } from "node:util";
import { withDatabase } from "@/cli/commands/database";
import type { Command } from "@/cli/commands/types";
import { buildPipelineReport } from "@/lib/data/report";
import { summaryLine, toCsv, toJunit } from "@/lib/report/pipeline";

const USAGE = "report [--cluster C] [--namespace N] [--policy P] [--format json|csv|junit] [--min-coverage PCT]";

/** `signet report`: coverage of a scope from the database, for pipelines (exit 1 below --min-coverage). */
export const report: Command = {
  name: "report",
  usage: USAGE,
  summary: "coverage of a cluster / namespace / policy from the database as JSON, CSV or JUnit XML (exit 1 below --min-coverage)",
  help: [
    "Reads the latest verdicts of the running containers from Signet's database (what the last scans",
    "found) and prints the scope's coverage with one row per container and applicable policy.",
    "",
    "Options:",
    "  --cluster C          only cluster C",
    "  --namespace N        only namespace N",
    "  --policy P           only policy P (coverage over the containers P applies to)",
    "  --format F           json (default: figures + rows), csv (the compliance export's columns) or junit",
    "                       (a test suite per namespace, a test case per container and policy)",
    "  --min-coverage PCT   fail (exit 1) when less than PCT % of the containers in scope are verified",
    "  --output FILE        write the report to FILE (default: standard output); the summary goes to stderr",
    "",
    "Exit codes: 0 the report was written and coverage reaches --min-coverage (or none was given);",
    "1 coverage below --min-coverage; 2 the database could not be read; 64 usage.",
  ].join("\n"),
  async run(args) {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        options: {
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
    return withDatabase("report", async (db) => {
      const r = await buildPipelineReport(db, {
        ...(values.cluster ? { cluster: values.cluster } : {}),
        ...(values.namespace ? { namespace: values.namespace } : {}),
        ...(values.policy ? { policy: values.policy } : {}),
        ...(threshold !== undefined ? { threshold } : {}),
      });
      const text = format === "csv" ? toCsv(r) : format === "junit" ? toJunit(r) : `${JSON.stringify(r, null, 2)}\n`;
      if (values.output) await fs.writeFile(values.output, text);
      else process.stdout.write(text);
      process.stderr.write(`${summaryLine(r)}\n`);
      return r.passed ? 0 : 1;
    });
  },
};
