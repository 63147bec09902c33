/**
 * Discovery throughput against a local docker-registry, next to a raw-fetch floor.
 *
 *   bash scripts/n24.sh tsx --conditions=react-server bench/discover.ts [--digests 1000] [--concurrency 16] [--rounds 3]
 *
 * Pushes N signed digests straight through the registry API (images sharing one config and layer,
 * each with a classic cosign signature made with node:crypto in cosign's exact format), then times
 * discover() over all N next to a minimal loop issuing the same GET requests (the three cosign tags,
 * the referrers API, the referrers tag, then the signature blob) with the same concurrency on a
 * keep-alive undici Agent. Prints digests/s of both and their ratio (goal ≥ 0.8); rounds alternate
 * and the best round of each counts.
 */
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { Agent, request } from "undici";
import { RegistryClient } from "@/lib/registry/client";
import { discover } from "@/lib/registry/discover";
import { digestTag } from "@/lib/registry/digest";
import { MANIFEST_MEDIA_TYPES, MEDIA } from "@/lib/registry/media-types";
import { createLimiter, mapLimit } from "@/lib/concurrency";
import { putManifest, startRegistry, uploadBlob } from "@/tests/support/registry";
import { generateSigningKey, pushSignature, simpleSigningPayload } from "@/tests/support/registry-fixtures";

const { values } = parseArgs({
  options: {
    digests: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "16" },
    rounds: { type: "string", default: "3" },
  },
});
const N = Number(values.digests);
const C = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
const REPO = "bench/app";

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

async function main() {
  const reg = await startRegistry({ logLevel: "error" });
  const pushAgent = new Agent({ connections: C });
  try {
    // --- push N signed digests
    const t0 = performance.now();
    const key = generateSigningKey();
    const layer = Buffer.from("signet bench layer");
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256(layer)] }, config: {} }));
    await uploadBlob(reg.url, REPO, layer, { dispatcher: pushAgent });
    await uploadBlob(reg.url, REPO, config, { dispatcher: pushAgent });
    const digests: string[] = new Array(N);
    await mapLimit(
      Array.from({ length: N }, (_, i) => i),
      C,
      async (i) => {
        const image = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MEDIA.ociManifest,
            config: { mediaType: MEDIA.ociConfig, size: config.length, digest: sha256(config) },
            layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", size: layer.length, digest: sha256(layer) }],
            annotations: { "bench.signet/n": String(i) },
          }),
        );
        const digest = await putManifest(reg.url, REPO, sha256(image), image, MEDIA.ociManifest, { dispatcher: pushAgent });
        await pushSignature(reg.url, REPO, digest, simpleSigningPayload(`${reg.host}/${REPO}`, digest), key, { dispatcher: pushAgent });
        digests[i] = digest;
      },
    );
    const pushMs = performance.now() - t0;
    process.stdout.write(`pushed ${N} signed digests in ${(pushMs / 1000).toFixed(1)} s (registry ${reg.host}, concurrency ${C})\n`);

    // --- discover(): the real client, per-registry limit = C, C digests at a time
    const discoverRunner = () => {
      const client = new RegistryClient({ registries: [{ host: reg.host, insecure: true }], maxConcurrencyPerRegistry: C });
      const run = async (list: string[]) => {
        await mapLimit(list, C, async (digest) => {
          const r = await discover({ registry: reg.host, repository: REPO, digest }, { client });
          if (r.outcome !== "found" || r.artifacts.length !== 1 || r.artifacts[0]!.layers[0]!.content === undefined) {
            throw new Error(`unexpected discovery result for ${digest}: ${JSON.stringify(r).slice(0, 300)}`);
          }
        });
      };
      return { run, requests: () => client.stats().requests, close: () => client.close() };
    };

    // --- the floor: the same GETs, minimal code, same in-flight limit on a keep-alive Agent
    const rawRunner = () => {
      const agent = new Agent({ connections: C, keepAliveTimeout: 30_000 });
      const limit = createLimiter(C);
      let requests = 0;
      const get = (path: string, accept?: string) =>
        limit(async () => {
          requests++;
          const res = await request(`${reg.url}${path}`, { dispatcher: agent, headers: accept ? { accept } : {} });
          const body = Buffer.from(await res.body.arrayBuffer());
          return { status: res.statusCode, body };
        });
      const accept = MANIFEST_MEDIA_TYPES.join(", ");
      const run = async (list: string[]) => {
        await mapLimit(list, C, async (digest) => {
          const [sig] = await Promise.all([
            get(`/v2/${REPO}/manifests/${digestTag(digest, "sig")}`, accept),
            get(`/v2/${REPO}/manifests/${digestTag(digest, "att")}`, accept),
            get(`/v2/${REPO}/manifests/${digestTag(digest, "sbom")}`, accept),
            get(`/v2/${REPO}/referrers/${digest}`, MEDIA.ociIndex).then(async (r) => (r.status === 404 ? get(`/v2/${REPO}/manifests/${digestTag(digest)}`, accept) : r)),
          ]);
          if (sig.status !== 200) throw new Error(`raw: no signature for ${digest}`);
          const layer = (JSON.parse(sig.body.toString()) as { layers: Array<{ digest: string }> }).layers[0]!;
          const blob = await get(`/v2/${REPO}/blobs/${layer.digest}`);
          if (blob.status !== 200) throw new Error(`raw: blob ${layer.digest} missing`);
        });
      };
      return { run, requests: () => requests, close: () => agent.close() };
    };

    // The machine is shared, so load drifts: run both in alternating chunks (A B B A …) and sum
    // each one's time, so drift hits both alike. Warm both first (JIT, connections, registry caches).
    const CHUNK = Math.max(C * 4, Math.ceil(N / 10));
    const chunks: string[][] = [];
    for (let i = 0; i < N; i += CHUNK) chunks.push(digests.slice(i, i + CHUNK));
    const timeIt = async (fn: () => Promise<void>) => {
      const t = performance.now();
      const cpu0 = process.cpuUsage();
      await fn();
      const cpu = process.cpuUsage(cpu0);
      return { ms: performance.now() - t, cpuMs: (cpu.user + cpu.system) / 1000 };
    };
    let bestRaw = Infinity;
    let bestDiscover = Infinity;
    let rawRequests = 0;
    let discoverRequests = 0;
    for (let round = 0; round <= ROUNDS; round++) {
      const raw = rawRunner();
      const disc = discoverRunner();
      const total = { raw: { ms: 0, cpuMs: 0 }, disc: { ms: 0, cpuMs: 0 } };
      try {
        for (const [i, chunk] of (round === 0 ? [digests.slice(0, Math.min(100, N))] : chunks).entries()) {
          const order = i % 2 === 0 ? (["raw", "disc"] as const) : (["disc", "raw"] as const);
          for (const which of order) {
            const t = await timeIt(() => (which === "raw" ? raw.run(chunk) : disc.run(chunk)));
            total[which].ms += t.ms;
            total[which].cpuMs += t.cpuMs;
          }
        }
        if (round === 0) continue; // warm-up
        bestRaw = Math.min(bestRaw, total.raw.ms);
        bestDiscover = Math.min(bestDiscover, total.disc.ms);
        rawRequests = raw.requests();
        discoverRequests = disc.requests();
        process.stdout.write(
          `round ${round}: raw ${(N / (total.raw.ms / 1000)).toFixed(0)} digests/s (client CPU ${(total.raw.cpuMs / N).toFixed(2)} ms/digest), ` +
            `discover ${(N / (total.disc.ms / 1000)).toFixed(0)} digests/s (client CPU ${(total.disc.cpuMs / N).toFixed(2)} ms/digest), ` +
            `ratio ${(total.raw.ms / total.disc.ms).toFixed(2)}\n`,
        );
      } finally {
        await raw.close();
        await disc.close();
      }
    }
    const rawRate = N / (bestRaw / 1000);
    const discoverRate = N / (bestDiscover / 1000);
    const ratio = discoverRate / rawRate;
    process.stdout.write(
      [
        "",
        `digests:            ${N} (concurrency ${C}, best of ${ROUNDS} rounds)`,
        `requests per digest: raw ${(rawRequests / N).toFixed(1)}, discover ${(discoverRequests / N).toFixed(1)}`,
        `raw-fetch floor:    ${rawRate.toFixed(0)} digests/s`,
        `discover():         ${discoverRate.toFixed(0)} digests/s`,
        `ratio:              ${ratio.toFixed(2)} (goal >= 0.80) ${ratio >= 0.8 ? "OK" : "BELOW GOAL"}`,
        "",
      ].join("\n"),
    );
    process.exitCode = ratio >= 0.8 ? 0 : 1;
  } finally {
    await pushAgent.close();
    await reg.stop();
  }
}

await main();
