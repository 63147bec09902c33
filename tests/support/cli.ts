import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { reapedCpuSeconds } from "@/bench/cpu";
import { ROOT } from "@/tests/support/process";

export interface SignetRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Largest peak resident memory (VmHWM) of any process of the command (the command re-runs itself for a scan), MB. */
  peakRssMb: number;
  /** Peak of each process of the command, by pid, MB. */
  peaks: Map<number, number>;
  /** The pid of the command's first process (bin/signet.mjs). */
  pid: number | undefined;
  /**
   * CPU seconds (user + system) of the command's processes, from this process's reaped-children
   * counters: exact when no other child of this process exits meanwhile (the benches).
   */
  cpuSeconds: number;
}

async function children(pid: number): Promise<number[]> {
  const tasks = await fs.readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const out: number[] = [];
  for (const t of tasks) {
    const list = await fs.readFile(`/proc/${pid}/task/${t}/children`, "utf8").catch(() => "");
    for (const c of list.split(" ").filter(Boolean)) out.push(Number(c));
  }
  return out;
}

/** Peak resident memory (VmHWM) of a process, MB; undefined once it is gone. */
export async function vmHwmMb(pid: number): Promise<number | undefined> {
  const status = await fs.readFile(`/proc/${pid}/status`, "utf8").catch(() => undefined);
  const kb = status ? /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] : undefined;
  return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
}

/**
 * Runs the real `signet` command as an operator does (node bin/signet.mjs, a child process, its stdout
 * and stderr kept apart). With `measure`, the peak memory of its processes is sampled every 100 ms
 * (VmHWM only grows, so a sample shortly before a process ends holds its peak).
 */
export function runSignet(args: string[], env: Record<string, string>, opts: { measure?: boolean } = {}): Promise<SignetRun> {
  return reapedCpuSeconds().then((cpu0) => new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [path.join(ROOT, "bin", "signet.mjs"), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const peaks = new Map<number, number>();
    let sampling = Promise.resolve();
    const sample = async () => {
      const todo = [child.pid!];
      while (todo.length) {
        const pid = todo.pop()!;
        const mb = await vmHwmMb(pid);
        if (mb !== undefined) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, mb));
        todo.push(...(await children(pid)));
      }
    };
    const timer = opts.measure ? setInterval(() => (sampling = sampling.then(sample)), 100) : undefined;
    child.once("close", async (code) => {
      clearInterval(timer);
      await sampling;
      const ms = performance.now() - started;
      resolve({ code, stdout, stderr, ms, peakRssMb: Math.max(0, ...peaks.values()), peaks, pid: child.pid, cpuSeconds: (await reapedCpuSeconds()) - cpu0 });
    });
  }));
}
