// `npm run bench:exports`: a signed, streamed compliance export of a large fleet (ADR 0015).
// Seeds N running containers (default 100,000: one Deployment, pod, image and verdict each) into an
// embedded PostgreSQL in a temp dir, then writes the compliance CSV and JSON exports through the same
// code as GET /api/exports/compliance (one snapshot, cursor pages of 1,000, a signed spool) and reads
// the response to its end. Prints time, size and the growth of the memory the process holds while
// exporting (JS heap and buffers still referenced after a forced collection, sampled every 250 ms;
// RSS beside it, which V8 grows with garbage and rarely gives back).
// Goal: memory stays bounded whatever the fleet's size: peak live memory growth ≤ 32 MB at 100,000
// rows (one page of 1,000 rows and the write buffer; the CSV alone is ~27 MB, the rows as objects more).
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
const LIVE_GOAL_MB = 32;
const load = () => `load ${os.loadavg()[0]!.toFixed(1)}`;
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;

/** The memory the process holds (JS heap and buffers), after a full collection: what is live, not garbage waiting. */
function live(): number {
  global.gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function measure(db: ReturnType<typeof createDb>, format: "csv" | "json"): Promise<boolean> {
  if (!global.gc) throw new Error("run with --expose-gc (npm run bench:exports does)");
  const base = live();
  const rssBase = process.memoryUsage().rss;
  let peak = base;
  let rssPeak = rssBase;
  // every 250 ms: collect, then read what is still referenced while the export is being written
  const sampler = setInterval(() => {
    peak = Math.max(peak, live());
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 250);
  const t0 = performance.now();
  const res = await complianceExport(db, complianceQuery.parse({ format }));
  const written = performance.now() - t0;
  let bytes = 0;
  const reader = res.body!.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) bytes += r.value.byteLength;
  const total = performance.now() - t0;
  clearInterval(sampler);
  const growth = peak - base;
  const ok = growth <= LIVE_GOAL_MB * 1024 * 1024;
  process.stdout.write(
    `compliance ${format.toUpperCase()} of ${N} rows: ${mb(bytes)}, written and signed in ${(written / 1000).toFixed(2)} s, read in ${(total / 1000).toFixed(2)} s; ` +
      `peak live memory growth ${mb(growth)} (goal ≤ ${LIVE_GOAL_MB} MB) ${ok ? "ok" : "OVER"} (RSS growth ${mb(rssPeak - rssBase)})  [${load()}]\n`,
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
