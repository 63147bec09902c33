/**
 * Helpers for scan tests, the CLI test and the scan benchmark: many signed images in a real registry
 * (pushSignedImage, no cosign processes), pods running them in a real kube-apiserver (several
 * containers per pod, pods created in parallel), the signing policy, and driving scans through pg-boss.
 */
import { mapLimit } from "@/lib/concurrency";
import { createDb, type Db } from "@/lib/db/client";
import { resetEnvCache } from "@/lib/env";
import { getLogger } from "@/lib/log";
import { createBoss, ensureQueues, sendJob } from "@/lib/jobs/boss";
import { imageCheck, scanStart, scanTick } from "@/lib/jobs/definitions/scan";
import type { JobDefinition } from "@/lib/jobs/registry";
import { createScan, type PipelineContext } from "@/lib/scan/pipeline";
import { createScanAdapters } from "@/lib/scan/real-adapters";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { createNamespace, podManifest, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { saveKeyPolicy } from "@/tests/support/policies";
import { waitFor } from "@/tests/support/process";
import { startRegistry, type StartRegistryOptions, type TestRegistry } from "@/tests/support/registry";
import { pushImageBase, pushSignedImage, type SigningKey } from "@/tests/support/registry-fixtures";

/**
 * A test database and a registry, with the environment the pipeline reads pointed at them
 * (DATABASE_URL, SIGNET_REGISTRY_INSECURE): the set-up of tests that call checkImages directly.
 * `stop()` undoes all of it.
 */
export async function startScanParts(registryOpts: StartRegistryOptions = {}): Promise<{ tdb: TestDatabase; db: Db; registry: TestRegistry; stop(): Promise<void> }> {
  const [tdb, registry] = await Promise.all([createTestDatabase(), startRegistry(registryOpts)]);
  const db = createDb(tdb.url, 4);
  process.env.DATABASE_URL = tdb.url;
  process.env.SIGNET_REGISTRY_INSECURE = registry.host;
  resetEnvCache();
  return {
    tdb,
    db,
    registry,
    stop: async () => {
      await db.$disconnect();
      await registry.stop();
      await tdb.drop();
      delete process.env.SIGNET_REGISTRY_INSECURE;
      resetEnvCache();
    },
  };
}

/** A pipeline over the real adapters (the registry is asked for real) that enqueues nothing. */
export function pipelineContext(db: Db, opts: Partial<PipelineContext> = {}): PipelineContext {
  return { db, adapters: createScanAdapters(), log: getLogger(), enqueueImageCheck: async () => undefined, ...opts };
}

export interface SeededImage {
  repo: string;
  digest: string;
}

/**
 * Pushes `count` signed images (repos `apps/svc-<i % repos>`) straight through the registry API.
 * `shareBlobs`: the images of a repository share one config and layer (uploaded once) and differ by
 * an annotation of their manifest — 6 requests per signed image instead of 10 (benchmarks' seeding).
 */
export async function pushSignedImages(
  registryUrl: string,
  referenceHost: string,
  key: SigningKey,
  count: number,
  opts: { repos?: number; concurrency?: number; sign?: boolean; shareBlobs?: boolean } = {},
): Promise<SeededImage[]> {
  const repos = opts.repos ?? Math.max(1, Math.ceil(count / 10));
  const concurrency = opts.concurrency ?? 24;
  const bases = opts.shareBlobs
    ? await mapLimit(Array.from({ length: Math.min(repos, count) }, (_, r) => r), concurrency, (r) => pushImageBase(registryUrl, `apps/svc-${r}`))
    : undefined;
  return mapLimit(Array.from({ length: count }, (_, i) => i), concurrency, async (i) => {
    const repo = `apps/svc-${i % repos}`;
    const base = bases?.[i % repos];
    const pushed = await pushSignedImage(registryUrl, referenceHost, repo, key, { sign: opts.sign, ...(base ? { base, annotations: { "dev.signet.bench/image": String(i) } } : {}) });
    return { repo, digest: pushed.digest };
  });
}

/**
 * Pods running `images` by digest (the runtime reported the digest): `perPod` containers per pod,
 * `podsPerImage` times over (or exactly `pods` pods, cycling through the images), in `namespaces`
 * namespaces, created `concurrency` at a time (each pod is a create and a status write).
 */
export async function seedPods(
  kube: KubeApiserver,
  host: string,
  images: SeededImage[],
  opts: { perPod?: number; podsPerImage?: number; pods?: number; namespaces?: number; concurrency?: number; prefix?: string } = {},
): Promise<{ pods: number; containers: number }> {
  const perPod = opts.perPod ?? 10;
  const copies = opts.podsPerImage ?? 1;
  const nsCount = opts.namespaces ?? 4;
  const prefix = opts.prefix ?? "rel";
  const namespaces = Array.from({ length: nsCount }, (_, i) => `${prefix}-${i}`);
  await mapLimit(namespaces, 8, (ns) => createNamespace(kube, ns, { env: "prod" }));
  const pods: { ns: string; name: string; images: SeededImage[] }[] = [];
  for (let n = 0; opts.pods !== undefined && n < opts.pods; n++) {
    const first = (n * perPod) % images.length;
    const slice = images.slice(first, first + perPod);
    pods.push({ ns: namespaces[n % nsCount]!, name: `p-${n}`, images: slice.length < perPod ? [...slice, ...images.slice(0, perPod - slice.length)] : slice });
  }
  for (let copy = 0; opts.pods === undefined && copy < copies; copy++) {
    for (let i = 0; i < images.length; i += perPod) {
      const n = pods.length;
      pods.push({ ns: namespaces[n % nsCount]!, name: `p-${copy}-${i / perPod}`, images: images.slice(i, i + perPod) });
    }
  }
  await mapLimit(pods, opts.concurrency ?? 24, async (p) => {
    const containers = p.images.map((img, j) => ({ name: `c${j}`, image: `${host}/${img.repo}:v1` }));
    await kube.request("POST", `/api/v1/namespaces/${p.ns}/pods`, podManifest({ namespace: p.ns, name: p.name, containers }));
    await kube.request(
      "PATCH",
      `/api/v1/namespaces/${p.ns}/pods/${p.name}/status`,
      {
        status: {
          phase: "Running",
          containerStatuses: p.images.map((img, j) => ({
            name: `c${j}`,
            image: `${host}/${img.repo}:v1`,
            imageID: `${host}/${img.repo}@${img.digest}`,
            ready: true,
            restartCount: 0,
            started: true,
            state: { running: { startedAt: "2026-01-01T00:00:00Z" } },
          })),
        },
      },
      { contentType: "application/merge-patch+json" },
    );
  });
  return { pods: pods.length, containers: pods.reduce((n, p) => n + p.images.length, 0) };
}

/** An enforce-mode policy: every image under `host/apps/**` signed by `publicKeyPem`. */
export async function saveSigningPolicy(db: Db, host: string, publicKeyPem: string, opts: { name?: string; mode?: "enforce" | "audit" } = {}) {
  await saveKeyPolicy(db, publicKeyPem, { images: [`${host}/apps/**`] }, opts);
}

/** Sends one job through a short-lived pg-boss client. */
export async function sendOnce(url: string, send: (boss: ReturnType<typeof createBoss>) => Promise<unknown>): Promise<void> {
  const boss = createBoss(url, { max: 2 });
  boss.on("error", () => undefined);
  await boss.start();
  try {
    // the queues may not exist yet (no worker has started)
    await ensureQueues(boss, [scanStart, imageCheck, scanTick] as unknown as JobDefinition[]);
    await send(boss);
  } finally {
    await boss.stop({ graceful: false });
  }
}

export const FINISHED = ["succeeded", "partial", "failed"];

/** Creates a full scan and enqueues scan.start; returns the scan id. */
export async function enqueueScan(db: Db, url: string): Promise<string> {
  const scanId = await createScan(db, { trigger: "test" });
  await sendOnce(url, (boss) => sendJob(boss, scanStart, { scanId }));
  return scanId;
}

export async function enqueueTick(url: string): Promise<void> {
  await sendOnce(url, (boss) => sendJob(boss, scanTick, {}));
}

export async function waitForScan(db: Db, scanId: string, timeoutMs: number, onPoll?: () => Promise<void>) {
  return waitFor(
    async () => {
      await onPoll?.();
      const s = await db.scan.findUniqueOrThrow({ where: { id: scanId } });
      return FINISHED.includes(s.status) ? s : undefined;
    },
    timeoutMs,
    `scan ${scanId} to finish`,
  );
}

/** Verdict value per container id (one policy), and the count of verdict rows per (container, policy). */
export async function verdictsByContainer(db: Db) {
  const rows = await db.verdict.findMany({
    where: { container: { pod: { deletedAt: null } } },
    select: { containerId: true, policyId: true, value: true, container: { select: { digest: true } } },
  });
  return rows;
}
