import "server-only";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import YAML from "yaml";
import { getEnv, type Env } from "@/lib/env";
import { childLogger } from "@/lib/log";
import type { ClusterRecord } from "@/lib/kube/types";

/** The kubeconfig cannot be used at all (missing, unreadable, malformed, or a requested context is absent). */
export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KubeconfigError";
  }
}

/** One cluster to read: where it comes from and the client configuration to reach it. */
export interface KubeTarget extends ClusterRecord {
  /** Client configuration with this cluster's context current; null when `configError` is set. */
  kubeConfig: KubeConfig | null;
  /** Why this entry cannot be used (e.g. its context names a user that does not exist). */
  configError: string | null;
}

export interface LoadKubeconfigOptions {
  /** An explicit kubeconfig file (like `kubectl --kubeconfig`); wins over KUBECONFIG. */
  kubeconfigPath?: string;
  /** Only these contexts, in this order (like repeated `--context`); default: every context. */
  contexts?: string[];
  /** KUBECONFIG as kubectl reads it: a list of files separated by the platform's path delimiter. */
  kubeconfigEnv?: string;
  /** Home directory for the `~/.kube/config` default; defaults to os.homedir(). */
  homeDir?: string;
}

/** The files a kubeconfig is read from, in kubectl's precedence order. */
export function kubeconfigFiles(opts: LoadKubeconfigOptions): { files: string[]; origin: string } {
  if (opts.kubeconfigPath) return { files: [path.resolve(opts.kubeconfigPath)], origin: opts.kubeconfigPath };
  const fromEnv = (opts.kubeconfigEnv ?? "").split(path.delimiter).filter(Boolean);
  if (fromEnv.length) return { files: fromEnv.map((f) => path.resolve(f)), origin: `KUBECONFIG=${opts.kubeconfigEnv}` };
  const home = opts.homeDir ?? os.homedir();
  return { files: [path.join(home, ".kube", "config")], origin: path.join(home, ".kube", "config") };
}

function readOne(file: string): KubeConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KubeconfigError(
      code === "ENOENT" ? `kubeconfig ${file} does not exist` : `kubeconfig ${file} cannot be read: ${(err as Error).message}`,
    );
  }
  const invalid = (why: string) => new KubeconfigError(`kubeconfig ${file} is not a valid kubeconfig: ${why}`);
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw invalid((err as Error).message.split("\n")[0] ?? "YAML syntax error");
  }
  // client-node accepts any YAML document; a kubeconfig is a mapping whose lists are lists.
  if (doc !== null && (typeof doc !== "object" || Array.isArray(doc))) throw invalid("expected a mapping with clusters, users and contexts");
  for (const key of ["clusters", "users", "contexts"]) {
    const v = (doc as Record<string, unknown> | null)?.[key];
    if (v !== undefined && v !== null && !Array.isArray(v)) throw invalid(`${key} must be a list`);
  }
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
  } catch (err) {
    throw invalid((err as Error).message.split("\n")[0] ?? "");
  }
  kc.clusters ??= [];
  kc.users ??= [];
  kc.contexts ??= [];
  // Relative certificate/key/token paths are relative to the file, as kubectl resolves them.
  kc.makePathsAbsolute(path.dirname(file));
  return kc;
}

/**
 * Reads kubeconfig files and merges them the way kubectl does: for KUBECONFIG lists, missing files
 * are skipped and the first file to define a name wins; the current context is the first one set.
 */
export function readKubeconfig(opts: LoadKubeconfigOptions = {}): { kubeConfig: KubeConfig; origin: string } {
  const { files, origin } = kubeconfigFiles(opts);
  const explicit = Boolean(opts.kubeconfigPath) || files.length === 1;
  const present = explicit ? files : files.filter((f) => fs.existsSync(f));
  if (present.length === 0) {
    throw new KubeconfigError(`no kubeconfig found: none of the files in ${origin} exist`);
  }
  const merged = new KubeConfig();
  merged.clusters = [];
  merged.users = [];
  merged.contexts = [];
  for (const file of present) {
    const kc = readOne(file);
    for (const c of kc.clusters) if (!merged.clusters.some((x) => x.name === c.name)) merged.clusters.push(c);
    for (const u of kc.users) if (!merged.users.some((x) => x.name === u.name)) merged.users.push(u);
    for (const c of kc.contexts) if (!merged.contexts.some((x) => x.name === c.name)) merged.contexts.push(c);
    if (!merged.currentContext && kc.currentContext) merged.currentContext = kc.currentContext;
  }
  return { kubeConfig: merged, origin };
}

/** A client configuration holding exactly one context of `source` (its cluster and user), made current. */
function singleContext(source: KubeConfig, contextName: string): { kc: KubeConfig | null; server: string | null; error: string | null } {
  const ctx = source.getContextObject(contextName);
  if (!ctx) return { kc: null, server: null, error: `context "${contextName}" does not exist` };
  const cluster = source.getCluster(ctx.cluster);
  if (!cluster) return { kc: null, server: null, error: `context "${contextName}" refers to cluster "${ctx.cluster}", which is not in the kubeconfig` };
  const user = ctx.user ? source.getUser(ctx.user) : null;
  if (ctx.user && !user) {
    return { kc: null, server: cluster.server, error: `context "${contextName}" refers to user "${ctx.user}", which is not in the kubeconfig` };
  }
  const kc = new KubeConfig();
  kc.clusters = [cluster];
  kc.users = user ? [user] : [];
  kc.contexts = [ctx];
  kc.currentContext = contextName;
  return { kc, server: cluster.server, error: null };
}

/**
 * The clusters of a kubeconfig: every context, or the selected ones in the order given. Throws
 * KubeconfigError when the file is missing or malformed, has no contexts, or a selected context
 * does not exist; an entry that is merely inconsistent (a context naming a missing user) becomes
 * that cluster's `configError` so the other clusters are still read.
 */
export function loadKubeconfigClusters(opts: LoadKubeconfigOptions = {}): KubeTarget[] {
  const { kubeConfig, origin } = readKubeconfig(opts);
  const names = kubeConfig.contexts.map((c) => c.name);
  if (names.length === 0) throw new KubeconfigError(`kubeconfig ${origin} defines no contexts`);
  const selected = opts.contexts?.length ? [...new Set(opts.contexts)] : names;
  const missing = selected.filter((n) => !names.includes(n));
  if (missing.length) {
    throw new KubeconfigError(
      `kubeconfig ${origin} has no context ${missing.map((m) => `"${m}"`).join(", ")} (available: ${names.join(", ")})`,
    );
  }
  return selected.map((name) => {
    const { kc, server, error } = singleContext(kubeConfig, name);
    return { name, source: "kubeconfig", context: name, server, kubeConfig: kc, configError: error };
  });
}

export interface InClusterOptions {
  /** Cluster name to record (default `in-cluster`). */
  name?: string;
  /** KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT, as the kubelet injects them. */
  env: Record<string, string | undefined>;
  /** Directory of the mounted service-account token and CA (default /var/run/secrets/kubernetes.io/serviceaccount). */
  serviceAccountDir?: string;
}

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** True when this process runs in a pod with a mounted service-account token. */
export function isInCluster(env: Record<string, string | undefined>, serviceAccountDir = SERVICE_ACCOUNT_DIR): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && fs.existsSync(path.join(serviceAccountDir, "token")));
}

/**
 * The cluster this process runs in, through its service account. The token file is re-read when it
 * changes (bound tokens rotate hourly), as client-go does.
 */
export function loadInClusterTarget(opts: InClusterOptions): KubeTarget {
  const name = opts.name ?? "in-cluster";
  const dir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = opts.env.KUBERNETES_SERVICE_HOST;
  const port = opts.env.KUBERNETES_SERVICE_PORT;
  const base = { name, source: "in_cluster" as const, context: null };
  if (!host || !port) {
    return { ...base, server: null, kubeConfig: null, configError: "not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set" };
  }
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const tokenFile = path.join(dir, "token");
  if (!fs.existsSync(tokenFile)) {
    return { ...base, server, kubeConfig: null, configError: `no service-account token at ${tokenFile}` };
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name, server, caFile: path.join(dir, "ca.crt"), skipTLSVerify: false }],
    users: [{ name, authProvider: { name: "tokenFile", config: { tokenFile } } }],
    contexts: [{ name, cluster: name, user: name }],
    currentContext: name,
  });
  return { ...base, server, kubeConfig: kc, configError: null };
}

/** Clusters Signet watches: kubeconfig contexts (SIGNET_KUBE_CONTEXTS selects), plus its own cluster in a pod. */
export function listClusterTargets(env: Env = getEnv(), problems?: string[]): KubeTarget[] {
  const targets: KubeTarget[] = [];
  const envMap = { KUBERNETES_SERVICE_HOST: env.KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT: env.KUBERNETES_SERVICE_PORT };
  if (isInCluster(envMap)) targets.push(loadInClusterTarget({ env: envMap }));
  try {
    targets.push(...loadKubeconfigClusters({ kubeconfigEnv: env.KUBECONFIG, contexts: env.SIGNET_KUBE_CONTEXTS }));
  } catch (err) {
    // no kubeconfig at all is normal in a pod; a broken one is reported by inventory of no cluster
    if (targets.length === 0) childLogger("scan-adapters").warn({ err: (err as Error).message }, "no clusters configured");
    problems?.push((err as Error).message);
  }
  return targets;
}
