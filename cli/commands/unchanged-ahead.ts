// The proof that a cluster is unchanged since its stored inventory (lib/kube/unchanged.ts) waits about
// one or two seconds for the API server's bookmark, idle. An in-process scan starts it as soon as the
// database answers, before it loads the pipeline and creates its scan, so that the wait runs beside
// that work instead of after it (docs/decisions/0016).
import pg from "pg";
import { getEnv } from "@/lib/env";
import { listClusterTargets } from "@/lib/kube/clusters";
import type { ListVersions } from "@/lib/kube/types";
import { listsUnchangedSince } from "@/lib/kube/unchanged";
import type { ScanAdapters } from "@/lib/scan/adapters";
import { parseListVersions, STORED_LIST_VERSIONS_SQL } from "@/lib/scan/persist-inventory";

type Proof = { unchanged: boolean; why: string };

export interface UnchangedProofs {
  /**
   * Settles once every proof is answered or waits on its API server (its watches registered): the
   * caller may then load and start the rest of the scan without delaying the server's answer.
   */
  waiting: Promise<void>;
  /** Whether every cluster (at least one) has stored list versions: a proof of each is pending. */
  coverEvery: Promise<boolean>;
  /**
   * `adapters` whose `unchangedSince` answers from the proofs started ahead when the scan asks about
   * the same stored lists (what it reads then is what was read ahead unless a scan wrote in between),
   * and proves anew otherwise.
   */
  adapt(adapters: ScanAdapters): ScanAdapters;
}

const sameVersions = (a: ListVersions, b: ListVersions) =>
  a.server === b.server && a.namespaces === b.namespaces && a.pods === b.pods && a.replicasets === b.replicasets && a.jobs === b.jobs;

/**
 * Starts proving each configured cluster (or only `cluster`) with stored list versions unchanged;
 * the stored versions are read through a connection of their own (the scan's Prisma client is not
 * ready yet). A proof taken ahead says "nothing changed up to the moment it was taken" — as a list
 * taken then would: a change after it is found by the next scan (the stored versions stay those of
 * the last list). Never throws: a cluster whose proof cannot be started ahead is proven (or listed)
 * by the scan itself.
 */
export function proveUnchangedAhead(url: string, cluster: string | undefined): UnchangedProofs {
  let targets: ReturnType<typeof listClusterTargets> = [];
  try {
    targets = listClusterTargets().filter((t) => cluster === undefined || t.name === cluster);
  } catch {
    // (the scan reports a configuration it cannot read)
  }
  const stored = targets.length ? readListVersions(url, targets.map((t) => t.name)) : Promise.resolve(new Map<string, ListVersions>());
  const ahead = new Map<string, Promise<{ since: ListVersions; proof: Proof } | null>>();
  const waiting: Promise<void>[] = [];
  for (const t of targets) {
    let onWaiting!: () => void;
    waiting.push(new Promise<void>((r) => (onWaiting = r)));
    ahead.set(
      t.name,
      stored.then(async (versions) => {
        const since = versions.get(t.name);
        if (!since) {
          onWaiting();
          return null;
        }
        return { since, proof: await listsUnchangedSince(t, since, { onWaiting }) };
      }),
    );
  }
  return {
    waiting: Promise.all(waiting).then(() => undefined),
    coverEvery: stored.then((versions) => targets.length > 0 && targets.every((t) => versions.has(t.name))),
    adapt(adapters) {
      const own = adapters.unchangedSince;
      if (!own) return adapters;
      return {
        ...adapters,
        async unchangedSince(target, since) {
          const early = await ahead.get(target.name);
          return early && sameVersions(early.since, since) ? early.proof : own(target, since);
        },
      };
    },
  };
}

/** The stored list versions of `clusters` (none on any failure: the scan then reads them itself). */
async function readListVersions(url: string, clusters: string[]): Promise<Map<string, ListVersions>> {
  const timeoutMs = getEnv().SIGNET_DB_CONNECT_TIMEOUT_MS;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on("error", () => undefined);
  const out = new Map<string, ListVersions>();
  try {
    await client.connect();
    const { rows } = await client.query<{ name: string; v: unknown }>(STORED_LIST_VERSIONS_SQL, [clusters]);
    for (const r of rows) {
      const v = parseListVersions(r.v);
      if (v) out.set(r.name, v);
    }
  } catch {
    // (read again by the scan)
  } finally {
    await client.end().catch(() => undefined);
  }
  return out;
}
