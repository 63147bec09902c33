import pino from "pino";
import { createDb } from "@/lib/db/client";
import { writeCoverageSnapshot } from "@/lib/scan/snapshot";

// usage: tsx snapab.ts <database url>: one snapshot that reads every container (the latest's inputs cleared)
async function main() {
  const db = createDb(process.argv[2]!, 4);
  try {
    await db.$executeRawUnsafe(`UPDATE "CoverageSnapshot" SET inputs = NULL WHERE scope = 'fleet'`);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const r = await writeCoverageSnapshot(db, new Date());
    const cpu = process.cpuUsage(cpu0);
    console.log(`snapshot rows ${r.rows} reused ${r.reused} in ${Math.round(performance.now() - t0)} ms, this process CPU ${Math.round((cpu.user + cpu.system) / 1000)} ms`);
  } finally {
    await db.$disconnect();
  }
}
void main();
