/**
 * A real TUF repository for tests: metadata signed with ed25519 keys over canonical JSON (the TUF
 * specification's signing scheme, @tufjs/canonical-json + node:crypto), consistent snapshots, served
 * over HTTP on 127.0.0.1. Tests publish versions (root rotations, expired or mis-signed metadata) and
 * take the server offline.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { canonicalize } from "@tufjs/canonical-json";

export interface TufKey {
  id: string;
  json: { keytype: "ed25519"; scheme: "ed25519"; keyval: { public: string } };
  privateKey: KeyObject;
}

export function makeTufKey(): TufKey {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const json = { keytype: "ed25519" as const, scheme: "ed25519" as const, keyval: { public: raw.toString("hex") } };
  return { id: createHash("sha256").update(canonicalize(json)).digest("hex"), json, privateKey };
}

type Signed = Record<string, unknown> & { _type: string; version: number; expires: string };

/** Signs `signed` with each key: a TUF metadata file's text. */
export function signMetadata(signed: Signed, keys: TufKey[]): string {
  const bytes = Buffer.from(canonicalize(signed));
  return JSON.stringify({ signatures: keys.map((k) => ({ keyid: k.id, sig: sign(null, bytes, k.privateKey).toString("hex") })), signed });
}

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z");
const SPEC = "1.0.31";

export interface RoleKeys {
  root: TufKey[];
  timestamp: TufKey;
  snapshot: TufKey;
  targets: TufKey;
}

export function rootSigned(version: number, keys: RoleKeys, expiresInDays = 365): Signed {
  const all = [...keys.root, keys.timestamp, keys.snapshot, keys.targets];
  return {
    _type: "root",
    spec_version: SPEC,
    version,
    expires: inDays(expiresInDays),
    consistent_snapshot: true,
    keys: Object.fromEntries(all.map((k) => [k.id, k.json])),
    roles: {
      root: { keyids: keys.root.map((k) => k.id), threshold: keys.root.length },
      timestamp: { keyids: [keys.timestamp.id], threshold: 1 },
      snapshot: { keyids: [keys.snapshot.id], threshold: 1 },
      targets: { keyids: [keys.targets.id], threshold: 1 },
    },
  };
}

export interface TestTufRepository {
  url: string;
  keys: RoleKeys;
  /** The initial root.json (version 1): what a client is configured with. */
  initialRoot: string;
  /** Every request path the server saw. */
  requests: string[];
  /**
   * Publishes a new timestamp / snapshot / targets with `trustedRoot` as the trusted_root.json target.
   * `timestampExpiresInDays` < 0 publishes an expired timestamp; `timestampSignedBy` signs it with other keys.
   */
  publish(trustedRoot: string, opts?: { timestampExpiresInDays?: number; timestampSignedBy?: TufKey }): void;
  /** Rotates the root: version n+1 with new keys, signed by the old and the new root keys. */
  rotateRoot(next: RoleKeys): void;
  /** Serves a file as is (e.g. a corrupt timestamp.json). */
  put(path: string, body: string): void;
  setOffline(offline: boolean): void;
  stop(): Promise<void>;
}

export async function startTufRepository(): Promise<TestTufRepository> {
  const files = new Map<string, string>();
  const requests: string[] = [];
  let offline = false;
  let keys: RoleKeys = { root: [makeTufKey()], timestamp: makeTufKey(), snapshot: makeTufKey(), targets: makeTufKey() };
  let rootVersion = 1;
  let metaVersion = 0;
  const initialRoot = signMetadata(rootSigned(1, keys), keys.root);
  files.set("/1.root.json", initialRoot);

  const server = http.createServer((req, res) => {
    requests.push(req.url ?? "");
    if (offline) {
      res.socket?.destroy();
      return;
    }
    const body = files.get(req.url ?? "");
    if (body === undefined) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    get keys() {
      return keys;
    },
    initialRoot,
    requests,
    publish(trustedRoot, opts = {}) {
      metaVersion++;
      const target = Buffer.from(trustedRoot);
      const sha = createHash("sha256").update(target).digest("hex");
      files.set(`/targets/${sha}.trusted_root.json`, trustedRoot);
      const targets = signMetadata(
        { _type: "targets", spec_version: SPEC, version: metaVersion, expires: inDays(30), targets: { "trusted_root.json": { length: target.length, hashes: { sha256: sha } } } },
        [keys.targets],
      );
      files.set(`/${metaVersion}.targets.json`, targets);
      const snapshot = signMetadata({ _type: "snapshot", spec_version: SPEC, version: metaVersion, expires: inDays(30), meta: { "targets.json": { version: metaVersion } } }, [keys.snapshot]);
      files.set(`/${metaVersion}.snapshot.json`, snapshot);
      files.set(
        "/timestamp.json",
        signMetadata(
          { _type: "timestamp", spec_version: SPEC, version: metaVersion, expires: inDays(opts.timestampExpiresInDays ?? 1), meta: { "snapshot.json": { version: metaVersion } } },
          [opts.timestampSignedBy ?? keys.timestamp],
        ),
      );
    },
    rotateRoot(next) {
      rootVersion++;
      files.set(`/${rootVersion}.root.json`, signMetadata(rootSigned(rootVersion, next), [...keys.root, ...next.root]));
      keys = next;
    },
    put(path, body) {
      files.set(path, body);
    },
    setOffline(value) {
      offline = value;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
