import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { compilePolicy, publicKeyFingerprint } from "@/lib/policy/compile";
import type { EvidenceFact } from "@/lib/policy/facts";
import { parsePolicyDocuments, policySpecSchema } from "@/lib/policy/schema";
import { storedFact } from "@/lib/trust/facts";
import { blastRadius, evaluateFleet, resignList, retireSafety, usageOf, type FleetImage, type FleetPolicy } from "@/lib/trust/fleet";
import { addRotationKey } from "@/lib/trust/rotation";

const pem = () => generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const [KA, KB] = [pem(), pem()];
const now = new Date("2026-11-25T12:00:00Z");

function policy(name: string, mode: string, spec: string, stored: Record<string, { pem: string; status?: "active" | "retiring" | "revoked" }> = {}): FleetPolicy {
  const [doc] = parsePolicyDocuments(`apiVersion: signet.dev/v1\nkind: Policy\nmetadata: { name: ${name} }\nspec:\n${spec.replace(/^/gm, "  ")}`);
  const c = compilePolicy(name, 1, doc!.spec, (ref) => stored[ref]);
  return { id: `id-${name}`, name, mode, spec: c.spec, keys: c.keys };
}
const sig = (id: string, key: string): EvidenceFact => ({ id, kind: "signature", status: "valid", reasons: [], signer: { kind: "key", fingerprints: [publicKeyFingerprint(key)] }, tlog: null });
const image = (name: string, ns: string, facts: EvidenceFact[], containers = 1): FleetImage => ({
  imageId: `img-${name}`,
  imageName: `r.test/apps/${name}`,
  digest: `sha256:${name.padEnd(64, "0")}`,
  discovery: { outcome: facts.length ? "found" : "none" },
  facts,
  containers: Array.from({ length: containers }, (_, i) => ({
    containerId: `c-${name}-${i}`,
    name: "app",
    cluster: "prod",
    namespace: ns,
    namespaceLabels: {},
    workload: `Deployment/${name}`,
    pod: `${name}-${i}`,
    imageRef: `r.test/apps/${name}:v1`,
  })),
});

const stored = { "key-a": { pem: KA, status: "retiring" as const }, "key-b": { pem: KB } };
const release = policy("release", "enforce", `mode: enforce\nrequireTlog: false\nauthorities:\n  - { name: a, key: { ref: key-a } }\n  - { name: b, key: { ref: key-b } }`, stored);
const audit = policy("audit-a", "audit", `requireTlog: false\nscope: { namespaces: [payments] }\nauthorities:\n  - name: legacy\n    key: { pem: ${JSON.stringify(KA)} }`);
const fleet = [
  image("only-a", "payments", [sig("s1#0", KA)], 2),
  image("both", "payments", [sig("s2#0", KA), sig("s2b#0", KB)]),
  image("only-b", "tools", [sig("s3#0", KB)]),
  image("only-a-tools", "tools", [sig("s4#0", KA)]),
  image("unsigned", "tools", []),
];
const target = { kind: "stored" as const, name: "key-a", fingerprint: publicKeyFingerprint(KA) };

describe("blast radius", () => {
  it("lists exactly the containers signed only by the revoked key, per policy and mode", () => {
    const r = blastRadius(fleet, [release, audit], target, now);
    // "both" carries B too, but audit-a trusts only A (its inline copy)
    expect(r.affected.map((a) => `${a.namespace}/${a.pod}/${a.policy}:${a.before}->${a.after}`)).toEqual([
      "payments/both-0/audit-a:verified->failed",
      "payments/only-a-0/audit-a:verified->failed",
      "payments/only-a-1/audit-a:verified->failed",
      "payments/only-a-0/release:verified->failed",
      "payments/only-a-1/release:verified->failed",
      "tools/only-a-tools-0/release:verified->failed",
    ]);
    expect(r).toMatchObject({ containers: 4, images: 3, workloads: 3, namespaces: 2, imageIds: ["img-both", "img-only-a", "img-only-a-tools"] });
    expect(r.byPolicy).toEqual([
      { policy: "audit-a", mode: "audit", containers: 3, images: 2 },
      { policy: "release", mode: "enforce", containers: 3, images: 2 },
    ]);
  });

  it("by fingerprint reaches the inline copy too; one policy's authority reaches only that policy", () => {
    expect(blastRadius(fleet, [release, audit], { kind: "fingerprint", fingerprint: publicKeyFingerprint(KA) }, now).containers).toBe(4);
    const only = blastRadius(fleet, [release, audit], { kind: "policy", policy: "audit-a", authority: "legacy" }, now);
    expect(only.byPolicy).toEqual([{ policy: "audit-a", mode: "audit", containers: 3, images: 2 }]);
    expect(blastRadius(fleet, [release, audit], { kind: "stored", name: "nothing" }, now).affected).toEqual([]);
  });

  it("usage counts verified containers, images and namespaces whose verdict the key satisfied", () => {
    const verdicts = evaluateFleet(fleet, [release, audit], now);
    expect(usageOf(verdicts, target)).toEqual({ containers: 4, images: 3, namespaces: 2 });
    expect(usageOf(verdicts, { kind: "stored", name: "key-b" })).toEqual({ containers: 2, images: 2, namespaces: 2 });
    // relying on a retiring key is said on the verdict
    const v = verdicts.find((x) => x.container.containerId === "c-only-a-0" && x.policy.name === "release")!;
    expect(v.verdict.reasons.map((r) => r.code)).toContain("retiring-authority");
  });

  it("the re-sign list holds the images still signed only by the retiring key", () => {
    expect(resignList(fleet, [release, audit], target, now).map((e) => [e.image, e.workloads, e.policies])).toEqual([
      ["r.test/apps/both", ["prod/payments/Deployment/both"], ["audit-a"]],
      ["r.test/apps/only-a-tools", ["prod/tools/Deployment/only-a-tools"], ["release"]],
      ["r.test/apps/only-a", ["prod/payments/Deployment/only-a"], ["audit-a", "release"]],
    ]);
  });
});

describe("safe to retire", () => {
  const day = 86_400_000;
  const t0 = new Date("2026-11-01T00:00:00Z");
  const at = (d: number) => new Date(t0.getTime() + d * day);
  const snaps = [
    { takenAt: at(0), resignImages: 3 },
    { takenAt: at(1), resignImages: 1 },
    { takenAt: at(2), resignImages: 0 },
    { takenAt: at(3), resignImages: 0 },
  ];
  it("is safe once the list has been empty for the configured days", () => {
    expect(retireSafety(snaps, 0, at(5), 7)).toEqual({ safe: false, emptySince: at(2), safeAt: at(9) });
    expect(retireSafety(snaps, 0, at(9), 7)).toEqual({ safe: true, emptySince: at(2), safeAt: at(9) });
    expect(retireSafety(snaps, 2, at(30), 7)).toEqual({ safe: false, emptySince: null, safeAt: null });
    // no history yet: the clock starts now
    expect(retireSafety([], 0, at(4), 1)).toEqual({ safe: false, emptySince: at(4), safeAt: at(5) });
  });
});

describe("dual trust and stored facts", () => {
  it("puts the new key inside the old key's authority (either key, one vote), clauses unchanged", () => {
    const spec = policySpecSchema.parse({
      authorities: [{ name: "team", key: { ref: "k" } }, { name: "scan", key: { ref: "s" } }],
      require: { signatures: { atLeast: 2, of: ["team", "scan"] }, attestations: [{ predicateType: "p", signedBy: ["team"] }] },
    });
    const out = addRotationKey(spec, "team", (k) => "ref" in k && k.ref === "k", "k", "k2");
    expect(out.authorities.map((a) => a.name)).toEqual(["team", "scan"]);
    expect(out.authorities[0]).toMatchObject({ name: "team", keys: [{ ref: "k" }, { ref: "k2" }] });
    expect(out.authorities[0]!.key).toBeUndefined();
    expect(out.require).toEqual(spec.require);
    expect(policySpecSchema.safeParse(out).success).toBe(true);
    // an inline copy of the old key becomes the stored reference (its status then applies to it alone)
    const inline = policySpecSchema.parse({ authorities: [{ name: "team", key: { pem: KA } }] });
    expect(addRotationKey(inline, "team", (k) => "pem" in k, "k", "k2").authorities[0]!.keys).toEqual([{ ref: "k" }, { ref: "k2" }]);
    // idempotent
    expect(addRotationKey(out, "team", (k) => "ref" in k && k.ref === "k", "k", "k2")).toEqual(out);
  });

  it("either key of a rotating authority: the old one retiring, the new one active; revoking the old leaves the new", () => {
    const stored = { old: { pem: KA, status: "retiring" as const }, next: { pem: KB } };
    const p = policy("rot", "enforce", `requireTlog: false\nauthorities:\n  - { name: team, keys: [ { ref: old }, { ref: next } ] }`, stored);
    const img = [image("old-signed", "payments", [sig("o#0", KA)]), image("new-signed", "payments", [sig("n#0", KB)])];
    const v = evaluateFleet(img, [p], now);
    expect(v.map((x) => x.verdict.value)).toEqual(["verified", "verified"]);
    expect(v[0]!.verdict.reasons.map((r) => r.code)).toContain("retiring-authority");
    expect(v[1]!.verdict.reasons.map((r) => r.code)).not.toContain("retiring-authority");
    const radius = blastRadius(img, [p], { kind: "stored", name: "old" }, now);
    expect(radius.imageIds).toEqual(["img-old-signed"]);
  });

  it("reads stored evidence rows into facts, named as verification names them", () => {
    const row = {
      id: "x", kind: "bundle", artifactDigest: "sha256:abc", layerDigest: "sha256:def", status: "valid", statusReason: null, signerKind: "keyless",
      keyFingerprint: null, certIdentity: "ci@corp", certIssuer: "https://issuer", certExtensions: { sourceRepositoryUri: "https://git/acme" }, certNotAfter: null,
      tlogLogIndex: 7n, tlogIntegratedTime: now, predicateType: "https://sigstore.dev/cosign/sign/v1", provenance: null, layerIndex: 2,
    };
    expect(storedFact(row)).toMatchObject({ id: "sha256:abc#2", kind: "signature", signer: { kind: "keyless", identity: "ci@corp", extensions: { sourceRepositoryURI: "https://git/acme" } }, tlog: { logIndex: 7 } });
    expect(storedFact({ ...row, keyFingerprint: "AB".repeat(32), signerKind: "key" })!.signer).toEqual({ kind: "key", fingerprints: [`sha256:${"ab".repeat(32)}`] });
    expect(storedFact({ ...row, status: "unverified" })).toBeNull();
  });
});
