import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { findFreePort } from "@/lib/db/embedded";
import { createCoreEvent, createNamespace, createPod, setPodStatus, startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { DENIALS } from "@/tests/support/kube-fixtures";
import { spawnTs, waitFor, type Spawned } from "@/tests/support/process";
import { createCosignWorkspace, cosignAttest, cosignSign, generateExtraKey, pushRandomImage, type CosignWorkspace } from "@/tests/support/registry-cosign";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";

/**
 * The dashboard's e2e scenario, produced the real way (as tests/integration/scan/pipeline.test.ts):
 * a kube-apiserver with pods, a registry holding images signed by real cosign (classic, v3 bundle, an
 * attestation, a foreign key, one unsigned), an admission rejection event, and Signet's production
 * build started through scripts/launch.ts (web + worker + embedded PostgreSQL) pointed at them.
 *
 * After the test saves {@link policyYaml} and runs a scan, the figures are:
 * - payments (policy `release`, enforce): classic, bundle, attested verified; foreign failed
 * - tools (policy `tools-audit`, audit): unsigned unsigned; pending (classic by tag) verified
 * → 6 containers, 4 verified, 1 failed, 1 unsigned; 5 distinct images, 3 verified.
 */
export interface DashboardScenario {
  base: string;
  app: Spawned;
  kube: KubeApiserver;
  registry: TestRegistry;
  ws: CosignWorkspace;
  dataDir: string;
  /** Signet's kubeconfig: a copy of the apiserver's, so that stopping the apiserver leaves it in place. */
  kubeconfigPath: string;
  digests: Record<"classic" | "bundle" | "attested" | "foreign" | "unsigned", string>;
  policyYaml: string;
  stop: () => Promise<void>;
}

export const EXPECTED = {
  containers: 6,
  verified: 4,
  failed: 1,
  unsigned: 1,
  images: 5,
  imagesVerified: 3,
} as const;

export async function startDashboardScenario(): Promise<DashboardScenario> {
  const [kube, registry, ws, dataDir, port] = await Promise.all([
    startKubeApiserver(),
    // info: the registry logs each request it answers (tests check a re-evaluation asks nothing)
    startRegistry({ logLevel: "info" }),
    createCosignWorkspace(),
    fs.mkdtemp(path.join(os.tmpdir(), "signet-e2e-dash-")),
    findFreePort(),
  ]);
  const base = `http://127.0.0.1:${port}`;
  const kubeconfigPath = path.join(dataDir, "kubeconfig");
  await fs.copyFile(kube.kubeconfigPath, kubeconfigPath);
  // the app starts (embedded PostgreSQL, migrations) while the registry and cluster are filled
  const app = spawnTs("scripts/launch.ts", [], {
    DATABASE_URL: "",
    SIGNET_DATA_DIR: dataDir,
    PORT: String(port),
    LOG_LEVEL: "warn",
    KUBECONFIG: kubeconfigPath,
    SIGNET_KUBE_CONTEXTS: "admin",
    SIGNET_REGISTRY_INSECURE: registry.host,
    SIGNET_COVERAGE_TARGET: "90",
    // the cluster's own target (cluster pages, the overview's "By cluster")
    SIGNET_CLUSTER_COVERAGE_TARGETS: "admin=80",
    // the scenario's figures are those of its scans: a pod watch would check images (and write
    // snapshots) on its own schedule, racing the scan under test (tests/integration/watch covers it)
    SIGNET_WATCH: "false",
  });

  const h = registry.host;
  const [classic, bundle, attested, foreign, unsigned] = await Promise.all(
    ["classic", "bundle", "attested", "foreign", "unsigned"].map((r) => pushRandomImage(ws, h, `apps/${r}`, "v1")),
  );
  const digests = { classic: classic!, bundle: bundle!, attested: attested!, foreign: foreign!, unsigned: unsigned! };
  const otherKey = await generateExtraKey(ws, "other");
  await Promise.all([
    cosignSign(ws, `${h}/apps/classic@${classic}`, { bundle: false }),
    cosignSign(ws, `${h}/apps/bundle@${bundle}`, { bundle: true }),
    cosignSign(ws, `${h}/apps/attested@${attested}`, { bundle: false }).then(() => cosignAttest(ws, `${h}/apps/attested@${attested}`, { bundle: false })),
    cosignSign(ws, `${h}/apps/foreign@${foreign}`, { bundle: false, key: otherKey }),
  ]);

  await createNamespace(kube, "payments", { env: "prod" });
  await createNamespace(kube, "tools", { env: "dev" });
  const pods: [string, string, string][] = [
    ["payments", "classic", classic!],
    ["payments", "bundle", bundle!],
    ["payments", "attested", attested!],
    ["payments", "foreign", foreign!],
    ["tools", "unsigned", unsigned!],
  ];
  for (const [ns, name, digest] of pods) {
    await createPod(kube, { namespace: ns, name, containers: [{ name: "app", image: `${h}/apps/${name}:v1` }] });
    await setPodStatus(kube, ns, name, { containers: [{ name: "app", imageID: `${h}/apps/${name}@${digest}` }] });
  }
  // the runtime has not reported a digest: resolved through the registry
  await createPod(kube, { namespace: "tools", name: "pending", containers: [{ name: "app", image: `${h}/apps/classic:v1` }] });
  // one admission rejection, an hour ago
  const hourAgo = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, "Z");
  await createCoreEvent(kube, {
    namespace: "payments",
    name: "api-5f7c9d.1",
    involved: { kind: "ReplicaSet", name: "api-5f7c9d", apiVersion: "apps/v1" },
    message: DENIALS.policyController,
    count: 3,
    firstSeen: hourAgo,
    lastSeen: hourAgo,
  });

  const pem = (await fs.readFile(ws.pub, "utf8")).trim();
  const policyYaml = `apiVersion: signet.dev/v1
kind: Policy
metadata: { name: release, description: Release images are signed by CI }
spec:
  mode: enforce
  requireTlog: false
  scope: { images: ["${h}/apps/**"], namespaces: [payments] }
  authorities: [ { name: ci, key: { pem: ${JSON.stringify(pem)} } } ]
---
apiVersion: signet.dev/v1
kind: Policy
metadata: { name: tools-audit }
spec:
  mode: audit
  requireTlog: false
  scope: { images: ["${h}/apps/**"], namespaces: [tools] }
  authorities: [ { name: ci, key: { pem: ${JSON.stringify(pem)} } } ]
`;

  await waitFor(async () => ((await fetch(`${base}/api/health`).catch(() => null))?.status === 200 ? true : undefined), 90_000, "Signet healthy");

  return {
    base,
    app,
    kube,
    registry,
    ws,
    dataDir,
    kubeconfigPath,
    digests,
    policyYaml,
    stop: async () => {
      if (app.proc.exitCode === null) {
        app.proc.kill("SIGTERM");
        await app.exited;
      }
      await Promise.all([kube.stop(), registry.stop(), ws.cleanup()]);
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
