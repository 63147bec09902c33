import { existsSync, readFileSync, readdirSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DiscoveredArtifact } from "@/lib/evidence/types";
import { RegistryClient } from "@/lib/registry/client";
import { discover } from "@/lib/registry/discover";
import { VECTORS_DIR, listVectorCases, loadVectorCase, startRegistry, type LoadedVectorCase, type TestRegistry } from "@/tests/support/registry";

/**
 * Every case of ../shared/vectors is pushed into a real docker-registry by the shared loader;
 * discovery must return exactly the artifacts each case holds (compared with the files).
 */
const cases = listVectorCases();

interface Expected {
  kind: DiscoveredArtifact["kind"];
  source: DiscoveredArtifact["source"];
  tag: string;
  manifestDigest: string;
  subjectDigest?: string;
  layers: Array<{ digest: string; mediaType: string; size: number }>;
}

const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** What the case's files say discovery must find, computed from the files alone. */
function expectedArtifacts(caseDir: string): Expected[] {
  const subject = JSON.parse(readFileSync(path.join(caseDir, "subject.json"), "utf8")) as { digest: string };
  const dir = path.join(caseDir, "manifests");
  const out: Expected[] = [];
  const layersOf = (m: { layers: Array<{ digest: string; mediaType: string; size: number }> }) => m.layers.map(({ digest, mediaType, size }) => ({ digest, mediaType, size }));
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    const bytes = readFileSync(path.join(dir, file));
    const tag = file.slice(0, -".json".length);
    const m = JSON.parse(bytes.toString("utf8"));
    const suffix = /\.(sig|att|sbom)$/.exec(tag)?.[1];
    if (suffix) {
      const kind = suffix === "sig" ? "signature" : suffix === "att" ? "attestation" : "sbom";
      out.push({ kind, source: "tag", tag, manifestDigest: sha256(bytes), layers: layersOf(m) });
      continue;
    }
    for (const entry of m.manifests as Array<{ digest: string }>) {
      const referrer = JSON.parse(readFileSync(path.join(dir, "sha256", `${entry.digest.slice("sha256:".length)}.json`), "utf8"));
      const bundle = referrer.layers.some((l: { mediaType: string }) => l.mediaType.startsWith("application/vnd.dev.sigstore.bundle"));
      out.push({ kind: bundle ? "bundle" : "other", source: "referrers-tag", tag, manifestDigest: entry.digest, subjectDigest: subject.digest, layers: layersOf(referrer) });
    }
  }
  return out.sort((a, b) => a.manifestDigest.localeCompare(b.manifestDigest));
}

describe("listVectorCases", () => {
  it("fails under CI when the vectors are missing, and is empty otherwise", () => {
    const saved = process.env.CI;
    try {
      process.env.CI = "true";
      expect(() => listVectorCases("/nonexistent/shared/vectors")).toThrow(/required when CI=true/);
      delete process.env.CI;
      expect(listVectorCases("/nonexistent/shared/vectors")).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  });

  it.runIf(cases.length > 0)("lists every case of cases.json", () => {
    const index = JSON.parse(readFileSync(path.join(VECTORS_DIR, "cases.json"), "utf8")) as { cases: Array<{ name: string }> };
    expect(cases.map((c) => path.basename(c)).sort()).toEqual(index.cases.map((c) => c.name).sort());
    expect(cases.length).toBeGreaterThanOrEqual(17);
  });
});

describe.skipIf(cases.length === 0)(`discovery of every shared vector case (${VECTORS_DIR})`, () => {
  let reg: TestRegistry;
  let client: RegistryClient;
  const loaded = new Map<string, LoadedVectorCase>();

  beforeAll(async () => {
    reg = await startRegistry();
    for (const dir of cases) loaded.set(dir, await loadVectorCase(reg.url, dir));
    client = new RegistryClient({ registries: [{ host: reg.host, insecure: true }] });
  });
  afterAll(async () => {
    await client?.close();
    await reg?.stop();
  });

  it.each(cases.map((dir) => [path.basename(dir), dir]))("%s", async (_name, dir) => {
    const c = loaded.get(dir)!;
    expect(existsSync(path.join(dir, "expected.json"))).toBe(true);
    const r = await discover({ registry: reg.host, repository: c.subject.repository, digest: c.subject.digest }, { client });
    if (r.outcome !== "found") throw new Error(`expected found, got ${JSON.stringify(r).slice(0, 400)}`);
    const expected = expectedArtifacts(dir);
    expect(expected.length).toBeGreaterThan(0);
    const got = [...r.artifacts].sort((a, b) => a.manifestDigest.localeCompare(b.manifestDigest));
    expect(
      got.map((a) => ({
        kind: a.kind,
        source: a.source,
        tag: a.tag,
        manifestDigest: a.manifestDigest,
        ...(a.subjectDigest ? { subjectDigest: a.subjectDigest } : {}),
        layers: a.layers.map(({ digest, mediaType, size }) => ({ digest, mediaType, size })),
      })),
    ).toEqual(expected);
    expect(r.manifestDigests.sort()).toEqual(expected.map((e) => e.manifestDigest));
    // Every evidence layer came back byte-identical to the case's blob file.
    for (const layer of got.flatMap((a) => a.layers)) {
      expect(layer.content).toBeDefined();
      expect(layer.content!.equals(readFileSync(path.join(dir, "blobs", "sha256", layer.digest.slice("sha256:".length))))).toBe(true);
    }
    // The loader pushed every file of the case.
    expect(c.blobs.length).toBe(readdirSync(path.join(dir, "blobs", "sha256")).length);
  });
});
