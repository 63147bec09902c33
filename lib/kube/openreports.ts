import "server-only";
import type { Logger } from "pino";
import { createKubeClients } from "@/lib/kube/client";
import type { KubeTarget } from "@/lib/kube/clusters";
import { DIGEST_ANNOTATION, MANAGED_BY, REPORT_API, type OpenReport } from "@/lib/report/openreports";

export interface SyncOutcome {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  errors: string[];
}

/**
 * Runs a request again while the API server answers 429 (e.g. "storage is (re)initializing" right
 * after the CRD was installed), after its Retry-After (capped at 5 s), at most 5 times, as client-go does.
 */
async function retryBusy<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const e = err as { code?: number; headers?: Record<string, string> };
      if (e.code !== 429 || attempt >= 5) throw err;
      const after = Number(e.headers?.["retry-after"] ?? 1);
      await new Promise((r) => setTimeout(r, Math.min(Number.isFinite(after) && after > 0 ? after : 1, 5) * 1000));
    }
  }
}

interface ExistingReport {
  metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
}

/**
 * Makes a cluster's Signet Reports (label app.kubernetes.io/managed-by=signet) what `desired` says:
 * creates the missing, replaces those whose results digest changed, deletes the stale. Needs get /
 * list / create / update / delete on openreports.io reports (the chart's `openReports.enabled`).
 * Per-object failures are collected, never thrown: a report is a copy, the scan stands without it.
 */
export async function syncOpenReports(target: KubeTarget, desired: Map<string, OpenReport>, log?: Logger): Promise<SyncOutcome> {
  const out: SyncOutcome = { created: 0, updated: 0, deleted: 0, unchanged: 0, errors: [] };
  if (!target.kubeConfig) {
    out.errors.push(target.configError ?? "no usable configuration");
    return out;
  }
  const clients = createKubeClients(target.kubeConfig);
  const { group, version, plural } = REPORT_API;
  try {
    const existing = new Map<string, ExistingReport>();
    let cont: string | undefined;
    do {
      const c = cont;
      const page = (await retryBusy(() => clients.getJson(`/apis/${group}/${version}/${plural}`, { labelSelector: `${MANAGED_BY.key}=${MANAGED_BY.value}`, limit: 500, continue: c }))) as {
        items?: ExistingReport[];
        metadata?: { continue?: string };
      };
      for (const r of page.items ?? []) existing.set(`${r.metadata.namespace}/${r.metadata.name}`, r);
      cont = page.metadata?.continue || undefined;
    } while (cont);

    for (const [key, report] of desired) {
      const have = existing.get(key);
      const ns = report.metadata.namespace;
      try {
        if (!have) {
          await retryBusy(() => clients.custom.createNamespacedCustomObject({ group, version, plural, namespace: ns, body: report }));
          out.created++;
        } else if (have.metadata.annotations?.[DIGEST_ANNOTATION] !== report.metadata.annotations[DIGEST_ANNOTATION]) {
          await retryBusy(() =>
            clients.custom.replaceNamespacedCustomObject({
              group,
              version,
              plural,
              namespace: ns,
              name: report.metadata.name,
              body: { ...report, metadata: { ...report.metadata, resourceVersion: have.metadata.resourceVersion } },
            }),
          );
          out.updated++;
        } else {
          out.unchanged++;
        }
      } catch (err) {
        out.errors.push(`${key}: ${(err as Error).message}`.slice(0, 500));
      }
    }
    for (const [key, have] of existing) {
      if (desired.has(key)) continue;
      try {
        await retryBusy(() => clients.custom.deleteNamespacedCustomObject({ group, version, plural, namespace: have.metadata.namespace, name: have.metadata.name }));
        out.deleted++;
      } catch (err) {
        out.errors.push(`${key}: ${(err as Error).message}`.slice(0, 500));
      }
    }
  } catch (err) {
    out.errors.push(`listing reports: ${(err as Error).message}`.slice(0, 500));
  } finally {
    await clients.close();
  }
  if (out.errors.length) log?.warn({ cluster: target.name, errors: out.errors.slice(0, 5) }, "some OpenReports could not be written");
  log?.info({ cluster: target.name, ...out, errors: out.errors.length }, "OpenReports synced");
  return out;
}
