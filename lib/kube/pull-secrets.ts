import "server-only";
import type { Logger } from "pino";
import { z } from "zod";
import { classifyKubeError, createKubeClients, type KubeClients } from "@/lib/kube/client";
import type { KubeTarget } from "@/lib/kube/clusters";
import type { PullSecretSource } from "@/lib/kube/types";
import { chainCredentials, CredentialConfigError, credentialsFromPullSecret, type CredentialProvider } from "@/lib/registry/credentials";

/**
 * Pods' pull secrets, read from their cluster (SIGNET_PULL_SECRETS, the chart's rbac.readSecrets):
 * the Secrets a pod names in `spec.imagePullSecrets`, then those of its ServiceAccount (a pod without
 * one uses `default`), always from the pod's own namespace — as the kubelet does. Each Secret and
 * ServiceAccount is read once per reader (one per scan) and parsed into a host-keyed provider
 * (lib/registry/credentials: a credential goes only to the registry host its key names). Secret
 * contents are never logged nor stored; failures are logged with the Secret's name and the reason.
 */

/** The credentials for one image: a provider and a key naming the Secrets it was built from (equal keys, equal providers). */
export interface PullCredentials {
  key: string;
  provider: CredentialProvider;
}

/** Kubernetes object names (DNS subdomains): anything else is never put into a request path. */
const objectName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
const serviceAccountSchema = z.object({
  imagePullSecrets: z
    .array(z.object({ name: z.string().nullish() }))
    .max(256)
    .nullish(),
});

/** Per-image limits: at most this many Secrets are read for one image. */
const MAX_SECRETS_PER_IMAGE = 64;

export class PullSecretReader {
  private readonly clients = new Map<string, KubeClients>();
  private readonly secrets = new Map<string, Promise<CredentialProvider | undefined>>();
  private readonly accounts = new Map<string, Promise<string[]>>();
  lastUsed = Date.now();

  constructor(
    private readonly target: (cluster: string) => KubeTarget | undefined,
    private readonly log: Logger,
  ) {}

  private clientsOf(cluster: string): KubeClients | undefined {
    let c = this.clients.get(cluster);
    if (!c) {
      const t = this.target(cluster);
      if (!t?.kubeConfig) return undefined;
      c = createKubeClients(t.kubeConfig);
      this.clients.set(cluster, c);
    }
    return c;
  }

  private async get(cluster: string, path: string, what: string): Promise<unknown> {
    const clients = this.clientsOf(cluster);
    if (!clients) throw new Error(`cluster ${cluster} is not configured`);
    try {
      return await clients.getJson(path);
    } catch (err) {
      throw classifyKubeError(err, what, this.target(cluster)?.server ?? null);
    }
  }

  /** The pull-secret names of a ServiceAccount ([] when it does not exist or cannot be read). */
  private serviceAccountSecrets(cluster: string, namespace: string, name: string): Promise<string[]> {
    const key = `${cluster}\0${namespace}\0${name}`;
    let p = this.accounts.get(key);
    if (!p) {
      p = (async () => {
        try {
          const raw = await this.get(cluster, `/api/v1/namespaces/${namespace}/serviceaccounts/${name}`, `get serviceaccount ${namespace}/${name}`);
          const sa = serviceAccountSchema.safeParse(raw);
          return sa.success ? (sa.data.imagePullSecrets ?? []).flatMap((r) => (r.name ? [r.name] : [])) : [];
        } catch (err) {
          const e = err as { kind?: string; message: string };
          if (e.kind !== "not_found") this.log.warn({ cluster, namespace, serviceAccount: name, err: e.message }, "cannot read a service account's pull secrets");
          return [];
        }
      })();
      this.accounts.set(key, p);
    }
    return p;
  }

  /** One Secret as a provider; undefined when it cannot be read or is not a docker config Secret. */
  private secret(cluster: string, namespace: string, name: string): Promise<CredentialProvider | undefined> {
    const key = `${cluster}\0${namespace}\0${name}`;
    let p = this.secrets.get(key);
    if (!p) {
      p = (async () => {
        try {
          const raw = await this.get(cluster, `/api/v1/namespaces/${namespace}/secrets/${name}`, `get secret ${namespace}/${name}`);
          return credentialsFromPullSecret(raw);
        } catch (err) {
          // the message of a kube error or a CredentialConfigError never holds the secret's content
          const message = err instanceof CredentialConfigError || err instanceof Error ? err.message : "unreadable";
          this.log.warn({ cluster, namespace, secret: name, err: message }, "cannot use a pull secret");
          return undefined;
        }
      })();
      this.secrets.set(key, p);
    }
    return p;
  }

  /** The credentials the pods of `sources` pull with; undefined when they name no usable Secret. */
  async credentials(sources: readonly PullSecretSource[]): Promise<PullCredentials | undefined> {
    this.lastUsed = Date.now();
    const refs: { cluster: string; namespace: string; name: string }[] = [];
    const seen = new Set<string>();
    const add = (cluster: string, namespace: string, name: string) => {
      const k = `${cluster}/${namespace}/${name}`;
      if (seen.has(k) || refs.length >= MAX_SECRETS_PER_IMAGE || !objectName.safeParse(name).success) return;
      seen.add(k);
      refs.push({ cluster, namespace, name });
    };
    const ordered = [...sources].sort((a, b) => (a.cluster === b.cluster ? a.namespace.localeCompare(b.namespace) : a.cluster.localeCompare(b.cluster)));
    for (const s of ordered) {
      if (!objectName.safeParse(s.namespace).success) continue;
      for (const name of s.secrets) add(s.cluster, s.namespace, name);
      for (const account of new Set(s.serviceAccounts.map((a) => a ?? "default"))) {
        if (!objectName.safeParse(account).success) continue;
        for (const name of await this.serviceAccountSecrets(s.cluster, s.namespace, account)) add(s.cluster, s.namespace, name);
      }
    }
    const providers: CredentialProvider[] = [];
    const used: string[] = [];
    for (const r of refs) {
      const p = await this.secret(r.cluster, r.namespace, r.name);
      if (p) {
        providers.push(p);
        used.push(`${r.cluster}/${r.namespace}/${r.name}`);
      }
    }
    return providers.length ? { key: used.join("\n"), provider: chainCredentials(...providers) } : undefined;
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close()));
    this.clients.clear();
  }
}
