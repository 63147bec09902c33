// CPU time of processes, from /proc (Linux): what a bench's parts (worker, registry, PostgreSQL,
// kube-apiserver, etcd) spent while it measured something, so a figure taken on a shared machine can
// say where the CPU went.
import fs from "node:fs/promises";

/** USER_HZ on Linux: /proc/<pid>/stat counts CPU time in ticks of 10 ms. */
const CLOCK_TICKS = 100;

interface Stat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, seconds. */
  own: number;
  /** cutime + cstime: children that exited and were waited for, seconds. */
  reaped: number;
}

/** The fields of one /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat line. */
function parseStat(pid: number, stat: string): Stat {
  const close = stat.lastIndexOf(")");
  const fields = stat.slice(close + 2).split(" ");
  // after the command name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
  return {
    pid,
    ppid: Number(fields[1]),
    comm: stat.slice(stat.indexOf("(") + 1, close),
    own: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
    reaped: (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS,
  };
}

async function readStat(pid: number | string, file = `/proc/${pid}/stat`): Promise<Stat | undefined> {
  try {
    return parseStat(Number(pid), await fs.readFile(file, "utf8"));
  } catch {
    return undefined; // gone
  }
}

/** CPU seconds of the children `pid` (default this process) reaped, and theirs (cutime + cstime). */
export async function reapedCpuSeconds(pid: number | "self" = "self"): Promise<number> {
  return (await readStat(pid))?.reaped ?? 0;
}

/** CPU seconds of one process (its threads included). */
export async function cpuSeconds(pid: number): Promise<number> {
  return (await readStat(pid))?.own ?? 0;
}

/** CPU seconds of each thread of `pid`, summed by thread name (main thread "node", V8's workers, libuv's pool...; trailing digits folded into "#"). */
export async function threadCpuSeconds(pid: number): Promise<Map<string, number>> {
  const byName = new Map<string, number>();
  for (const tid of await fs.readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const t = await readStat(tid, `/proc/${pid}/task/${tid}/stat`);
    if (!t) continue;
    const name = t.comm.replace(/\d+$/, "#");
    byName.set(name, (byName.get(name) ?? 0) + t.own);
  }
  return byName;
}

/**
 * CPU seconds of every process descending from this one, grouped: a descendant counts for the
 * nearest ancestor (or itself) named in `roots` (e.g. a worker's pid → "worker"), otherwise for its
 * command name ("postgres", "kube-apiserver", "etcd", "docker-registry"). Exited children that were
 * waited for count through their parent's cutime / cstime.
 */
export async function descendantCpu(roots: ReadonlyMap<number, string> = new Map()): Promise<Map<string, number>> {
  const entries = await fs.readdir("/proc");
  const stats = (await Promise.all(entries.filter((e) => /^\d+$/.test(e)).map((e) => readStat(e)))).filter((s): s is Stat => s !== undefined);
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const out = new Map<string, number>();
  for (const s of stats) {
    // walk up to this process; the first named root on the way wins
    let group: string | undefined;
    let at: Stat | undefined = s;
    let ours = false;
    while (at) {
      if (group === undefined && roots.has(at.pid)) group = roots.get(at.pid);
      if (at.ppid === process.pid) {
        ours = true;
        break;
      }
      at = byPid.get(at.ppid);
    }
    if (!ours) continue;
    const name = group ?? s.comm;
    out.set(name, (out.get(name) ?? 0) + s.own + s.reaped);
  }
  return out;
}

/** CPU seconds per group spent between two descendantCpu readings. */
export function cpuDelta(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) out.set(k, Math.max(0, v - (before.get(k) ?? 0)));
  return out;
}

/** "worker 12.3 s (41 %), postgres 8.1 s (27 %), …": each group's CPU seconds and share of `wallMs` on all cores. */
export function formatCpu(delta: ReadonlyMap<string, number>, wallMs: number, cores: number): string {
  const capacity = (wallMs / 1000) * cores;
  return [...delta]
    .filter(([, s]) => s >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([k, s]) => `${k} ${s.toFixed(1)} s (${Math.round((s / capacity) * 100)} %)`)
    .join(", ");
}
