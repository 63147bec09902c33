import os from "node:os";
import { parseArgs } from "node:util";
import { databaseUrl } from "@/cli/commands/database";
import type { Command } from "@/cli/commands/types";
import { ApiError } from "@/lib/api/errors";
import { createDb } from "@/lib/db/client";
import { createScanAdapters } from "@/lib/scan/real-adapters";
import { previewRevocation, revokeAuthority } from "@/lib/trust/revoke";

const HELP = `Revokes a key or identity, or previews what revoking it would break.

  signet revoke --preview <authority>          blast radius only; changes nothing
  signet revoke <authority> --reason TEXT      revoke, then re-evaluate every affected image now

<authority> is a key fingerprint (sha256:<hex>), a stored authority's name, or
policy:<policy>/<authority> for one embedded in a policy.

Options:
  --json        machine-readable output
  --actor NAME  who revokes, for the audit log (default: $USER)

Exit codes: 0 done, 1 nothing to revoke or already revoked, 2 the database could not be read, 64 usage.`;

export const revoke: Command = {
  name: "revoke",
  usage: "revoke (--preview <authority> | <authority> --reason TEXT) [--json]",
  summary: "preview the blast radius of revoking a key, or revoke it",
  help: HELP,
  async run(args) {
    let values: { preview?: boolean; reason?: string; json?: boolean; actor?: string };
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args,
        options: { preview: { type: "boolean" }, reason: { type: "string" }, json: { type: "boolean" }, actor: { type: "string" } },
        allowPositionals: true,
        strict: true,
      }));
    } catch (err) {
      process.stderr.write(`signet revoke: ${(err as Error).message}\n`);
      return 64;
    }
    const ref = positionals[0];
    if (!ref || positionals.length > 1 || (!values.preview && !values.reason?.trim())) {
      process.stderr.write("signet revoke: expected --preview <authority>, or <authority> --reason TEXT\n");
      return 64;
    }
    const url = await databaseUrl("revoke");
    if (url === undefined) return 2;
    const db = createDb(url, 4);
    try {
      if (values.preview) {
        const p = await previewRevocation(db, ref);
        if (values.json) {
          process.stdout.write(JSON.stringify(p, null, 2) + "\n");
          return 0;
        }
        const r = p.radius;
        process.stdout.write(`revoking ${p.label} would turn ${r.containers} container(s) in ${r.workloads} workload(s), ${r.images} image(s), ${r.namespaces} namespace(s) from verified to failed\n`);
        for (const b of r.byPolicy) process.stdout.write(`  policy ${b.policy} (${b.mode}): ${b.containers} container(s), ${b.images} image(s)\n`);
        for (const a of r.affected) process.stdout.write(`  ${a.cluster}/${a.namespace}  ${a.workload}  ${a.container}  ${a.image}@${a.digest.slice(0, 19)}  ${a.policy} (${a.mode}) → ${a.after}\n`);
        if (p.readOnlyPolicies.length) process.stdout.write(`  read-only (imported) policies embedding it, not changed by a revocation: ${p.readOnlyPolicies.join(", ")}\n`);
        return 0;
      }
      const actor = values.actor ?? `cli:${localUser()}`;
      const r = await revokeAuthority(db, ref, values.reason!.trim(), actor, { adapters: createScanAdapters() });
      if (values.json) process.stdout.write(JSON.stringify({ revoked: r.label, policies: r.policies, reevaluated: r.reevaluated, containers: r.radius.containers, workloads: r.radius.workloads }) + "\n");
      else process.stdout.write(`revoked ${r.label}; re-evaluated ${r.reevaluated} image(s): ${r.radius.containers} container(s) in ${r.radius.workloads} workload(s) now fail\n`);
      return 0;
    } catch (err) {
      if (err instanceof ApiError) {
        process.stderr.write(`signet revoke: ${err.message}\n`);
        return 1;
      }
      throw err;
    } finally {
      await db.$disconnect();
    }
  },
};

/** The account running the command (the audit actor without --actor), from the system, not the environment. */
function localUser(): string {
  try {
    return os.userInfo().username || "unknown";
  } catch {
    return "unknown";
  }
}
