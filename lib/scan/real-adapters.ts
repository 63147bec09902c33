import "server-only";
import fs from "node:fs";
import { storedCredentials } from "@/lib/credentials/provider";
import { getDb, type Db } from "@/lib/db/client";
import { getEnv, type Env } from "@/lib/env";
import { childLogger } from "@/lib/log";
import { buildComplianceReport } from "@/lib/data/exports";
import { syncOpenReports } from "@/lib/kube/openreports";
import { desiredReports } from "@/lib/report/openreports";
import { listClusterTargets, type KubeTarget } from "@/lib/kube/clusters";
import { inventoryCluster } from "@/lib/kube/inventory";
import { listsUnchangedSince } from "@/lib/kube/unchanged";
import type { ListVersions } from "@/lib/kube/types";
import { PullSecretReader } from "@/lib/kube/pull-secrets";
import { syncFollowedPods } from "@/lib/kube/pod-watch";
import { listAdmissionRejections } from "@/lib/kube/rejections";
import type { PullSecretSource } from "@/lib/kube/types";
import { registryEgressOptions } from "@/lib/egress/env";
import { RegistryClient, type RegistryConfig } from "@/lib/registry/client";
import { chainCredentials, credentialsFromDockerConfig } from "@/lib/registry/credentials";
import { discover } from "@/lib/registry/discover";
import { DiscoverySession } from "@/lib/registry/discovery-session";
import { normalizeRegistryHost } from "@/lib/registry/reference";
import type { DiscoveryResult } from "@/lib/evidence/types";
import { verifyArtifacts, type TrustRoot } from "@/lib/sigstore";
import { loadTrustRootsInForce } from "@/lib/trust/trusted-roots";
import { memoizeVerification } from "@/lib/scan/verify-memo";
import type { BatchScope, ClusterTarget, ScanAdapters } from "@/lib/scan/adapters";
import { storable } from "@/lib/text";

// (the clusters of the configuration are lib/kube's: light to load for a command that only needs them)
export { listClusterTargets };

/**
 * The production adapters: clusters from the kubeconfig (and the in-cluster service account),
 * registries through one RegistryClient configured from the environment and Signet's stored
 * registry settings, verification against the trusted roots in force (lib/trust/trusted-roots: stored custom and TUF-refreshed
 * roots, the bundled public-good root until a refreshed one is stored).
 * Registry settings and trusted roots are reloaded at most once a minute. With SIGNET_PULL_SECRETS,
 * an image's registry requests also carry the pull secrets of the pods running it (read once per scan,
 * lib/kube/pull-secrets.ts), through a client sharing the connections of the main one.
 */
const log = childLogger("scan-adapters");
const RELOAD_MS = 60_000;

interface Loaded {
  at: number;
  client: RegistryClient;
  trust: TrustRoot[];
}

let loaded: Loaded | undefined;
let loading: Promise<Loaded> | undefined;

async function load(env: Env): Promise<Loaded> {
  const db = getDb();
  const stored = await db.registryCredential.findMany({ select: { host: true, insecure: true, caPem: true } });
  const registries = new Map<string, RegistryConfig>();
  for (const host of env.SIGNET_REGISTRY_INSECURE ?? []) registries.set(host, { host, insecure: true });
  for (const r of stored) registries.set(r.host, { host: r.host, insecure: r.insecure || registries.get(r.host)?.insecure === true, ...(r.caPem ? { caPem: r.caPem } : {}) });
  let dockerConfig;
  if (env.SIGNET_DOCKER_CONFIG) {
    try {
      dockerConfig = credentialsFromDockerConfig(fs.readFileSync(env.SIGNET_DOCKER_CONFIG, "utf8"));
    } catch (err) {
      log.error({ file: env.SIGNET_DOCKER_CONFIG, err: (err as Error).message }, "cannot read SIGNET_DOCKER_CONFIG; continuing without it");
    }
  }
  const client = new RegistryClient({
    registries: [...registries.values()],
    ...registryEgressOptions(env),
    credentials: chainCredentials(storedCredentials(db), dockerConfig),
    requestTimeoutMs: env.SIGNET_REGISTRY_TIMEOUT_MS,
    maxConcurrencyPerRegistry: env.SIGNET_REGISTRY_CONCURRENCY,
    maxBlobBytes: env.SIGNET_MAX_BLOB_KIB * 1024,
  });
  const trust = await loadTrustRootsInForce(db);
  const previous = loaded?.client;
  // let in-flight requests of the previous client finish before closing its connections
  if (previous) setTimeout(() => void previous.close().catch(() => undefined), 5 * 60_000).unref();
  return { at: Date.now(), client, trust };
}

async function current(): Promise<Loaded> {
  if (loaded && Date.now() - loaded.at < RELOAD_MS) return loaded;
  loading ??= load(getEnv()).finally(() => (loading = undefined));
  loaded = await loading;
  return loaded;
}

let adapters: ScanAdapters | undefined;

/**
 * The worker's adapters: long-lived, so the pods of each cluster whose watch lease this worker holds
 * are followed by a watch between scans (lib/watch), which writes them: its scans keep those
 * clusters' stored inventories; other clusters are listed.
 */
export function getScanAdapters(): ScanAdapters {
  adapters ??= createScanAdapters({ follows: true });
  return adapters;
}

/** How long a scan's pull secrets are reused (a long scan reads them again after this). */
const PULL_SECRETS_MAX_AGE_MS = 10 * 60_000;

export function createScanAdapters(opts: { follows?: boolean } = {}): ScanAdapters {
  const targets = new Map<string, KubeTarget>();
  const target = (t: ClusterTarget): KubeTarget => {
    const k = targets.get(t.name);
    if (!k) throw new Error(`unknown cluster ${t.name}`);
    return k;
  };
  let problems: string[] = [];
  // a rescan does not verify again what was verified with the same keys and roots
  const verifyKept = memoizeVerification((input) => verifyArtifacts({ ...input, trust: [...input.trust] }));
  const readsPullSecrets = getEnv().SIGNET_PULL_SECRETS;
  // one reader per scan: each Secret and ServiceAccount is read once per scan
  const readers = new Map<string, { reader: PullSecretReader; createdAt: number }>();
  const readerFor = (scope: BatchScope | undefined): PullSecretReader => {
    const now = Date.now();
    for (const [key, r] of readers) {
      if (now - r.createdAt < PULL_SECRETS_MAX_AGE_MS) continue;
      readers.delete(key);
      // let requests in flight finish
      setTimeout(() => void r.reader.close().catch(() => undefined), 60_000).unref();
    }
    const key = scope?.scanId ?? "unscoped";
    let r = readers.get(key);
    if (!r) {
      // the clusters this process listed, else (a worker checking another worker's scan) those configured
      let listed: KubeTarget[] | undefined;
      const lookup = (name: string) => targets.get(name) ?? (listed ??= listClusterTargets()).find((t) => t.name === name);
      r = { reader: new PullSecretReader(lookup, log), createdAt: now };
      readers.set(key, r);
    }
    return r.reader;
  };
  /** The client for an image: a view of the main one carrying its pods' pull secrets, or none. */
  const clientFor = async (client: RegistryClient, sources: readonly PullSecretSource[] | undefined, scope: BatchScope | undefined) => {
    if (!readsPullSecrets || !sources?.length) return undefined;
    const creds = await readerFor(scope).credentials(sources);
    return creds ? { key: creds.key, client: client.withCredentials(creds.provider) } : undefined;
  };
  return {
    readsPullSecrets,
    async listClusters() {
      targets.clear();
      problems = [];
      for (const t of listClusterTargets(getEnv(), problems)) targets.set(t.name, t);
      return [...targets.values()].map((t) => ({ name: t.name }));
    },
    configurationProblem: () => (problems.length ? problems.join("; ") : null),
    inventory: (t) => inventoryCluster(target(t)),
    // a worker keeps the stored inventory of a cluster its watch follows; a process without pod
    // watches (signet scan --kubeconfig) proves an unchanged cluster instead of listing it
    ...(opts.follows
      ? { followedInStep: (t: ClusterTarget) => syncFollowedPods(target(t)) }
      : { unchangedSince: (t: ClusterTarget, since: ListVersions) => listsUnchangedSince(target(t), since) }),
    rejections: (t) => listAdmissionRejections(target(t)),
    async resolveDigest(ref, pullSecrets, scope) {
      const { client: main } = await current();
      try {
        const client = (await clientFor(main, pullSecrets, scope))?.client ?? main;
        return { digest: await client.resolveDigest({ registry: ref.registry, repository: ref.repository, tag: ref.tag ?? "latest" }) };
      } catch (err) {
        // quotes what the registry answered; kept in verdict reasons (PostgreSQL: no U+0000)
        return { error: storable((err as Error).message) };
      }
    },
    async openDiscoveryBatch(scope) {
      const { client: main } = await current();
      const base = { client: main, session: new DiscoverySession(main) };
      // images whose pods pull with the same Secrets share a client and a session
      const views = new Map<string, typeof base>();
      const forImage = async (sources: readonly PullSecretSource[] | undefined) => {
        const view = await clientFor(main, sources, scope);
        if (!view) return base;
        let v = views.get(view.key);
        if (!v) views.set(view.key, (v = { client: view.client, session: new DiscoverySession(view.client) }));
        return v;
      };
      return {
        discover: (image, pullSecrets) =>
          forImage(pullSecrets)
            .then(({ client, session }) => discover(image, { client, session }))
            .catch(
              // discover reports registry failures as outcomes; anything thrown is a bug, never "no signature"
              (err: unknown): DiscoveryResult => ({ outcome: "error", image, code: "bad-response", reason: `unexpected failure: ${(err as Error).message}`.slice(0, 500), partial: [] }),
            ),
        cosignTags: async (image, pullSecrets) => (await forImage(pullSecrets)).session.cosignTags(image),
        async referrerDigests(image, pullSecrets) {
          const repo = { registry: normalizeRegistryHost(image.registry), repository: image.repository };
          try {
            const { client, session } = await forImage(pullSecrets);
            const r = await session.referrers(repo, () => client.getReferrers(repo, image.digest));
            return r.supported ? new Set(r.descriptors.map((d) => d.digest)) : undefined;
          } catch {
            return undefined;
          }
        },
      };
    },
    async verify({ image, artifacts, keys, now }) {
      const { trust } = await current();
      return verifyKept({ image, artifacts, trust, keys, now });
    },
    ...(getEnv().SIGNET_OPENREPORTS
      ? {
          async publishReports(db: Db) {
            // the clusters this scan listed; a worker finalizing another worker's scan lists them anew
            const list = targets.size ? [...targets.values()] : listClusterTargets();
            for (const t of list) {
              const report = await buildComplianceReport(db, { cluster: t.name, format: "json" });
              await syncOpenReports(t, desiredReports(report.rows), log);
            }
          },
        }
      : {}),
  };
}
