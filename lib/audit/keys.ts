import "server-only";
import type { KeyObject } from "node:crypto";
import { signerFromSeed, type CheckpointSigner } from "@/lib/audit/checkpoint";
import { deriveKey, getKeyring, keyringFromKeys, type Keyring } from "@/lib/crypto/keys";
import type { Env } from "@/lib/env";

/**
 * The audit checkpoint key: an Ed25519 key pair whose seed is derived with HKDF from the secret key
 * (SIGNET_SECRET_KEY or the data dir's key file), so it lives wherever that key lives and never in the
 * database. Its public key can be published (`signet audit public-key`); a rotation of the secret key
 * rotates it, and checkpoints signed by a key of SIGNET_SECRET_KEY_PREVIOUS still verify.
 */
const PURPOSE = "audit-checkpoint-ed25519";

const cache = new WeakMap<Keyring, { signer: CheckpointSigner; verifiers: Map<string, KeyObject> }>();

function keysOf(ring: Keyring) {
  let entry = cache.get(ring);
  if (!entry) {
    const signer = signerFromSeed(deriveKey(ring, PURPOSE));
    const verifiers = new Map<string, KeyObject>([[signer.keyId, signer.publicKey]]);
    for (const k of ring.byId.values()) {
      if (k.id === ring.current.id) continue;
      const old = signerFromSeed(deriveKey(keyringFromKeys(k.key), PURPOSE));
      verifiers.set(old.keyId, old.publicKey);
    }
    entry = { signer, verifiers };
    cache.set(ring, entry);
  }
  return entry;
}

/** The key appends sign checkpoints with (derived once per keyring). */
export function getCheckpointSigner(env: Env): CheckpointSigner {
  return keysOf(getKeyring(env)).signer;
}

/** Public keys that verify checkpoints: the current key's and those of SIGNET_SECRET_KEY_PREVIOUS. */
export function getCheckpointVerifiers(env: Env): ReadonlyMap<string, KeyObject> {
  return keysOf(getKeyring(env)).verifiers;
}
