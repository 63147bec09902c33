// `npm run bench:exports`: a signed, streamed compliance export of a large fleet (ADR 0015).
// Seeds N running containers (default 100,000: one Deployment, pod, image and verdict each) into an
// embedded PostgreSQL in a temp dir, then writes the compliance CSV and JSON exports through the same
// code as GET /api/exports/compliance (one snapshot, cursor pages of 1,000, a signed spool) and reads
// the response to its end. Prints time, size and the process's peak memory growth while exporting.
// Goal: memory stays bounded whatever the fleet's size: peak RSS growth ≤ 96 MB at 100,000 rows (an
// in-memory build of the same CSV held the rows, their objects and the file: several times that).
//   --containers N   change the size     --keep   leave the temp dir (prints its path)
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createDb } from "@/lib/db/client";
import { startEmbeddedPostgres } from "@/lib/db/embedded";
import { applyMigrations } from "@/lib/db/migrate";
import { complianceQuery } from "@/lib/dto/dashboard";
import { complianceExport } from "@/lib/exports/compliance";
import { getLogger } from "@/lib/log";
import { seedFleet } from "@/tests/support/fleet";

const { values: args } = parseArgs({ options: { containers: { type: "string", default: "100000" }, keep: { type: "boolean", default: false } } });
const N = Number(args.containers);
const RSS_GOAL_MB = 96;
const load = () => `load ${os.loadavg()[0]!.toFixed(1)}`;
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;

async function measure(db: ReturnType<typeof createDb>, format: "csv" | "json"): Promise<boolean> {
  global.gc?.();
  const base = process.memoryUsage().rss;
  const heapBase = process.memoryUsage().heapUsed;
  let peak = base;
  let heapPeak = heapBase;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    heapPeak = Math.max(heapPeak, m.heapUsed);
  }, 5);
  const t0 = performance.now();
  const res = await complianceExport(db, complianceQuery.parse({ format }));
  const written = performance.now() - t0;
  let bytes = 0;
  const reader = res.body!.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) bytes += r.value.byteLength;
  const total = performance.now() - t0;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const growth = peak - base;
  const ok = growth <= RSS_GOAL_MB * 1024 * 1024;
  process.stdout.write(
    `compliance ${format.toUpperCase()} of ${N} rows: ${mb(bytes)}, written and signed in ${(written / 1000).toFixed(2)} s, read in ${(total / 1000).toFixed(2)} s; ` +
      `peak RSS growth ${mb(growth)} (goal ≤ ${RSS_GOAL_MB} MB) ${ok ? "ok" : "OVER"}, peak JS heap growth ${mb(heapPeak - heapBase)}  [${load()}]\n`,
  );
  if (res.headers.get("content-length") !== String(bytes)) throw new Error(`served ${bytes} bytes, announced ${res.headers.get("content-length")}`);
  return ok;
}

async function main() {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-bench-exports-"));
  const log = getLogger().child({ component: "bench" });
  const pgs = await startEmbeddedPostgres(dir, log);
  process.env.SIGNET_DATA_DIR ??= dir;
  process.env.SIGNET_SECRET_KEY ??= randomBytes(32).toString("base64");
  let failed = 0;
  try {
    await applyMigrations(pgs.url);
    const db = createDb(pgs.url, 4);
    const t0 = performance.now();
    await seedFleet(db, { cluster: "bench", containers: N });
    process.stdout.write(`seeded ${N} containers in ${((performance.now() - t0) / 1000).toFixed(1)} s into ${dir}  [${load()}]\n`);
    // warm-up: modules, query plans and the export key are loaded once, outside the figures
    await (await complianceExport(db, complianceQuery.parse({ format: "csv", limit: "1000" }))).arrayBuffer();
    for (const format of ["csv", "json"] as const) if (!(await measure(db, format))) failed++;
    await db.$disconnect();
  } finally {
    await pgs.stop();
    if (args.keep) process.stdout.write(`kept ${dir}\n`);
    else await fs.rm(dir, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

void main();
