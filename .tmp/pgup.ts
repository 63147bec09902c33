import pino from "pino";
import { startEmbeddedPostgres } from "@/lib/db/embedded";
async function main() {
  const pgs = await startEmbeddedPostgres(process.argv[2]!, pino({ level: "warn" }));
  console.log(pgs.url);
  process.on("SIGTERM", () => void pgs.stop().then(() => process.exit(0)));
  setInterval(() => undefined, 1 << 30);
}
void main();
