// `npm run bench:admission`: what the API server waits for when it asks Signet's admission webhook.
// An embedded PostgreSQL, a real registry with signed images (cosign's classic format), an enforce
// policy over them, and the webhook process (scripts/webhook.ts) over HTTPS with a test CA, its caller
// authenticated as the API server would (a client certificate and a bearer token, docs/decisions/0018). Each
// AdmissionReview (a Pod with one container) is timed from the client's request to the parsed answer,
// one at a time over a kept-alive connection, as the API server sends them:
//  - known digests: a scan's image check (lib/scan/pipeline checkImages) stored their evidence first;
//    1,000 reviews over `--known` digests (the first review of each reads the store, the rest memory);
//  - unknown digests: `--unknown` signed digests the store has never seen, resolved + discovered +
//    verified now through the registry, one review each;
//  - beside them, one `cosign verify --key` process for one of those images (its wall time).
// Goal: known digests p99 ≤ 10 ms. Printed, not asserted.
//
//   bash scripts/n24.sh tsx --conditions=react-server bench/admission.ts [--reviews N] [--known N] [--unknown N]
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { promisify } from "node:util";
import { Agent, request } from "undici";
import { createDb } from "@/lib/db/client";
import { startEmbeddedPostgres } from "@/lib/db/embedded";
import { applyMigrations } from "@/lib/db/migrate";
import { resetEnvCache } from "@/lib/env";
import { getLogger } from "@/lib/log";
import { checkImages } from "@/lib/scan/pipeline";
import { createScanAdapters } from "@/lib/scan/real-adapters";
import { mapLimit } from "@/lib/concurrency";
import { registryTools, startRegistry } from "@/tests/support/registry";
import { generateSigningKey, pushSignedImage } from "@/tests/support/registry-fixtures";
import { saveSigningPolicy } from "@/tests/support/scan";
import { admissionReview, createCa, createWebhookPki, issueClientCertificate, podObject, startWebhook } from "@/tests/support/webhook";

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    reviews: { type: "string", default: "1000" },
    known: { type: "string", default: "50" },
    unknown: { type: "string", default: "100" },
  },
});
const REVIEWS = Number(args.reviews);
const KNOWN = Number(args.known);
const UNKNOWN = Number(args.unknown);

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(2)} ms, p99 ${pct(xs, 99).toFixed(2)} ms, max ${Math.max(...xs).toFixed(2)} ms`;

async function main() {
  const log = getLogger().child({ bench: "admission" });
  const pgDir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-bench-admission-pg-"));
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-bench-admission-"));
  process.env.SIGNET_DATA_DIR ??= path.join(dir, "data");
  const pg = await startEmbeddedPostgres(pgDir, log);
  const registry = await startRegistry({ goGC: 400 });
  let webhook: Awaited<ReturnType<typeof startWebhook>> | undefined;
  try {
    await applyMigrations(pg.url);
    process.env.DATABASE_URL = pg.url;
    process.env.SIGNET_REGISTRY_INSECURE = registry.host;
    resetEnvCache();
    const db = createDb(pg.url, 4);
    const key = generateSigningKey();
    const push = (n: number, repos: number, prefix: string) =>
      mapLimit(Array.from({ length: n }, (_, i) => i), 16, async (i) => {
        const repo = `apps/${prefix}-${i % repos}`;
        return { repo, digest: (await pushSignedImage(registry.url, registry.host, repo, key)).digest };
      });
    const known = await push(KNOWN, 10, "known");
    const unknown = await push(UNKNOWN, 20, "new");
    await saveSigningPolicy(db, registry.host, key.publicKeyPem, { mode: "enforce" });

    // the scan's image check stores the known digests' evidence
    const images = await Promise.all(known.map((k) => db.image.create({ data: { registry: registry.host, repository: k.repo, digest: k.digest } })));
    await checkImages({ db, adapters: createScanAdapters(), log, evidenceMaxAgeMs: 3_600_000, enqueueImageCheck: async () => undefined }, { imageIds: images.map((i) => i.id), mode: "scan" });

    const pki = await createWebhookPki(await fs.mkdtemp(path.join(dir, "pki-")));
    const clientCa = await createCa(pki.dir, "client-ca");
    const client = await issueClientCertificate(pki.dir, "client-ca", "apiserver", "kube-apiserver-webhook-client");
    const token = randomBytes(24).toString("hex");
    await fs.writeFile(path.join(pki.dir, "tokens"), `${token}\n`);
    webhook = await startWebhook(pki, {
      DATABASE_URL: pg.url,
      SIGNET_DATA_DIR: path.join(dir, "data"),
      SIGNET_REGISTRY_INSECURE: registry.host,
      SIGNET_WEBHOOK_CLUSTER: "bench",
      SIGNET_WEBHOOK_CLIENT_CA: clientCa,
      SIGNET_WEBHOOK_TOKEN_FILE: path.join(pki.dir, "tokens"),
      LOG_LEVEL: "warn",
    });
    const agent = new Agent({ connect: { ca: pki.caPem, cert: await fs.readFile(client.certFile), key: await fs.readFile(client.keyFile) }, connections: 1 });
    const review = async (i: number, image: string): Promise<{ ms: number; allowed: boolean }> => {
      const body = JSON.stringify(admissionReview(`uid-${i}`, podObject("prod", `p-${i}`, [image])));
      const t0 = performance.now();
      const res = await request(`${webhook!.url}/validate`, { method: "POST", dispatcher: agent, headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body });
      const json = (await res.body.json()) as { response: { allowed: boolean } };
      return { ms: performance.now() - t0, allowed: json.response.allowed };
    };

    // warm the connection and the JIT with a digest outside the measured sets' policy scope
    for (let i = 0; i < 20; i++) await review(-i - 1, "registry.example.com/other/app@sha256:" + "0".repeat(64));

    const knownTimes: number[] = [];
    const firstTimes: number[] = [];
    let denied = 0;
    for (let i = 0; i < REVIEWS; i++) {
      const k = known[i % known.length]!;
      const r = await review(i, `${registry.host}/${k.repo}@${k.digest}`);
      (i < known.length ? firstTimes : knownTimes).push(r.ms);
      if (!r.allowed) denied++;
    }
    const unknownTimes: number[] = [];
    for (let i = 0; i < unknown.length; i++) {
      const u = unknown[i]!;
      const r = await review(REVIEWS + i, `${registry.host}/${u.repo}@${u.digest}`);
      unknownTimes.push(r.ms);
      if (!r.allowed) denied++;
    }

    // one cosign verify process, for comparison
    const pub = path.join(dir, "cosign.pub");
    await fs.writeFile(pub, key.publicKeyPem);
    const home = path.join(dir, "home");
    await fs.mkdir(home, { recursive: true });
    const u = unknown[0]!;
    const t0 = performance.now();
    await run(registryTools().cosign, ["verify", "--key", pub, "--insecure-ignore-tlog=true", "--new-bundle-format=false", "--allow-http-registry", "--output", "json", `${registry.host}/${u.repo}@${u.digest}`], {
      env: { ...process.env, HOME: home, DOCKER_CONFIG: path.join(home, ".docker") },
    });
    const cosignMs = performance.now() - t0;

    process.stdout.write(`admission webhook over HTTPS, one review at a time (${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)})\n`);
    process.stdout.write(`known digests, ${knownTimes.length} reviews (memory):     ${fmt(knownTimes)}   goal p99 <= 10 ms\n`);
    process.stdout.write(`known digests, first review of each of ${firstTimes.length} (store): ${fmt(firstTimes)}\n`);
    process.stdout.write(`unknown signed digests, ${unknownTimes.length} reviews (registry): ${fmt(unknownTimes)}\n`);
    process.stdout.write(`one cosign verify --key process:                    ${cosignMs.toFixed(0)} ms\n`);
    process.stdout.write(`denied: ${denied} (expected 0: every image is signed)\n`);
    await agent.close();
    await db.$disconnect();
  } finally {
    await webhook?.stop();
    await registry.stop();
    await pg.stop();
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(pgDir, { recursive: true, force: true });
  }
}

await main();
