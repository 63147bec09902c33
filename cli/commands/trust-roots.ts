import fs from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import type { Command } from "@/cli/commands/types";
import { ApiError } from "@/lib/api/errors";
import { createDb, type Db } from "@/lib/db/client";
import { locateDatabaseUrl } from "@/lib/db/locate";
import { checkDatabase } from "@/lib/db/preflight";
import { adminUrlFetch } from "@/lib/egress/env";
import type { EgressFetch } from "@/lib/egress/fetch";
import { getEnv } from "@/lib/env";
import { LIMITS } from "@/lib/sigstore/limits";
import { addTrustedRoot, addTufRepository, listTrustedRoots, removeTrustedRoot, type TrustedRootDto } from "@/lib/trust/trusted-roots";
import { refreshAllTufRepositories, refreshTufRepository } from "@/lib/trust/tuf-refresh";

const HELP = `Trusted roots policies name in keyless.trustedRoot: custom trusted_root.json files and TUF
repositories whose trusted_root.json the worker refreshes every hour (the Sigstore public-good one too).

  signet trust-roots [list] [--json]                       every root: source, sha256, TUF refresh outcome, policies
  signet trust-roots add NAME FILE                         store a custom trusted_root.json (validated strictly)
  signet trust-roots add-tuf NAME --mirror URL --root FILE a TUF repository by its mirror URL and initial root.json
  signet trust-roots remove NAME                           refused while a policy names the root
  signet trust-roots refresh [NAME]                        run the TUF refresh now, in this process

Options: --actor NAME (who changes, for the audit log; default cli:<login>), --json.
Exit codes: 0 done, 2 refused (an invalid root, a name in use, a root a policy names), a refresh failed or the
database could not be read, 64 usage.`;

function readFile(file: string): string {
  const stat = fs.statSync(file);
  if (stat.size > LIMITS.trustedRootBytes) throw new ApiError("bad_request", `${file} is larger than ${LIMITS.trustedRootBytes} bytes`);
  return fs.readFileSync(file, "utf8");
}

function parseJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFile(file));
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError("bad_request", `${file}: ${err instanceof SyntaxError ? "not JSON" : (err as Error).message}`);
  }
}

function printTable(roots: TrustedRootDto[]) {
  const rows = roots.map((r) => [
    r.name,
    r.source,
    r.sha256 ? r.sha256.slice(0, 12) : "-",
    `${r.counts.certificateAuthorities}/${r.counts.tlogs}/${r.counts.ctlogs}/${r.counts.timestampAuthorities}`,
    r.tuf ? `v${r.tuf.rootVersion} ${r.tuf.lastSuccessAt?.slice(0, 16) ?? "never"}` : "-",
    r.tuf?.lastError ? `ERROR ${r.tuf.lastError}` : (r.problem ?? "ok"),
    r.policies.join(",") || "-",
  ]);
  const head = ["NAME", "SOURCE", "SHA256", "CA/TLOG/CT/TSA", "TUF ROOT, LAST OK", "STATUS", "POLICIES"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) process.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd() + "\n");
}

export const trustRoots: Command = {
  name: "trust-roots",
  usage: "trust-roots [list|add|add-tuf|remove|refresh] …",
  summary: "custom trusted roots and TUF repositories (refresh outcome, policies naming them)",
  help: HELP,
  async run(args) {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        strict: true,
        options: { json: { type: "boolean" }, actor: { type: "string" }, mirror: { type: "string" }, root: { type: "string" } },
      });
    } catch (err) {
      process.stderr.write(`signet trust-roots: ${(err as Error).message}\n`);
      return 64;
    }
    const { values, positionals } = parsed;
    const [sub = "list", ...rest] = positionals;
    const need = (n: number) => {
      if (rest.length !== n) throw new UsageError(`signet trust-roots ${sub} takes ${n} argument(s); see --help`);
    };
    let url: string;
    try {
      url = await locateDatabaseUrl(getEnv());
      await checkDatabase(url);
    } catch (err) {
      process.stderr.write(`signet trust-roots: ${(err as Error).message}\n`);
      return 2;
    }
    const db: Db = createDb(url, 2);
    const actor = values.actor ?? `cli:${os.userInfo().username}`;
    const fetches: EgressFetch[] = [];
    try {
      switch (sub) {
        case "list": {
          need(0);
          const roots = await listTrustedRoots(db);
          if (values.json) process.stdout.write(JSON.stringify({ trustedRoots: roots }, null, 2) + "\n");
          else printTable(roots);
          return 0;
        }
        case "add": {
          need(2);
          const root = await addTrustedRoot(db, { name: rest[0]!, document: parseJsonFile(rest[1]!) }, actor);
          process.stdout.write(values.json ? JSON.stringify({ trustedRoot: root }) + "\n" : `added ${root.name} (sha256 ${root.sha256})\n`);
          return 0;
        }
        case "add-tuf": {
          need(1);
          if (!values.mirror || !values.root) throw new UsageError("add-tuf needs --mirror URL and --root FILE");
          let mirror: URL;
          try {
            mirror = new URL(values.mirror);
          } catch {
            throw new UsageError(`--mirror ${values.mirror} is not a URL`);
          }
          if (mirror.protocol !== "https:" && mirror.protocol !== "http:") throw new UsageError("--mirror must be an http(s) URL");
          await addTufRepository(db, { name: rest[0]!, mirrorUrl: mirror.href, rootJson: readFile(values.root) }, actor);
          process.stdout.write(`added TUF repository ${rest[0]} (the worker refreshes it within the hour; "signet trust-roots refresh ${rest[0]}" does it now)\n`);
          return 0;
        }
        case "remove": {
          need(1);
          await removeTrustedRoot(db, rest[0]!, actor);
          process.stdout.write(`removed ${rest[0]}\n`);
          return 0;
        }
        case "refresh": {
          if (rest.length > 1) throw new UsageError("refresh takes at most one repository name");
          const env = getEnv();
          const fetchFor = (mirrorUrl: string) => {
            const f = adminUrlFetch(env, { label: "TUF mirror", url: mirrorUrl });
            fetches.push(f);
            return f;
          };
          const outcomes = rest[0] ? [await refreshTufRepository(db, rest[0], fetchFor)] : await refreshAllTufRepositories(db, { publicGood: env.SIGNET_TUF_PUBLIC_GOOD, fetchFor });
          if (values.json) process.stdout.write(JSON.stringify({ outcomes }, null, 2) + "\n");
          else for (const o of outcomes) process.stdout.write(o.ok ? `${o.name}: ok, TUF root v${o.rootVersion}${o.updated ? ", new trusted root" : ""}\n` : `${o.name}: FAILED: ${o.error}\n`);
          return outcomes.every((o) => o.ok) ? 0 : 2;
        }
        default:
          throw new UsageError(`unknown subcommand ${sub}; see --help`);
      }
    } catch (err) {
      if (err instanceof UsageError) {
        process.stderr.write(`signet trust-roots: ${err.message}\n`);
        return 64;
      }
      if (err instanceof ApiError) {
        process.stderr.write(`signet trust-roots: ${err.message}\n`);
        return 2;
      }
      throw err;
    } finally {
      await Promise.all(fetches.map((f) => f.close()));
      await db.$disconnect();
    }
  },
};

class UsageError extends Error {}
