/**
 * Every shared vector case pushed into a real docker-registry, then discovered over HTTP, verified and
 * evaluated by lib/verify (the chain behind `signet verify`): each yields exactly its expected verdict,
 * and a failure names the check the case was built to trip. The keyless wrong-identity / wrong-issuer
 * and tampered-SET cases also run through the command.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verify } from "@/cli/commands/verify";
import { RegistryClient } from "@/lib/registry/client";
import { parseImageReference } from "@/lib/registry/reference";
import type { TrustRoot } from "@/lib/sigstore";
import { compilePolicyFile, loadTrustRoots, verifyImage, type ImageVerification } from "@/lib/verify";
import { listVectorCases, loadVectorCase, startRegistry, type TestRegistry } from "@/tests/support/registry";
import { listCases, loadCase, trustedRootPath, vectorsAvailable, signetPolicyFor, type VectorCase } from "@/tests/support/sigstore-vectors";
import { runInProcess } from "./helpers";



describe.runIf(vectorsAvailable())("every shared vector through the registry, discovery, verification and policy", () => {
  const entries = vectorsAvailable() ? listCases() : [];
  let reg: TestRegistry;
  let client: RegistryClient;
  let trust: TrustRoot[];
  let dir: string;
  const ref = (c: VectorCase) => `${reg.host}/${c.index.repository}@${c.index.digest}`;

  beforeAll(async () => {
    [reg, dir] = await Promise.all([startRegistry(), fs.mkdtemp(path.join(os.tmpdir(), "signet-verify-vectors-"))]);
    await Promise.all(listVectorCases().map((caseDir) => loadVectorCase(reg.url, caseDir)));
    client = new RegistryClient({ registries: [{ host: reg.host, insecure: true }] });
    // The root each case names (../../trust/public-good-trusted_root.json), in place of the seed.
    trust = await loadTrustRoots([`public-good=${trustedRootPath()}`]);
  });
  afterAll(async () => {
    await client?.close();
    await reg?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("covers all 17 cases, each in its own repository", () => {
    expect(entries).toHaveLength(17);
    expect(listVectorCases()).toHaveLength(17);
  });

  for (const entry of entries) {
    it(`${entry.name} → ${entry.verdict}${entry.failsAt ? ` (${entry.failsAt})` : ""}`, async () => {
      const c = loadCase(entry.name);
      const r = await verifyImage({ client, reference: parseImageReference(ref(c)), policies: compilePolicyFile(signetPolicyFor(c)), trust });
      expect(r.discovery.outcome).toBe("found");
      expect(r.policies).toHaveLength(1);
      const verdict = r.policies[0]!.verdict;
      expect(verdict.value).toBe(entry.verdict);
      expect(r.verdict).toBe(entry.verdict);
      if (entry.verdict === "verified") {
        const used = r.evidence.filter((e) => verdict.evidenceIds.includes(e.id));
        expect(used.length).toBeGreaterThan(0);
        expect(used.every((e) => e.status === "valid")).toBe(true);
        if (c.expected.rekor) expect(used.map((e) => e.rekor?.logIndex)).toContain(c.expected.rekor.logIndex);
        if (c.expected.signer.keyFingerprint) expect(used.map((e) => e.signer?.kind === "key" && e.signer.fingerprints[0])).toContain(c.expected.signer.keyFingerprint);
        if (c.expected.signer.identity) expect(used.map((e) => e.signer?.kind === "keyless" && e.signer.identity)).toContain(c.expected.signer.identity);
      } else {
        expect(verdict.reasons.map((x) => x.code)).toContain(entry.failsAt!);
      }
    });
  }

  it("signet verify: wrong identity, wrong issuer and a tampered Rekor SET fail with their reason (exit 1)", async () => {
    for (const [name, code] of [
      ["cimage-keyless-rekor-wrong-identity_fail", "identity"],
      ["salrashid-keyless-rekor-wrong-issuer_fail", "issuer"],
      ["cimage-key-rekor-tampered-set_fail", "tlog-set"],
    ] as const) {
      const c = loadCase(name);
      const file = path.join(dir, `${name}.yaml`);
      await fs.writeFile(file, signetPolicyFor(c));
      const r = await runInProcess(verify, [ref(c), "--policy", file, "--insecure-registry", reg.host, "--json", "--trusted-root", `public-good=${trustedRootPath()}`]);
      expect(r.code).toBe(1);
      const json = JSON.parse(r.stdout) as ImageVerification;
      expect(json.verdict).toBe("failed");
      expect(json.policies[0]!.verdict.reasons.map((x) => x.code)).toContain(code);
    }
    // The positive base cases verify through the command with the offline seed root (no --trusted-root).
    for (const name of ["cimage-keyless-rekor", "salrashid-keyless-rekor", "cimage-key-rekor"]) {
      const c = loadCase(name);
      const file = path.join(dir, `${name}.yaml`);
      await fs.writeFile(file, signetPolicyFor(c));
      const r = await runInProcess(verify, [ref(c), "--policy", file, "--insecure-registry", reg.host]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`rekor: log index ${c.expected.rekor!.logIndex}`);
    }
  });
});
