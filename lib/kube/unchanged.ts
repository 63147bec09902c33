import "server-only";
import { Watch } from "@kubernetes/client-node";
import type { KubeTarget } from "@/lib/kube/clusters";
import { createKubeClients } from "@/lib/kube/client";
import type { ListVersions } from "@/lib/kube/types";

/**
 * Whether a cluster's namespaces, pods, ReplicaSets and Jobs are exactly what the lists of an
 * earlier complete inventory saw (`since`), proven without listing them again: a process that does
 * not keep a pod watch between scans (`signet scan --kubeconfig`) re-lists 20,000 pods otherwise.
 *
 * For each of the four resources: a one-item list (a consistent read) gives the API server's
 * current resourceVersion; when it equals the stored one nothing was written at all. Otherwise a
 * watch from the stored resourceVersion replays every change since: any event means "changed"; a
 * bookmark at or past the current resourceVersion means "no change up to now". The API server
 * sends that bookmark shortly before the watch's timeout (timeoutSeconds=3: about 1–2 s in), so a
 * proof costs one or two seconds of waiting and no transfer. Anything else — 410 Gone (the stored
 * version is older than the server's history), an error, a resourceVersion that is not a number, no
 * bookmark before the timeout, another API server — answers "changed": the caller lists everything.
 *
 * `onWaiting` is called once, as soon as every check is answered or waits on the API server with its
 * watch registered: from then on the server's clock runs, and a caller may do other work while it
 * waits (a busy event loop no longer delays the answer, only reading it).
 */
export async function listsUnchangedSince(
  target: KubeTarget,
  since: ListVersions,
  opts: { timeoutMs?: number; onWaiting?: () => void } = {},
): Promise<{ unchanged: boolean; why: string }> {
  let told = false;
  const waiting = () => {
    if (told) return;
    told = true;
    opts.onWaiting?.();
  };
  // an API server that accepts a request and never answers must not hold the scan: past the watch's
  // own deadline and the requests' timeout, no answer means "changed" (the caller lists)
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ unchanged: boolean; why: string }>((resolve) => {
    timer = setTimeout(() => resolve({ unchanged: false, why: "no answer in time" }), WATCH_SECONDS * 1000 + 2 * timeoutMs);
  });
  try {
    return await Promise.race([prove(target, since, timeoutMs, waiting), late]);
  } finally {
    clearTimeout(timer);
    waiting();
  }
}

async function prove(target: KubeTarget, since: ListVersions, timeoutMs: number | undefined, onWaiting: () => void): Promise<{ unchanged: boolean; why: string }> {
  const kc = target.kubeConfig;
  if (!kc || target.configError) return { unchanged: false, why: "no client configuration" };
  if ((since.server ?? null) !== (target.server ?? null)) return { unchanged: false, why: "another API server" };
  let clients: ReturnType<typeof createKubeClients>;
  try {
    clients = createKubeClients(kc, { timeoutMs: timeoutMs ?? 10_000 });
  } catch (err) {
    return { unchanged: false, why: `no client: ${(err as Error).message}` };
  }
  const controllers = new Set<AbortController>();
  const ready: Promise<void>[] = [];
  try {
    const checks = (
      [
        ["/api/v1/namespaces", since.namespaces],
        ["/api/v1/pods", since.pods],
        ["/apis/apps/v1/replicasets", since.replicasets],
        ["/apis/batch/v1/jobs", since.jobs],
      ] as const
    ).map(async ([path, rv]) => {
      let watching!: () => void;
      ready.push(new Promise<void>((r) => (watching = r)));
      try {
        const r = await unchangedSince(clients, kc, path, rv, controllers, watching);
        // the first change answers for the whole cluster: the other checks stop
        if (!r.unchanged) throw new Changed(`${path}: ${r.why}`);
      } finally {
        watching();
      }
    });
    void Promise.all(ready).then(onWaiting);
    await Promise.all(checks);
    return { unchanged: true, why: "no change since the last list" };
  } catch (err) {
    return { unchanged: false, why: err instanceof Changed ? err.message : `check failed: ${(err as Error).message}` };
  } finally {
    for (const c of controllers) c.abort();
    await clients.close();
  }
}

class Changed extends Error {}

const WATCH_SECONDS = 3;

/** A resourceVersion as a number (etcd's revision), or undefined when it is not one. */
function revision(rv: unknown): bigint | undefined {
  return typeof rv === "string" && /^[0-9]{1,30}$/.test(rv) ? BigInt(rv) : undefined;
}

async function unchangedSince(
  clients: ReturnType<typeof createKubeClients>,
  kc: NonNullable<KubeTarget["kubeConfig"]>,
  path: string,
  rv: string,
  controllers: Set<AbortController>,
  watching: () => void,
): Promise<{ unchanged: boolean; why: string }> {
  const page = (await clients.getJson(path, { limit: 1 })) as { metadata?: { resourceVersion?: unknown } } | null;
  const current = page?.metadata?.resourceVersion;
  if (current === rv) return { unchanged: true, why: "same resourceVersion" };
  const now = revision(current);
  const stored = revision(rv);
  if (now === undefined || stored === undefined) return { unchanged: false, why: "resourceVersions are not comparable" };
  if (now < stored) return { unchanged: false, why: "the server's resourceVersion went back" };
  return new Promise((resolve) => {
    let settled = false;
    const settle = (unchanged: boolean, why: string) => {
      if (settled) return;
      settled = true;
      resolve({ unchanged, why });
    };
    new Watch(kc)
      .watch(
        path,
        { resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: WATCH_SECONDS },
        (type: string, obj: unknown) => {
          if (type === "BOOKMARK") {
            const at = revision((obj as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion);
            if (at !== undefined && at >= now) settle(true, "bookmark past the current resourceVersion");
            return;
          }
          settle(false, type === "ERROR" ? `watch error (${String((obj as { code?: unknown } | null)?.code ?? "?")})` : `${type.toLowerCase()} since the last list`);
        },
        (err: unknown) => settle(false, err ? `watch ended: ${(err as Error).message ?? String(err)}` : "no bookmark before the watch's timeout"),
      )
      .then(
        (c) => {
          controllers.add(c);
          if (settled) c.abort();
          watching();
        },
        (err: unknown) => settle(false, `watch failed: ${(err as Error).message}`),
      );
  });
}
