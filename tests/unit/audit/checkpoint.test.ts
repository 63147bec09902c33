import { generateKeyPairSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { GENESIS_HASH, hashEvent, type AuditContent, type StoredLink } from "@/lib/audit/chain";
import { checkCheckpointSignature, parsePublicKeyPem, publicKeyFingerprint, publicKeyPem, signCheckpoint, signerFromSeed } from "@/lib/audit/checkpoint";
import { verifyChainWalk } from "@/lib/audit/verify";

const content = (i: number): AuditContent => ({
  occurredAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(), kind: "system", actor: null, clusterName: null, namespace: null, workload: null,
  containerId: null, imageDigest: null, policyName: null, policyVersion: null, verdict: null, previousVerdict: null, reasons: [], evidence: [], details: { i },
});

function chain(n: number): StoredLink[] {
  let prev = GENESIS_HASH;
  return Array.from({ length: n }, (_, i) => {
    const hash = hashEvent(prev, content(i));
    const link = { seq: BigInt(i + 1), prevHash: prev, hash, content: content(i) };
    prev = hash;
    return link;
  });
}

describe("audit checkpoints", () => {
  const signer = signerFromSeed(randomBytes(32));
  const keys = new Map([[signer.keyId, signer.publicKey]]);

  it("a seed gives one key pair; the fingerprint survives a PEM round trip", () => {
    const seed = randomBytes(32);
    expect(signerFromSeed(seed).keyId).toBe(signerFromSeed(seed).keyId);
    expect(publicKeyFingerprint(parsePublicKeyPem(publicKeyPem(signer.publicKey)))).toBe(signer.keyId);
    expect(() => parsePublicKeyPem(generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "pem", type: "spki" }).toString())).toThrow(/Ed25519/);
  });

  it("a signature covers seq, hash and time; another key is unknown, garbage is invalid", () => {
    const cp = signCheckpoint(signer, { seq: 7n, hash: "a".repeat(64), at: new Date() });
    expect(checkCheckpointSignature(keys, cp)).toBe("valid");
    expect(checkCheckpointSignature(keys, { ...cp, seq: 8n })).toBe("invalid");
    expect(checkCheckpointSignature(keys, { ...cp, hash: "b".repeat(64) })).toBe("invalid");
    expect(checkCheckpointSignature(keys, { ...cp, at: new Date(0).toISOString() })).toBe("invalid");
    expect(checkCheckpointSignature(keys, { ...cp, signature: "not base64 at all" })).toBe("invalid");
    expect(checkCheckpointSignature(new Map(), cp)).toBe("unknown-key");
  });

  it("the walk: an empty log is intact; checkpoints by unknown keys vouch for nothing; several checkpoints of one head all count", async () => {
    expect(await verifyChainWalk({ events: [], checkpoints: [], keys })).toMatchObject({ ok: true, head: null, checked: 0 });
    const links = chain(5);
    const at = (i: number, s = signer) => ({ id: String(i), ...signCheckpoint(s, { seq: links[i]!.seq, hash: links[i]!.hash, at: new Date() }) });
    const stranger = signerFromSeed(randomBytes(32));
    const r1 = await verifyChainWalk({ events: [links.slice(0, 2), links.slice(2)], checkpoints: [[at(1), at(4, stranger)]], keys });
    expect(r1).toMatchObject({ ok: false, checkpoints: { valid: 1, unknownKey: 1 }, problem: { kind: "unanchored", afterSeq: "2", throughSeq: "5" } });
    expect(r1.problem?.message).toContain("signed with keys not configured here");
    const r2 = await verifyChainWalk({ events: [links], checkpoints: [[at(1)], [at(4), at(4)]], keys });
    expect(r2).toMatchObject({ ok: true, checked: 5, anchoredThrough: { seq: "5" }, checkpoints: { valid: 3, unknownKey: 0 } });
    // a checkpoint past the head: the newest events are missing
    const r3 = await verifyChainWalk({ events: [links.slice(0, 3)], checkpoints: [[at(1), at(4)]], keys });
    expect(r3.problem).toMatchObject({ kind: "missing", afterSeq: "3", throughSeq: "5", checkpoint: { id: "4" } });
  });
});
