import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, getDb, type Db } from "@/lib/db/client";
import { resetEnvCache } from "@/lib/env";
import { getLogger } from "@/lib/log";
import { checkImages, createScan, startScan, type ImageCheckPayload, type PipelineContext } from "@/lib/scan/pipeline";
import { createScanAdapters } from "@/lib/scan/real-adapters";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { createNamespace, createPod, setPodStatus, startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";
import { cosignSign, createCosignWorkspace, pushRandomImage, type CosignWorkspace } from "@/tests/support/registry-cosign";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { saveSigningPolicy } from "@/tests/support/scan";

const USER = "puller";
const PASSWORD = "pull-secret-password-7f3a";
const b64 = (s: string) => Buffer.from(s).toString("base64");

/**
 * Pods' pull secrets on real parts: a kube-apiserver, Debian's docker-registry with htpasswd auth
 * holding images signed by real cosign, and the scan pipeline with the production adapters.
 * - without SIGNET_PULL_SECRETS every private image is an `error` (auth), never `unsigned`;
 * - with it, a pod's own `kubernetes.io/dockerconfigjson` Secret and its ServiceAccount's legacy
 *   `kubernetes.io/dockercfg` Secret make their images `verified`;
 * - a Secret whose key names another registry host is not sent (the right password under the wrong
 *   host stays unused: `error`), and a Secret is read from the pod's own namespace only.
 */
describe("pull secrets", () => {
  let tdb: TestDatabase;
  let db: Db;
  let kube: KubeApiserver;
  let registry: TestRegistry;
  let ws: CosignWorkspace;
  const digests: Record<string, string> = {};

  beforeAll(async () => {
    [tdb, kube, registry, ws] = await Promise.all([
      createTestDatabase(),
      startKubeApiserver(),
      startRegistry({ auth: { kind: "basic", users: { [USER]: PASSWORD } } }),
      createCosignWorkspace(),
    ]);
    db = createDb(tdb.url, 4);
    process.env.DATABASE_URL = tdb.url;
    process.env.KUBECONFIG = kube.kubeconfigPath;
    process.env.SIGNET_KUBE_CONTEXTS = "admin";
    process.env.SIGNET_REGISTRY_INSECURE = registry.host;
    delete process.env.SIGNET_PULL_SECRETS;
    resetEnvCache();

    // crane and cosign push and sign with the registry's credentials (the workspace's DOCKER_CONFIG)
    const h = registry.host;
    await fs.mkdir(ws.env.DOCKER_CONFIG!, { recursive: true });
    await fs.writeFile(path.join(ws.env.DOCKER_CONFIG!, "config.json"), JSON.stringify({ auths: { [h]: { auth: b64(`${USER}:${PASSWORD}`) } } }));
    for (const name of ["own", "account", "elsewhere", "borrowed"]) {
      digests[name] = await pushRandomImage(ws, h, `apps/${name}`, "v1");
      await cosignSign(ws, `${h}/apps/${name}@${digests[name]}`, { bundle: false });
    }

    const dockerconfigjson = (host: string) => ({
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/dockerconfigjson",
      data: { ".dockerconfigjson": b64(JSON.stringify({ auths: { [host]: { auth: b64(`${USER}:${PASSWORD}`) } } })) },
    });
    // team-a: the pod names its Secret
    await createNamespace(kube, "team-a");
    await kube.request("POST", "/api/v1/namespaces/team-a/secrets", { ...dockerconfigjson(h), metadata: { name: "regcred" } });
    // team-b: the pod names none; its ServiceAccount holds a legacy .dockercfg Secret
    await createNamespace(kube, "team-b");
    await kube.request("POST", "/api/v1/namespaces/team-b/secrets", {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "legacy" },
      type: "kubernetes.io/dockercfg",
      data: { ".dockercfg": b64(JSON.stringify({ [`http://${h}`]: { username: USER, password: PASSWORD } })) },
    });
    await kube.request("POST", "/api/v1/namespaces/team-b/serviceaccounts", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "builder" }, imagePullSecrets: [{ name: "legacy" }] });
    // team-c: the right password, filed under another registry host (same address, another port)
    await createNamespace(kube, "team-c");
    const [addr, port] = h.split(":");
    await kube.request("POST", "/api/v1/namespaces/team-c/secrets", { ...dockerconfigjson(`${addr}:${Number(port) === 65535 ? 65534 : Number(port) + 1}`), metadata: { name: "regcred" } });
    // team-d: names a Secret that exists only in team-a
    await createNamespace(kube, "team-d");

    const pods: [string, string, { imagePullSecrets?: string[]; serviceAccountName?: string }][] = [
      ["team-a", "own", { imagePullSecrets: ["regcred"] }],
      ["team-b", "account", { serviceAccountName: "builder" }],
      ["team-c", "elsewhere", { imagePullSecrets: ["regcred"] }],
      ["team-d", "borrowed", { imagePullSecrets: ["regcred"] }],
    ];
    for (const [ns, name, spec] of pods) {
      await createPod(kube, { namespace: ns, name, containers: [{ name: "app", image: `${h}/apps/${name}:v1` }], ...spec });
      await setPodStatus(kube, ns, name, { containers: [{ name: "app", imageID: `${h}/apps/${name}@${digests[name]}` }] });
    }
    await saveSigningPolicy(db, h, await fs.readFile(ws.pub, "utf8"));
  }, 240_000);

  afterAll(async () => {
    delete process.env.SIGNET_PULL_SECRETS;
    resetEnvCache();
    await db?.$disconnect();
    await getDb().$disconnect().catch(() => undefined);
    await Promise.all([kube?.stop(), registry?.stop(), ws?.cleanup()]);
    await tdb?.drop();
  });

  /** One scan in this process with the production adapters, as `signet scan --kubeconfig` runs it. */
  const scan = async () => {
    const queued: ImageCheckPayload[] = [];
    const ctx: PipelineContext = { db, adapters: createScanAdapters(), log: getLogger(), enqueueImageCheck: async (p) => void queued.push(p) };
    const scanId = await createScan(db, { trigger: "test" });
    await startScan(ctx, scanId);
    for (let p = queued.shift(); p; p = queued.shift()) await checkImages(ctx, p);
    const verdicts = await db.verdict.findMany({ include: { container: { include: { pod: true } } } });
    return Object.fromEntries(verdicts.map((v) => [v.container.pod.name, v.value]));
  };
  const reasonOf = async (name: string) => (await db.image.findFirstOrThrow({ where: { repository: `apps/${name}` } })).discoveryError ?? "";

  it("without SIGNET_PULL_SECRETS, images of a registry that needs credentials are errors (auth), not unsigned", async () => {
    expect(await scan()).toEqual({ own: "error", account: "error", elsewhere: "error", borrowed: "error" });
    expect(await reasonOf("own")).toMatch(/^auth: .*requires credentials/);
    // the inventory records the names the pods pull with (names only)
    const pod = await db.pod.findFirstOrThrow({ where: { name: "own" } });
    expect(pod).toMatchObject({ pullSecrets: ["regcred"], serviceAccount: null });
    expect(await db.pod.findFirstOrThrow({ where: { name: "account" } })).toMatchObject({ pullSecrets: [], serviceAccount: "builder" });
  });

  it("with it, the pod's own and its ServiceAccount's Secrets verify; a Secret for another host or namespace is not used", async () => {
    process.env.SIGNET_PULL_SECRETS = "true";
    resetEnvCache();
    expect(await scan()).toEqual({ own: "verified", account: "verified", elsewhere: "error", borrowed: "error" });
    expect(await reasonOf("elsewhere")).toMatch(/^auth: .*requires credentials/);
    expect(await reasonOf("borrowed")).toMatch(/^auth: .*requires credentials/);
    // nothing a client can read carries the password
    const stored = JSON.stringify([await db.image.findMany(), await db.verdict.findMany(), await db.scan.findMany(), await db.evidence.findMany({ omit: { raw: true } })]);
    expect(stored).not.toContain(PASSWORD);
    expect(stored).not.toContain(b64(`${USER}:${PASSWORD}`));
  });
});
