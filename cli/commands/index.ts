import type { Command } from "@/cli/commands/types";

export type { Command } from "@/cli/commands/types";

/**
 * Every `signet` command, in the order --help lists them, each module loaded only when its command
 * runs (or for --help): `signet verify` does not load the database, queue and Kubernetes clients the
 * other commands need. Add one line per new command module.
 */
export const commandLoaders: Record<string, () => Promise<Command>> = {
  audit: () => import("@/cli/commands/audit").then((m) => m.audit),
  db: () => import("@/cli/commands/db").then((m) => m.db),
  discover: () => import("@/cli/commands/discover").then((m) => m.discover),
  inventory: () => import("@/cli/commands/inventory").then((m) => m.inventory),
  jobs: () => import("@/cli/commands/jobs").then((m) => m.jobs),
  keys: () => import("@/cli/commands/keys").then((m) => m.keys),
  rejections: () => import("@/cli/commands/rejections").then((m) => m.rejections),
  report: () => import("@/cli/commands/report").then((m) => m.report),
  revoke: () => import("@/cli/commands/revoke").then((m) => m.revoke),
  scan: () => import("@/cli/commands/scan").then((m) => m.scan),
  "trust-roots": () => import("@/cli/commands/trust-roots").then((m) => m.trustRoots),
  users: () => import("@/cli/commands/users").then((m) => m.users),
  verify: () => import("@/cli/commands/verify").then((m) => m.verify),
  "verify-bundle": () => import("@/cli/commands/verify-bundle").then((m) => m.verifyBundleCommand),
};

/**
 * Whether the command scans clusters in this process whatever else holds: `signet scan` and `signet
 * report` with --kubeconfig / --context. cli/main.ts starts those again under the scan runtime
 * (lib/scan/runtime.ts) before loading them; `signet scan` without them decides itself, once it knows
 * whether a worker will take the scan.
 */
export function scansClustersHere(name: string, args: readonly string[]): boolean {
  if (name !== "scan" && name !== "report") return false;
  return args.some((a) => a === "--kubeconfig" || a.startsWith("--kubeconfig=") || a === "--context" || a.startsWith("--context="));
}

/** All commands (loads every module: for --help and the README check). */
export async function loadCommands(): Promise<Command[]> {
  return Promise.all(Object.values(commandLoaders).map((load) => load()));
}
