import { generateKeyPairSync, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { compilePolicy } from "@/lib/policy/compile";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { RegistryClient, type RegistryClientOptions } from "@/lib/registry/client";
import { parseImageReference } from "@/lib/registry/reference";
import { loadPublicGoodTrustRoot } from "@/lib/sigstore/trusted-root";
import { verifyImage } from "@/lib/verify/image";
import { json, redirect, startHostileRegistry, status, type HostileRegistry, type Route } from "@/tests/support/hostile-registry";

/**
 * A refused hop is an `error` verdict with a reason naming the hop — never `unsigned` — through the
 * same resolve → discover → verify → evaluate path the scan and `signet verify` use.
 */

const PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const DIGEST = `sha256:${randomBytes(32).toString("hex")}`;
const [doc] = parsePolicyDocuments(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: release }
spec:
  authorities: [ { name: ci, key: { pem: ${JSON.stringify(PEM)} } } ]`);
const policy = compilePolicy("release", 1, doc!.spec);

const servers: HostileRegistry[] = [];
const clients: RegistryClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function hostile(routes: Route[], listen?: string): Promise<HostileRegistry> {
  const s = await startHostileRegistry(routes, listen ? { listen } : {});
  servers.push(s);
  return s;
}

async function verdictOf(s: HostileRegistry, opts: RegistryClientOptions = {}) {
  const client = new RegistryClient({ registries: [{ host: s.host, insecure: true }], retries: 0, requestTimeoutMs: 2_000, ...opts });
  clients.push(client);
  return verifyImage({ client, reference: parseImageReference(`${s.host}/acme/app@${DIGEST}`), policies: [policy], trust: [loadPublicGoodTrustRoot()] });
}

describe("a refused hop is an error verdict", () => {
  it("redirect to another port of the registry's own address", async () => {
    const other = await hostile([]);
    const s = await hostile([[/^\/v2\/.+/, redirect(`${other.url}/v2/stolen`)]]);
    const v = await verdictOf(s);
    expect(v.verdict).toBe("error");
    expect(v.discovery).toMatchObject({ outcome: "error", code: "forbidden-host" });
    expect(v.policies[0]!.verdict.value).toBe("error");
    expect(v.policies[0]!.verdict.reasons[0]).toMatchObject({ code: "discovery-error", message: expect.stringMatching(/^forbidden-host: .*another port \(\d+\) of its own loopback address \(127\.0\.0\.1\)/) });
    expect(other.requests).toHaveLength(0);
  });

  it("redirect to a name resolving to a denied address", async () => {
    const s = await hostile([[/^\/v2\/.+/, redirect("http://blobs.attacker.test/v2/x")]]);
    const lookup = async (name: string) => [{ address: name === "blobs.attacker.test" ? "169.254.169.254" : "127.0.0.1", family: 4 }];
    const v = await verdictOf(s, { lookup });
    expect(v.verdict).toBe("error");
    expect(v.policies[0]!.verdict.reasons[0]!.message).toMatch(/metadata address \(169\.254\.169\.254\) \(blobs\.attacker\.test\)/);
  });

  it("token realm on a denied address", async () => {
    const s = await hostile([[/^\/v2\/.+/, status(401, { "www-authenticate": 'Bearer realm="http://127.0.0.9:1/token",service="x"' })], ["/token", json(200, { token: "t" })]]);
    const v = await verdictOf(s);
    expect(v.verdict).toBe("error");
    expect(v.policies[0]!.verdict.reasons[0]!.message).toMatch(/forbidden-host: .*loopback address \(127\.0\.0\.9\)/);
  });
});
