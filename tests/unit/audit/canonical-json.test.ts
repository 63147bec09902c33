import { describe, expect, it } from "vitest";
import { canonicalJson, chainHash, GENESIS_HASH, hashEvent, type AuditContent } from "@/lib/audit/chain";

// appendAuditEvents hashes a batch's events with one memo: objects shared by events (an image's
// reasons, evidence and details, the same for each of its containers) are written once. The text,
// and so every hash, must be exactly what is written without it.
describe("canonicalJson with a memo", () => {
  const reasons = [{ message: "signature verified", code: "verified", extra: undefined }, undefined];
  const evidence = [{ id: "e1", signer: { key: ["SHA256:abc"] }, logIndex: null, z: 1, a: [3, 2, 1] }];
  const details = { trigger: "scan", mode: "enforce", satisfiedBy: evidence };
  const content = (containerId: string): AuditContent => ({
    occurredAt: "2026-12-07T00:00:00.000Z",
    kind: "verdict",
    actor: null,
    clusterName: "c",
    namespace: "n",
    workload: `Pod/${containerId}`,
    containerId,
    imageDigest: `sha256:${"a".repeat(64)}`,
    policyName: "p",
    policyVersion: 1,
    verdict: "verified",
    previousVerdict: null,
    reasons,
    evidence,
    details,
  });

  it("writes shared objects as without a memo, key order and undefined handling included", () => {
    const memo = new Map<object, string>();
    for (const id of ["c1", "c2", "c3"]) expect(canonicalJson(content(id), memo)).toBe(canonicalJson(content(id)));
    expect(memo.get(reasons)).toBe('[{"code":"verified","message":"signature verified"},null]');
    expect(memo.get(details)).toBe(`{"mode":"enforce","satisfiedBy":${memo.get(evidence)},"trigger":"scan"}`);
  });

  it("hashes a chain of events sharing objects as without a memo", () => {
    const memo = new Map<object, string>();
    let [a, b] = [GENESIS_HASH, GENESIS_HASH];
    for (const id of ["c1", "c2", "c3", "c4"]) {
      a = hashEvent(a, content(id), memo);
      b = hashEvent(b, content(id));
      expect(a).toBe(b);
    }
    expect(new Set([hashEvent(GENESIS_HASH, content("c1"), memo), hashEvent(GENESIS_HASH, content("c2"), memo)]).size).toBe(2);
  });
});

// Every stored event's hash covers this text: any change of its bytes breaks the chain of every
// database written before it. The expected text is what the first implementation wrote.
describe("canonicalJson's exact text", () => {
  it("sorts keys by UTF-16 code units, drops undefined members, writes undefined elements as null and holes as nothing", () => {
    // eslint-disable-next-line no-sparse-arrays
    const sparse = [1, , 3];
    const value = {
      b: 1,
      a: [undefined, null, 'x"y\n', sparse, { "\u00e9": 1, z: 2, Z: 3, "10": 4, "9": 5, "\ud83d\ude00": 6, "\uffff": 7 }],
      "": { u: undefined },
      n: -0,
      f: 1.5e300,
      s: "\u2028\u0000",
      t: true,
    };
    expect(canonicalJson(value)).toBe(
      '{"":{},"a":[null,null,"x\\"y\\n",[1,,3],{"10":4,"9":5,"Z":3,"z":2,"\u00e9":1,"\ud83d\ude00":6,"\uffff":7}],"b":1,"f":1.5e+300,"n":0,"s":"\u2028\\u0000","t":true}',
    );
    expect(canonicalJson([])).toBe("[]");
    expect(canonicalJson({})).toBe("{}");
    expect(() => canonicalJson({ x: [Number.NaN] })).toThrow(/non-finite/);
  });
});

describe("chainHash", () => {
  it("is sha256 of the version line, the previous hash and the canonical content, in hex", () => {
    expect(chainHash(GENESIS_HASH, '{"a":"\u00e9"}')).toBe("acb801bc658f11f72f8242ba90542e63ef1cda72f0c00be5318264368230f940");
  });
});
