/**
 * Signed images written straight through the registry HTTP API, byte-for-byte in cosign's classic
 * format (docs: signature-formats.md §1.2–1.6), for tests that need many of them quickly (the
 * benchmark pushes 1,000) or need them in registries cosign cannot log in to.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { putManifest, uploadBlob, type PushOptions } from "@/tests/support/registry";

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

export interface SigningKey {
  privateKey: KeyObject;
  publicKeyPem: string;
}

export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { privateKey, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

/** The simple-signing payload cosign writes (compact Go JSON, this field order). */
export function simpleSigningPayload(dockerReference: string, digest: string): Buffer {
  return Buffer.from(
    `{"critical":{"identity":{"docker-reference":"${dockerReference}"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`,
  );
}

/** The empty-image config go-containerregistry writes for a signature manifest with these layers. */
export function signatureConfig(layerDigests: string[]): Buffer {
  const history = layerDigests.map(() => '{"created":"0001-01-01T00:00:00Z"}').join(",");
  return Buffer.from(
    `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[${history}],"os":"","rootfs":{"type":"layers","diff_ids":[${layerDigests.map((d) => `"${d}"`).join(",")}]},"config":{}}`,
  );
}

export interface PushedSignedImage {
  digest: string;
  signatureManifestDigest: string;
  payload: Buffer;
  payloadDigest: string;
}

/**
 * Pushes a small random image (config + one layer) and a classic cosign signature of it
 * (tag sha256-<hex>.sig). `registryHost` goes into the payload's docker-reference.
 */
export async function pushSignedImage(
  registryUrl: string,
  registryHost: string,
  repo: string,
  key: SigningKey,
  opts: PushOptions & { tag?: string; sign?: boolean; base?: ImageBase; annotations?: Record<string, string> } = {},
): Promise<PushedSignedImage> {
  // an image of its own (random layer), or a manifest over blobs already in the repository (made
  // distinct by its annotations): one request instead of five
  const base = opts.base ?? (await pushImageBase(registryUrl, repo, opts));
  const image = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", size: base.configSize, digest: base.configDigest },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", size: base.layerSize, digest: base.layerDigest }],
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    }),
  );
  const digest = await putManifest(registryUrl, repo, opts.tag ?? sha256(image), image, "application/vnd.oci.image.manifest.v1+json", opts);
  const payload = simpleSigningPayload(`${registryHost}/${repo}`, digest);
  const payloadDigest = sha256(payload);
  if (opts.sign === false) return { digest, signatureManifestDigest: "", payload, payloadDigest };
  const signatureManifestDigest = await pushSignature(registryUrl, repo, digest, payload, key, opts);
  return { digest, signatureManifestDigest, payload, payloadDigest };
}

/** The config and layer blobs of an image, uploaded to its repository. */
export interface ImageBase {
  configDigest: string;
  configSize: number;
  layerDigest: string;
  layerSize: number;
}

/** Uploads a small random layer and its image config to `repo`. */
export async function pushImageBase(registryUrl: string, repo: string, opts: PushOptions = {}): Promise<ImageBase> {
  const layer = randomBytes(64);
  const layerDigest = sha256(layer);
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [layerDigest] }, config: {} }));
  const [configDigest] = await Promise.all([uploadBlob(registryUrl, repo, config, opts), uploadBlob(registryUrl, repo, layer, opts)]);
  return { configDigest, configSize: config.length, layerDigest, layerSize: layer.length };
}

/** Pushes the .sig manifest for `digest` with one layer: `payload` signed by `key`. */
export async function pushSignature(registryUrl: string, repo: string, digest: string, payload: Buffer, key: SigningKey, opts: PushOptions = {}): Promise<string> {
  const signature = sign("sha256", payload, key.privateKey).toString("base64");
  const payloadDigest = sha256(payload);
  const config = signatureConfig([payloadDigest]);
  const [configDigest] = await Promise.all([uploadBlob(registryUrl, repo, config, opts), uploadBlob(registryUrl, repo, payload, opts)]);
  const manifest = Buffer.from(
    `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":${config.length},"digest":"${configDigest}"},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":${payload.length},"digest":"${payloadDigest}","annotations":{"dev.cosignproject.cosign/signature":"${signature}"}}]}`,
  );
  return putManifest(registryUrl, repo, `sha256-${digest.slice("sha256:".length)}.sig`, manifest, "application/vnd.oci.image.manifest.v1+json", opts);
}
