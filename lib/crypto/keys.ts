import "server-only";
import { createHash, hkdfSync, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Env } from "@/lib/env";
import { childLogger } from "@/lib/log";

/**
 * The process's secret keys. The current key encrypts; every key in the ring decrypts, so a rotation
 * sets SIGNET_SECRET_KEY to the new key and SIGNET_SECRET_KEY_PREVIOUS to the old one until every
 * stored secret has been re-encrypted. A key is named by its id (a hash of the key, never the key).
 */
export interface SecretKey {
  id: string;
  key: Buffer;
}

export interface Keyring {
  current: SecretKey;
  byId: ReadonlyMap<string, SecretKey>;
}

/** File holding the generated key of the embedded default, relative to SIGNET_DATA_DIR. */
export const KEY_FILE = "secret.key";

/** 8 bytes of sha256 over a domain tag and the key: identifies a key without revealing it. */
export function keyId(key: Buffer): string {
  return createHash("sha256").update("signet-secret-key-id\0").update(key).digest("hex").slice(0, 16);
}

function decodeKey(base64: string, where: string): Buffer {
  const key = Buffer.from(base64.trim(), "base64");
  if (key.length !== 32) throw new Error(`${where} must hold 32 bytes, base64-encoded`);
  return key;
}

export function keyringFromKeys(current: Buffer, previous: Buffer[] = []): Keyring {
  const byId = new Map<string, SecretKey>();
  const head = { id: keyId(current), key: current };
  byId.set(head.id, head);
  for (const key of previous) {
    const k = { id: keyId(key), key };
    if (!byId.has(k.id)) byId.set(k.id, k);
  }
  return { current: head, byId };
}

/**
 * Reads the key file of the data dir, creating it (0600, exclusive create so that web and worker
 * starting together agree on one key) when missing.
 */
function readOrCreateKeyFile(dataDir: string): Buffer {
  const file = path.join(/*turbopackIgnore: true*/ dataDir, KEY_FILE);
  fs.mkdirSync(/*turbopackIgnore: true*/ dataDir, { recursive: true, mode: 0o755 });
  try {
    fs.writeFileSync(/*turbopackIgnore: true*/ file, randomBytes(32).toString("base64") + "\n", { mode: 0o600, flag: "wx" });
    childLogger("crypto").info({ file }, "generated the secret key of this installation (keep a backup: stored secrets need it)");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const stat = fs.statSync(/*turbopackIgnore: true*/ file);
  if ((stat.mode & 0o077) !== 0) fs.chmodSync(/*turbopackIgnore: true*/ file, 0o600);
  return decodeKey(fs.readFileSync(/*turbopackIgnore: true*/ file, "utf8"), file);
}

export function loadKeyring(env: Env): Keyring {
  const previous = (env.SIGNET_SECRET_KEY_PREVIOUS ?? "")
    .split(",")
    .filter((k) => k.trim() !== "")
    .map((k) => decodeKey(k, "SIGNET_SECRET_KEY_PREVIOUS"));
  if (env.SIGNET_SECRET_KEY) return keyringFromKeys(decodeKey(env.SIGNET_SECRET_KEY, "SIGNET_SECRET_KEY"), previous);
  // the embedded default keeps everything under SIGNET_DATA_DIR; an external database may be shared
  // by processes on other machines, which must all use the same key
  if (env.DATABASE_URL && !fs.existsSync(/*turbopackIgnore: true*/ path.join(env.SIGNET_DATA_DIR, "postgres.json"))) {
    childLogger("crypto").warn(
      "SIGNET_SECRET_KEY is not set: using the key file under SIGNET_DATA_DIR; set SIGNET_SECRET_KEY so that every web and worker process shares one key",
    );
  }
  return keyringFromKeys(readOrCreateKeyFile(env.SIGNET_DATA_DIR), previous);
}

const globalForKeys = globalThis as unknown as { signetKeyring?: Keyring };

/** The process keyring, loaded once. */
export function getKeyring(env: Env): Keyring {
  globalForKeys.signetKeyring ??= loadKeyring(env);
  return globalForKeys.signetKeyring;
}

/** For tests that change the key between cases. */
export function resetKeyring(): void {
  globalForKeys.signetKeyring = undefined;
}

/** A 32-byte key for one purpose (e.g. signing session cookies), derived from the current key with HKDF. */
export function deriveKey(keyring: Keyring, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", keyring.current.key, "signet", `signet:${purpose}`, 32));
}
