import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isInCluster, KubeconfigError, loadInClusterTarget, loadKubeconfigClusters } from "@/lib/kube/clusters";

let dir: string;
const file = (name: string) => path.join(dir, name);
const kubeconfig = (contexts: { name: string; server?: string; user?: string | null }[], current?: string) => `apiVersion: v1
kind: Config
current-context: ${current ?? contexts[0]?.name ?? '""'}
clusters:
${contexts.map((c) => `- name: ${c.name}\n  cluster:\n    server: ${c.server ?? `https://${c.name}.example:6443`}`).join("\n")}
users:
${contexts.filter((c) => c.user !== null).map((c) => `- name: ${c.user ?? c.name}\n  user:\n    token: t-${c.name}`).join("\n") || "[]"}
contexts:
${contexts.map((c) => `- name: ${c.name}\n  context:\n    cluster: ${c.name}\n    user: ${c.user === null ? "ghost" : (c.user ?? c.name)}`).join("\n")}
`;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-kubeconfig-"));
  await fs.writeFile(file("two"), kubeconfig([{ name: "prod" }, { name: "staging" }], "staging"));
  await fs.writeFile(file("one"), kubeconfig([{ name: "dev" }, { name: "prod", server: "https://shadowed.example" }]));
  await fs.writeFile(file("broken-user"), kubeconfig([{ name: "ok" }, { name: "orphan", user: null }]));
  await fs.writeFile(file("malformed"), "apiVersion: v1\nclusters: [\n  - name: x\n   cluster: {server: 1\n");
  await fs.writeFile(file("scalar"), "just a string\n");
  await fs.writeFile(file("empty-contexts"), "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n");
  await fs.writeFile(file("no-server"), "apiVersion: v1\nclusters:\n- name: x\n  cluster: {}\ncontexts:\n- name: x\n  context: {cluster: x}\n");
  await fs.mkdir(file("home/.kube"), { recursive: true });
  await fs.writeFile(file("home/.kube/config"), kubeconfig([{ name: "home-cluster" }]));
});
afterAll(async () => fs.rm(dir, { recursive: true, force: true }));

describe("loadKubeconfigClusters", () => {
  it("returns every context with its server, or the selected ones in order", () => {
    const all = loadKubeconfigClusters({ kubeconfigPath: file("two") });
    expect(all.map((t) => [t.name, t.server, t.source, t.configError])).toEqual([
      ["prod", "https://prod.example:6443", "kubeconfig", null],
      ["staging", "https://staging.example:6443", "kubeconfig", null],
    ]);
    expect(all[0]!.kubeConfig?.getCurrentContext()).toBe("prod");
    expect(loadKubeconfigClusters({ kubeconfigPath: file("two"), contexts: ["staging"] }).map((t) => t.name)).toEqual(["staging"]);
  });

  it("merges KUBECONFIG lists like kubectl (first file wins, missing files skipped) and defaults to ~/.kube/config", () => {
    const env = [file("one"), file("does-not-exist"), file("two")].join(path.delimiter);
    const merged = loadKubeconfigClusters({ kubeconfigEnv: env });
    expect(merged.map((t) => t.name)).toEqual(["dev", "prod", "staging"]);
    expect(merged.find((t) => t.name === "prod")?.server).toBe("https://shadowed.example");
    expect(loadKubeconfigClusters({ homeDir: file("home") }).map((t) => t.name)).toEqual(["home-cluster"]);
  });

  it("records an inconsistent context as that cluster's error and keeps the others", () => {
    const targets = loadKubeconfigClusters({ kubeconfigPath: file("broken-user") });
    expect(targets[0]).toMatchObject({ name: "ok", configError: null });
    expect(targets[1]).toMatchObject({ name: "orphan", kubeConfig: null, configError: 'context "orphan" refers to user "ghost", which is not in the kubeconfig' });
  });

  it("gives one clear error for an unusable kubeconfig", () => {
    const err = (opts: Parameters<typeof loadKubeconfigClusters>[0]) => {
      try {
        loadKubeconfigClusters(opts);
      } catch (e) {
        expect(e).toBeInstanceOf(KubeconfigError);
        return (e as Error).message;
      }
      throw new Error("expected a KubeconfigError");
    };
    expect(err({ kubeconfigPath: file("missing") })).toBe(`kubeconfig ${file("missing")} does not exist`);
    expect(err({ kubeconfigPath: file("malformed") })).toMatch(new RegExp(`^kubeconfig ${file("malformed")} is not a valid kubeconfig: `));
    expect(err({ kubeconfigPath: file("scalar") })).toMatch(/is not a valid kubeconfig/);
    expect(err({ kubeconfigPath: file("no-server") })).toMatch(/is not a valid kubeconfig: .*server/);
    expect(err({ kubeconfigPath: file("empty-contexts") })).toBe(`kubeconfig ${file("empty-contexts")} defines no contexts`);
    expect(err({ kubeconfigPath: file("two"), contexts: ["nope"] })).toBe(`kubeconfig ${file("two")} has no context "nope" (available: prod, staging)`);
    expect(err({ kubeconfigEnv: file("nothing-here") })).toMatch(/does not exist/);
    expect(err({ homeDir: file("no-home") })).toMatch(/no-home\/\.kube\/config does not exist/);
  });
});

describe("in-cluster", () => {
  it("uses the mounted service-account token and the injected service address", async () => {
    const sa = file("sa");
    await fs.mkdir(sa, { recursive: true });
    const env = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };
    expect(isInCluster(env, sa)).toBe(false);
    await fs.writeFile(path.join(sa, "token"), "tok");
    expect(isInCluster(env, sa)).toBe(true);
    const t = loadInClusterTarget({ env, serviceAccountDir: sa });
    expect(t).toMatchObject({ name: "in-cluster", source: "in_cluster", context: null, server: "https://10.96.0.1:443", configError: null });
    expect(loadInClusterTarget({ env: {}, serviceAccountDir: sa }).configError).toMatch(/KUBERNETES_SERVICE_HOST/);
  });
});
