import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { deriveKey, KEY_FILE, keyringFromKeys, loadKeyring } from "@/lib/crypto/keys";
import { decryptSecret, encryptSecret, needsReencryption, parseEnvelope, SecretDecryptError } from "@/lib/crypto/secrets";
import { parseEnv } from "@/lib/env";

const key = () => randomBytes(32);

describe("secrets at rest (AES-256-GCM envelope)", () => {
  const ring = keyringFromKeys(key());

  it("round-trips, and the stored envelope reveals neither the plaintext nor the key", () => {
    const secret = "ghp_s3cr3t-token-value";
    const env1 = encryptSecret(ring, secret, "registry-credential:ghcr.io");
    const env2 = encryptSecret(ring, secret, "registry-credential:ghcr.io");
    expect(env1).not.toContain(secret);
    expect(env1).not.toContain(ring.current.key.toString("base64"));
    expect(env1).not.toBe(env2); // fresh IV each time
    expect(parseEnvelope(env1)).toEqual({ version: "sv1", keyId: ring.current.id });
    expect(decryptSecret(ring, env1, "registry-credential:ghcr.io")).toBe(secret);
    expect(decryptSecret(ring, encryptSecret(ring, "ünïcødé ✓"))).toBe("ünïcødé ✓");
  });

  it("refuses a ciphertext moved to another context, altered, or labelled with another key", () => {
    const envelope = encryptSecret(ring, "hunter2hunter2", "registry-credential:a.example");
    expect(() => decryptSecret(ring, envelope, "registry-credential:b.example")).toThrow(SecretDecryptError);
    const parts = envelope.split(":");
    const ct = Buffer.from(parts[3]!, "base64url");
    ct[0] = ct[0]! ^ 1;
    const altered = [...parts.slice(0, 3), ct.toString("base64url"), parts[4]].join(":");
    expect(() => decryptSecret(ring, altered, "registry-credential:a.example")).toThrow(/altered/);
    expect(() => decryptSecret(keyringFromKeys(key()), envelope, "registry-credential:a.example")).toThrow(/not configured/);
    expect(() => decryptSecret(ring, "plaintext", "")).toThrow(SecretDecryptError);
    try {
      decryptSecret(ring, envelope, "wrong");
    } catch (err) {
      expect(String(err)).not.toContain("hunter2");
    }
  });

  it("decrypts with a previous key during rotation and says what to re-encrypt", () => {
    const oldKey = key();
    const old = keyringFromKeys(oldKey);
    const envelope = encryptSecret(old, "rotate me");
    const rotated = keyringFromKeys(key(), [oldKey]);
    expect(decryptSecret(rotated, envelope)).toBe("rotate me");
    expect(needsReencryption(rotated, envelope)).toBe(true);
    expect(needsReencryption(rotated, encryptSecret(rotated, "fresh"))).toBe(false);
  });

  it("derives distinct purpose keys from the current key", () => {
    expect(deriveKey(ring, "a").equals(deriveKey(ring, "b"))).toBe(false);
    expect(deriveKey(ring, "a").equals(deriveKey(ring, "a"))).toBe(true);
    expect(deriveKey(ring, "a").equals(ring.current.key)).toBe(false);
  });
});

describe("the secret key of an installation", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it("is generated once under the data dir with mode 0600 when SIGNET_SECRET_KEY is unset", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "signet-key-"));
    dirs.push(dir);
    const env = parseEnv({ SIGNET_DATA_DIR: dir });
    const first = loadKeyring(env);
    const file = path.join(dir, KEY_FILE);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(fs.readFileSync(file, "utf8").trim(), "base64")).toHaveLength(32);
    expect(loadKeyring(env).current.id).toBe(first.current.id);
  });

  it("comes from SIGNET_SECRET_KEY when set, which must be 32 bytes of base64", () => {
    const k = key();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "signet-key-"));
    dirs.push(dir);
    const ring = loadKeyring(parseEnv({ SIGNET_DATA_DIR: dir, SIGNET_SECRET_KEY: k.toString("base64") }));
    expect(ring.current.key.equals(k)).toBe(true);
    expect(fs.existsSync(path.join(dir, KEY_FILE))).toBe(false);
    expect(() => parseEnv({ SIGNET_SECRET_KEY: randomBytes(16).toString("base64") })).toThrow(/SIGNET_SECRET_KEY: must be 32 bytes/);
  });
});
