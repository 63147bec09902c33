import fs from "node:fs";
import type { KeyObject } from "node:crypto";
import { parseArgs } from "node:util";
import { withDatabase } from "@/cli/commands/database";
import type { Command } from "@/cli/commands/types";
import { parsePublicKeyPem, publicKeyFingerprint, publicKeyPem } from "@/lib/audit/checkpoint";
import { auditExport, fromExportedCheckpoint, fromExportedEvent } from "@/lib/audit/export-format";
import { getCheckpointSigner, getCheckpointVerifiers } from "@/lib/audit/keys";
import { verifyAuditChain } from "@/lib/audit/store";
import { verifyChainWalk, type ChainReport } from "@/lib/audit/verify";
import { readWitness, WITNESS_FILE } from "@/lib/audit/witness";
import { getEnv } from "@/lib/env";

const HELP = `audit verify                 walk the database's chain and its signed checkpoints (and this machine's
                             witness file, SIGNET_DATA_DIR/${WITNESS_FILE}); name the first problem and
                             the events it concerns
audit verify --file EXPORT   verify a JSON export offline against the checkpoint it carries, with the
  [--public-key PEM_FILE]    operator's published public key (or the key embedded in the export, whose
                             fingerprint is printed: compare it with the published one)
audit public-key             print the public key checkpoints are signed with, and its fingerprint

Exit codes: 0 intact, 1 a problem was found (or the export cannot be verified), 2 the database or file
could not be read, 64 usage.`;

function printReport(r: ChainReport, source: string): number {
  if (r.ok) {
    const anchor = r.anchoredThrough ? `, anchored by a checkpoint through event ${r.anchoredThrough.seq} signed ${r.anchoredThrough.at} (key ${r.anchoredThrough.keyId})` : "";
    process.stdout.write(`audit chain intact (${source}): ${r.checked} events, head ${r.head ? `event ${r.head.seq} ${r.head.hash}` : "none (empty)"}${anchor}\n`);
    if (r.witness !== "absent") process.stdout.write(`local witness: ${r.witness}\n`);
    if (r.checkpoints.unknownKey) process.stdout.write(`${r.checkpoints.unknownKey} checkpoint(s) signed by keys no longer configured were skipped\n`);
    return 0;
  }
  const p = r.problem!;
  const range = p.throughSeq === null ? "" : p.afterSeq === null ? ` (events up to ${p.throughSeq})` : ` (events after ${p.afterSeq} through ${p.throughSeq})`;
  process.stdout.write(`audit chain BROKEN (${source}): ${p.kind} at event ${p.throughSeq ?? "?"}${range}\n  ${p.message}\n  ${r.checked} events before it verified\n`);
  return 1;
}

async function verifyFile(file: string, publicKeyFile: string | undefined): Promise<number> {
  let doc;
  let keys: Map<string, KeyObject>;
  try {
    const parsed = auditExport.safeParse(JSON.parse(fs.readFileSync(file, "utf8")));
    if (!parsed.success) throw new Error(`not a Signet audit export: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    doc = parsed.data;
    const key = parsePublicKeyPem(publicKeyFile ? fs.readFileSync(publicKeyFile, "utf8") : doc.publicKey.pem);
    const fingerprint = publicKeyFingerprint(key);
    if (publicKeyFile) process.stdout.write(`public key from ${publicKeyFile}: fingerprint ${fingerprint}\n`);
    else {
      if (fingerprint !== doc.publicKey.fingerprint) throw new Error(`the embedded public key's fingerprint is ${fingerprint}, not the ${doc.publicKey.fingerprint} the export states`);
      process.stdout.write(`public key embedded in the export: fingerprint ${fingerprint} — compare it with the one the operator published (signet audit public-key)\n`);
    }
    keys = new Map([[fingerprint, key]]);
  } catch (err) {
    process.stderr.write(`signet audit: ${file}: ${(err as Error).message}\n`);
    return 2;
  }
  if (!doc.complete) {
    process.stdout.write(`audit export NOT VERIFIABLE: it was exported with filters (${JSON.stringify(doc.filters)}), so the links between its events cannot be followed; export without filters\n`);
    return 1;
  }
  if (!doc.checkpoint) {
    process.stdout.write("audit export NOT VERIFIABLE: it carries no signed checkpoint\n");
    return 1;
  }
  const events = doc.events.map(fromExportedEvent).sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  const report = await verifyChainWalk({ events: [events], checkpoints: [[fromExportedCheckpoint(doc.checkpoint)]], keys });
  return printReport(report, `export of ${doc.exportedAt}`);
}

export const audit: Command = {
  name: "audit",
  usage: "audit <verify [--file EXPORT [--public-key PEM_FILE]] | public-key>",
  summary: "check the audit log's hash chain and signed checkpoints, in the database or in an export",
  help: HELP,
  async run(args) {
    let opts: { file?: string; "public-key"?: string };
    try {
      opts = parseArgs({ args: args.slice(1), options: { file: { type: "string" }, "public-key": { type: "string" } }, strict: true }).values;
    } catch (err) {
      process.stderr.write(`signet audit: ${(err as Error).message}\n`);
      return 64;
    }
    if (args[0] === "public-key") {
      const signer = getCheckpointSigner(getEnv());
      process.stdout.write(`${publicKeyPem(signer.publicKey)}fingerprint: ${signer.keyId}\n`);
      return 0;
    }
    if (args[0] !== "verify") {
      process.stderr.write("signet audit: expected `verify` or `public-key`\n");
      return 64;
    }
    if (opts.file) return verifyFile(opts.file, opts["public-key"]);
    if (opts["public-key"]) {
      process.stderr.write("signet audit: --public-key goes with --file (the database is checked with the configured secret key)\n");
      return 64;
    }
    const env = getEnv();
    return withDatabase("audit", async (db, url) => {
      let witness;
      try {
        witness = readWitness(env.SIGNET_DATA_DIR, url);
      } catch (err) {
        process.stderr.write(`signet audit: ${(err as Error).message}\n`);
        return 2;
      }
      return printReport(await verifyAuditChain(db, { witness, keys: getCheckpointVerifiers(env) }), "database");
    });
  },
};
