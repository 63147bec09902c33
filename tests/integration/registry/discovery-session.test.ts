import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DiscoveryResult } from "@/lib/evidence/types";
import { RegistryClient } from "@/lib/registry/client";
import { discover } from "@/lib/registry/discover";
import { digestTag } from "@/lib/registry/digest";
import { DiscoverySession } from "@/lib/registry/discovery-session";
import { json, startHostileRegistry, status, type HostileRegistry } from "@/tests/support/hostile-registry";
import { startRegistry, type TestRegistry } from "@/tests/support/registry";
import { generateSigningKey, pushSignedImage } from "@/tests/support/registry-fixtures";

/** What discovery found, without volatile parts, to compare runs with and without a session. */
function shape(r: DiscoveryResult) {
  if (r.outcome === "found") return { outcome: r.outcome, artifacts: r.artifacts.map((a) => [a.kind, a.source, a.tag, a.manifestDigest, a.layers.map((l) => l.digest)]) };
  if (r.outcome === "none") return { outcome: r.outcome };
  return { outcome: r.outcome, code: r.code };
}

describe("discovery session (one tag listing per repository) against docker-registry", () => {
  let reg: TestRegistry;
  const signed: string[] = [];
  const unsigned: string[] = [];
  const REPO = "session/app";

  beforeAll(async () => {
    reg = await startRegistry();
    const key = generateSigningKey();
    for (let i = 0; i < 4; i++) signed.push((await pushSignedImage(reg.url, reg.host, REPO, key)).digest);
    for (let i = 0; i < 4; i++) unsigned.push((await pushSignedImage(reg.url, reg.host, REPO, key, { sign: false })).digest);
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it("finds exactly what discovery without a session finds, with far fewer requests", async () => {
    const all = [...signed, ...unsigned];
    const plain = new RegistryClient({ registries: [{ host: reg.host, insecure: true }] });
    const batched = new RegistryClient({ registries: [{ host: reg.host, insecure: true }] });
    try {
      const without = await Promise.all(all.map((digest) => discover({ registry: reg.host, repository: REPO, digest }, { client: plain })));
      const session = new DiscoverySession(batched);
      const withSession = await Promise.all(all.map((digest) => discover({ registry: reg.host, repository: REPO, digest }, { client: batched, session })));
      expect(withSession.map(shape)).toEqual(without.map(shape));
      expect(withSession.slice(0, 4).every((r) => r.outcome === "found")).toBe(true);
      expect(withSession.slice(4).every((r) => r.outcome === "none")).toBe(true);
      const none = withSession[4]!;
      if (none.outcome !== "none") throw new Error("expected none");
      expect(none.checked).toContain(`${reg.host}/${REPO}:${digestTag(unsigned[0]!, "sig")} (not in the tag list)`);
      // without: .sig/.att/.sbom + referrers API + referrers tag (+ the .sig blob) per image;
      // with: one listing, one referrers probe, and only the .sig manifest + blob of signed images
      expect(session.stats.listings).toBe(1);
      expect(plain.stats().requests).toBeGreaterThanOrEqual(all.length * 5);
      expect(batched.stats().requests).toBeLessThanOrEqual(2 + signed.length * 2 + 2);
    } finally {
      await plain.close();
      await batched.close();
    }
  });

  it("cosignTags names the cosign tags that exist for an image", async () => {
    const client = new RegistryClient({ registries: [{ host: reg.host, insecure: true }] });
    try {
      const session = new DiscoverySession(client);
      expect([...((await session.cosignTags({ registry: reg.host, repository: REPO, digest: signed[0]! })) ?? ["unlisted"])]).toEqual([digestTag(signed[0]!, "sig")]);
      expect([...((await session.cosignTags({ registry: reg.host, repository: REPO, digest: unsigned[0]! })) ?? ["unlisted"])]).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it("a repository with more tags than the limit is probed tag by tag, with the same outcome", async () => {
    const client = new RegistryClient({ registries: [{ host: reg.host, insecure: true }] });
    try {
      const session = new DiscoverySession(client, { maxListedTags: 3 });
      const r = await discover({ registry: reg.host, repository: REPO, digest: unsigned[1]! }, { client, session });
      expect(r.outcome).toBe("none");
      expect(session.stats.listingsUnusable).toBe(1);
      if (r.outcome === "none") expect(r.checked).toContain(`${reg.host}/${REPO}:${digestTag(unsigned[1]!, "sig")} (404)`);
      expect(await session.cosignTags({ registry: reg.host, repository: REPO, digest: unsigned[1]! })).toBeUndefined();
    } finally {
      await client.close();
    }
  });
});

describe("discovery session against a registry that lists tags badly", () => {
  let hostile: HostileRegistry;
  const digest = `sha256:${"ab".repeat(32)}`;
  afterAll(async () => {
    await hostile?.stop();
  });

  it("a refused tag listing falls back to probing: a missing tag is still only absent on its own 404", async () => {
    hostile = await startHostileRegistry([
      ["/v2/bad/list/tags/list", status(403)],
      [`/v2/bad/list/manifests/${digestTag(digest, "sig")}`, status(500)],
    ]);
    const client = new RegistryClient({ registries: [{ host: hostile.host, insecure: true }], retries: 0 });
    try {
      const session = new DiscoverySession(client);
      const r = await discover({ registry: hostile.host, repository: "bad/list", digest }, { client, session });
      // the listing was refused, so the .sig tag was asked for, and its 500 is an error, never "none"
      expect(r.outcome).toBe("error");
      expect(hostile.requests).toContain(`GET /v2/bad/list/manifests/${digestTag(digest, "sig")}`);
    } finally {
      await client.close();
    }
  });

  it("a paginated listing is read to its end; a listing that never ends is not used", async () => {
    await hostile?.stop();
    let pages = 0;
    hostile = await startHostileRegistry([
      [
        "/v2/paged/app/tags/list",
        (req, res, server) => {
          const last = new URL(req.url ?? "/", "http://x").searchParams.get("last");
          // page 1: "v1"; page 2: the .sig tag; no further page
          if (!last) return json(200, { name: "paged/app", tags: ["v1"] }, { link: `</v2/paged/app/tags/list?last=v1&n=1>; rel="next"` })(req, res, server);
          return json(200, { name: "paged/app", tags: [digestTag(digest, "sig")] })(req, res, server);
        },
      ],
      [
        "/v2/endless/app/tags/list",
        (req, res, server) => {
          pages++;
          json(200, { name: "endless/app", tags: [`t${pages}`] }, { link: `</v2/endless/app/tags/list?last=t${pages}&n=1>; rel="next"` })(req, res, server);
        },
      ],
    ]);
    const client = new RegistryClient({ registries: [{ host: hostile.host, insecure: true }], retries: 0 });
    try {
      const session = new DiscoverySession(client);
      expect([...((await session.cosignTags({ registry: hostile.host, repository: "paged/app", digest })) ?? [])]).toEqual([digestTag(digest, "sig")]);
      // a cut-short listing would make every tag after the cut look absent: it must not be used
      expect(await session.cosignTags({ registry: hostile.host, repository: "endless/app", digest })).toBeUndefined();
      expect(pages).toBeGreaterThan(1);
    } finally {
      await client.close();
    }
  });
});
