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

/** All commands (loads every module: for --help and the README check). */
export async function loadCommands(): Promise<Command[]> {
  return Promise.all(Object.values(commandLoaders).map((load) => load()));
}
