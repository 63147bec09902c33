import "server-only";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { Checkpoint } from "@/lib/audit/checkpoint";

/**
 * The local witness: the newest audit checkpoint this machine saw committed, kept in a file of the data
 * directory (outside the database). Verification requires the table to still hold it, so rolling the
 * events and the checkpoint table back together is detected on a machine whose witness had seen the
 * newer checkpoint. Workers advance it (witnessTick in lib/audit/witness-tick) one heartbeat after they read a
 * checkpoint, once its asynchronous commit is surely on disk; a checkpoint that vanished in between is
 * reported, not witnessed. One entry per database (host and name, never credentials).
 */
export const WITNESS_FILE = "audit-witness.json";
const MAX_DATABASES = 32;

const entry = z.object({
  seq: z.string().regex(/^\d{1,19}$/),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  at: z.string().max(40),
  keyId: z.string().regex(/^[0-9a-f]{64}$/),
  signature: z.string().max(200),
  witnessedAt: z.string().max(40),
});
const fileSchema = z.object({ version: z.literal(1), databases: z.record(z.string().max(600), entry) });
type WitnessFile = z.infer<typeof fileSchema>;

/** Which database a witness belongs to: host and database name of its URL (not the port, which the embedded database may change). */
export function witnessKey(databaseUrl: string): string {
  const u = new URL(databaseUrl);
  return `${u.hostname}/${decodeURIComponent(u.pathname.replace(/^\//, "")) || "postgres"}`;
}

function filePath(dataDir: string): string {
  return path.join(/*turbopackIgnore: true*/ dataDir, WITNESS_FILE);
}

function readFile(dataDir: string): WitnessFile {
  let text: string;
  try {
    text = fs.readFileSync(/*turbopackIgnore: true*/ filePath(dataDir), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, databases: {} };
    throw err;
  }
  const parsed = fileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${filePath(dataDir)} is not an audit witness file: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

/** The witness of one database, or null when this machine has none. Throws on an unreadable file. */
export function readWitness(dataDir: string, databaseUrl: string): Checkpoint | null {
  const e = readFile(dataDir).databases[witnessKey(databaseUrl)];
  return e ? { seq: BigInt(e.seq), hash: e.hash, at: e.at, keyId: e.keyId, signature: e.signature } : null;
}

/**
 * Records `cp` as the witness of the database when it is newer than the one recorded (never moves
 * back). Written to a temporary file and renamed, so a reader sees the old or the new file whole.
 */
export function writeWitness(dataDir: string, databaseUrl: string, cp: Checkpoint, now = new Date()): boolean {
  const file = readFile(dataDir);
  const key = witnessKey(databaseUrl);
  const old = file.databases[key];
  if (old && BigInt(old.seq) >= cp.seq) return false;
  file.databases[key] = { seq: cp.seq.toString(), hash: cp.hash, at: cp.at, keyId: cp.keyId, signature: cp.signature, witnessedAt: now.toISOString() };
  const keys = Object.keys(file.databases);
  if (keys.length > MAX_DATABASES) {
    // the test suite creates many databases; keep the most recently witnessed
    keys.sort((a, b) => (file.databases[a]!.witnessedAt < file.databases[b]!.witnessedAt ? -1 : 1));
    for (const k of keys.slice(0, keys.length - MAX_DATABASES)) if (k !== key) delete file.databases[k];
  }
  save(dataDir, file);
  return true;
}

function save(dataDir: string, file: WitnessFile): void {
  fs.mkdirSync(/*turbopackIgnore: true*/ dataDir, { recursive: true, mode: 0o755 });
  const tmp = `${filePath(dataDir)}.${process.pid}.tmp`;
  fs.writeFileSync(/*turbopackIgnore: true*/ tmp, JSON.stringify(file, null, 2) + "\n", { mode: 0o644 });
  fs.renameSync(/*turbopackIgnore: true*/ tmp, filePath(dataDir));
}

/** Forgets the witness of a database (a deliberate fresh start of its audit log). */
export function forgetWitness(dataDir: string, databaseUrl: string): boolean {
  const file = readFile(dataDir);
  const key = witnessKey(databaseUrl);
  if (!file.databases[key]) return false;
  delete file.databases[key];
  save(dataDir, file);
  return true;
}
