import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { publicKeyFingerprint } from "@/lib/policy/compile";
import type { EvidenceFact } from "@/lib/policy/facts";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { loadActivePolicies, savePolicyDocument } from "@/lib/policy/store";
import { evaluateImage } from "@/lib/scan/evaluate-image";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { seedInventory } from "@/tests/support/inventory";
import { ROOT } from "@/tests/support/process";

const PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const FP = publicKeyFingerprint(PEM);
const d = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `signet report` as a pipeline runs it: the binary in a child process, from a directory outside the
 * checkout, against an evaluated inventory: prod/pay runs 3 images (2 verified, 1 unsigned) under an
 * enforce policy, prod/web 2 unsigned images under an audit policy → 2 of 5 containers verified.
 */
describe("signet report", () => {
  let tdb: TestDatabase;
  let db: Db;
  let cwd: string;

  const signet = (args: string[]): Promise<Run> =>
    new Promise((resolve) =>
      execFile(process.execPath, [path.join(ROOT, "bin", "signet.mjs"), "report", ...args], { cwd, env: { ...process.env, DATABASE_URL: tdb.url, LOG_LEVEL: "warn" } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
      ),
    );

  beforeAll(async () => {
    cwd = await fs.mkdtemp(path.join(os.tmpdir(), "signet-report-"));
    tdb = await createTestDatabase();
    db = createDb(tdb.url, 4);
    const seeded = await seedInventory(db, {
      cluster: "prod",
      namespaces: [
        { name: "pay", pods: [1, 2, 3].map((i) => ({ name: `p${i}`, workload: "api", containers: [{ name: "app", image: `ghcr.io/acme/pay@${d(i)}` }] })) },
        { name: "web", pods: [4, 5].map((i) => ({ name: `w${i}`, containers: [{ name: "app", image: `docker.io/library/web@${d(i)}` }] })) },
      ],
    });
    const doc = (name: string, mode: string, ns: string) =>
      parsePolicyDocuments(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: ${name} }
spec:
  mode: ${mode}
  requireTlog: false
  scope: { namespaces: [${ns}] }
  authorities: [ { name: k, key: { pem: ${JSON.stringify(PEM)} } } ]`)[0]!;
    await savePolicyDocument(db, doc("release", "enforce", "pay"), { actor: "test" });
    await savePolicyDocument(db, doc("web-audit", "audit", "web"), { actor: "test" });
    const policies = await loadActivePolicies(db);
    let i = 0;
    for (const [ref, imageId] of seeded.images) {
      i++;
      const verified = ref.includes("pay") && i !== 3;
      const facts: EvidenceFact[] = verified ? [{ id: `${d(100 + i)}#0`, kind: "signature", status: "valid", reasons: [], signer: { kind: "key", fingerprints: [FP] }, tlog: null }] : [];
      await evaluateImage(db, { imageId, facts, discovery: verified ? { outcome: "found" } : { outcome: "none" }, policies, now: new Date(), trigger: "scan" });
    }
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
    if (cwd) await fs.rm(cwd, { recursive: true, force: true });
  });

  it("JSON: coverage of the fleet, a namespace and a policy; exit 1 below --min-coverage, 0 at or above it", async () => {
    const all = await signet([]);
    expect(all.code, all.stderr).toBe(0);
    const r = JSON.parse(all.stdout);
    expect(r.coverage).toMatchObject({ containersTotal: 5, containersVerified: 2, containersUnsigned: 3, coveragePct: 40 });
    expect(r.rows).toHaveLength(5);
    expect(all.stderr).toContain("40% of 5 containers verified");

    const pay = JSON.parse((await signet(["--namespace", "pay"])).stdout);
    expect(pay.coverage).toMatchObject({ containersTotal: 3, containersVerified: 2, coveragePct: 66.6 });
    expect(pay.rows.map((row: { verdict: string }) => row.verdict).sort()).toEqual(["unsigned", "verified", "verified"]);

    const web = JSON.parse((await signet(["--policy", "web-audit"])).stdout);
    expect(web.coverage).toMatchObject({ containersTotal: 2, containersVerified: 0 });
    expect(web.rows.every((row: { policy: string }) => row.policy === "web-audit")).toBe(true);

    const below = await signet(["--min-coverage", "40.1"]);
    expect(below.code).toBe(1);
    expect(JSON.parse(below.stdout).passed).toBe(false);
    expect(below.stderr).toContain("FAIL");
    expect((await signet(["--min-coverage", "40"])).code).toBe(0);
    expect((await signet(["--namespace", "pay", "--min-coverage", "60"])).code).toBe(0);
  });

  it("CSV and JUnit XML to a file; usage errors exit 64, an unreachable database 2", async () => {
    const csv = await signet(["--format", "csv"]);
    const lines = csv.stdout.trim().split("\r\n");
    expect(lines[0]).toBe("cluster,namespace,workload,container,image,digest,policy,policy_version,mode,verdict,evaluated_at,signers,rekor_log_indexes,reasons,events_in_range");
    expect(lines).toHaveLength(6);
    expect(lines.filter((l) => l.includes(",verified,"))).toHaveLength(2);

    const out = path.join(cwd, "junit.xml");
    const junit = await signet(["--format", "junit", "--output", out, "--min-coverage", "90"]);
    expect(junit.code).toBe(1);
    expect(junit.stdout).toBe("");
    const xml = await fs.readFile(out, "utf8");
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="signet" tests="5" failures="3" errors="0"/);
    expect(xml).toContain('<testsuite name="prod/pay" tests="3" failures="1" errors="0" skipped="0">');
    expect(xml).toContain('<testsuite name="prod/web" tests="2" failures="2" errors="0" skipped="0">');
    expect(xml.match(/<failure type="unsigned"/g)).toHaveLength(3);
    expect(xml).toContain('<property name="threshold" value="90"/>');

    expect((await signet(["--format", "xml"])).code).toBe(64);
    expect((await signet(["--min-coverage", "101"])).code).toBe(64);
    const down = await new Promise<Run>((resolve) =>
      execFile(process.execPath, [path.join(ROOT, "bin", "signet.mjs"), "report"], { cwd, env: { ...process.env, DATABASE_URL: "postgresql://u:p@127.0.0.1:1/x", LOG_LEVEL: "warn" } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
      ),
    );
    expect(down.code).toBe(2);
  });
});
