// `npm run bench:audit`: the cost of appending to the audit chain and of verifying it.
// On an embedded PostgreSQL in a temp dir, appends batches of 1, 20 and 100 verdict events (the sizes
// an admin action, a quiet and a busy scan batch append), each in its own transaction on a pool with
// asynchronous commit (as the worker's), and prints p50 / p95 per batch; then walks the whole chain.
//   --batches N   batches per size (default 300)     --keep   leave the temp dir (prints its path)
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { appendAuditEvents, verifyAuditChain, type NewAuditEvent } from "@/lib/audit/store";
import { createDb } from "@/lib/db/client";
import { startEmbeddedPostgres } from "@/lib/db/embedded";
import { applyMigrations } from "@/lib/db/migrate";
import { getLogger } from "@/lib/log";

const { values: args } = parseArgs({
  options: {
    batches: { type: "string", default: "300" },
    keep: { type: "boolean", default: false },
  },
});
const BATCHES = Number(args.batches);

const t = () => performance.now();
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

function event(i: number): NewAuditEvent {
  return {
    kind: "verdict",
    clusterName: "prod",
    namespace: `ns-${i % 50}`,
    workload: `Deployment/app-${i}`,
    imageDigest: `sha256:${i.toString(16).padStart(64, "0")}`,
    policyName: "release",
    policyVersion: 3,
    verdict: i % 3 ? "verified" : "failed",
    previousVerdict: "unsigned",
    reasons: [{ code: "satisfied", message: "signed by ci (key sha256:ab12…)" }],
    evidence: [{ id: `ev-${i}`, kind: "signature", signer: { key: ["sha256:ab12"] }, logIndex: 123456 + i, integratedTime: "2026-12-06T10:00:00.000Z" }],
  };
}

async function main() {
  const log = getLogger().child({ bench: "audit" });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-bench-audit-"));
  process.env.SIGNET_DATA_DIR ??= dir;
  const pg = await startEmbeddedPostgres(dir, log);
  try {
    await applyMigrations(pg.url);
    const db = createDb(pg.url, 4, { asyncCommit: true });
    let n = 0;
    for (const size of [1, 20, 100]) {
      const times: number[] = [];
      for (let b = 0; b < BATCHES + 20; b++) {
        const events = Array.from({ length: size }, () => event(n++));
        const t0 = t();
        await db.$transaction((tx) => appendAuditEvents(tx, events));
        if (b >= 20) times.push(t() - t0); // the first batches warm the pool and the JIT
      }
      process.stdout.write(
        `append ${String(size).padStart(3)} events/batch: p50 ${pct(times, 50).toFixed(2)} ms, p95 ${pct(times, 95).toFixed(2)} ms (${BATCHES} batches)\n`,
      );
    }
    const t0 = t();
    const check = await verifyAuditChain(db);
    const s = (t() - t0) / 1000;
    process.stdout.write(`verify: ${check.checked} events in ${s.toFixed(2)} s (${Math.round(check.checked / s)} events/s), ok=${check.ok}\n`);
    await db.$disconnect();
  } finally {
    await pg.stop();
    if (args.keep) process.stdout.write(`kept ${dir}\n`);
    else await fs.rm(dir, { recursive: true, force: true });
  }
}

await main();
