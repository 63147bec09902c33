// `npm run bench`: every benchmark, one after the other, each printing its figures.
// Run one alone with `npm run bench:<name>`; extra arguments are passed through.
import { spawnSync } from "node:child_process";
import path from "node:path";

const BENCHES = ["discover", "verify", "inventory", "scan", "api", "audit", "admission"] as const;
const only = process.argv.slice(2).filter((a) => (BENCHES as readonly string[]).includes(a));
const root = path.resolve(import.meta.dirname, "..");
let failed = 0;
for (const name of only.length ? only : BENCHES) {
  process.stdout.write(`\n=== bench:${name} ===\n`);
  const r = spawnSync(process.execPath, ["--conditions=react-server", "--import", "tsx", path.join(root, "bench", `${name}.ts`)], {
    stdio: "inherit",
    cwd: root,
  });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`bench:${name} exited with ${r.status ?? r.signal}\n`);
  }
}
process.exit(failed ? 1 : 0);
