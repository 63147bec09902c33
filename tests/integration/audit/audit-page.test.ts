import { generateKeyPairSync, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditQuery } from "@/lib/dto/read";
import { parsePolicyDocuments } from "@/lib/policy/schema";
import { useAuthEnv } from "@/tests/support/auth";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";

const PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const policy = (mode: string, note: string) =>
  parsePolicyDocuments(`apiVersion: signet.dev/v1
kind: Policy
metadata: { name: release-signed, description: ${JSON.stringify(note)} }
spec:
  mode: ${mode}
  requireTlog: false
  authorities: [ { name: build, key: { pem: ${JSON.stringify(PEM)} } } ]`)[0]!;

/**
 * The audit page's rows through the real administrative actions against PostgreSQL: each names the
 * object it changed and the old and new values (never a secret); the actor filter and the text search
 * (case-insensitive, literal, through the trigram index) find them.
 */
describe("audit page: what changed, actor filter, text search", () => {
  let tdb: TestDatabase;
  const getDb = async () => (await import("@/lib/db/client")).getDb();
  const list = async (q: Record<string, string>) => (await import("@/lib/data/audit")).listAuditEvents(await getDb(), auditQuery.parse({ limit: "100", ...q }));
  const secret = `s3cret-${randomBytes(6).toString("hex")}`;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    await useAuthEnv(tdb.url);
    const db = await getDb();
    const { createLocalUser, setUserRole, deleteUser } = await import("@/lib/auth/users");
    const { savePolicyDocument } = await import("@/lib/policy/store");
    const { createKeyAuthority, updateAuthority } = await import("@/lib/trust/authorities");
    const { updateTrustSettings } = await import("@/lib/trust/settings");
    const { createRegistryCredential } = await import("@/lib/credentials/registry-credentials");
    await createLocalUser(db, { email: "root@example.test", name: "Root", password: "root's long password", role: "admin" }, "setup");
    const carol = await createLocalUser(db, { email: "carol@example.test", name: "Carol", password: "carol's long password", role: "viewer" }, "admin@example.test");
    await setUserRole(db, carol.id, "auditor", "admin@example.test");
    const dave = await createLocalUser(db, { email: "dave@example.test", name: "Dave", password: "dave's long password", role: "admin" }, "root@example.test");
    await deleteUser(db, dave.id, "admin@example.test");
    await savePolicyDocument(db, policy("audit", "first"), { actor: "admin@example.test" });
    await savePolicyDocument(db, policy("enforce", "second"), { actor: "admin@example.test" });
    await createKeyAuthority(db, { name: "release-2026", publicKeyPem: PEM }, "admin@example.test");
    await updateAuthority(db, "release-2026", { rotateBy: new Date("2027-01-31T00:00:00.000Z"), owner: "platform" }, "admin@example.test");
    await updateTrustSettings(db, { reminderDays: 14 }, "admin@example.test");
    await createRegistryCredential(db, { host: "registry.example.test", username: "robot", secret, insecure: false }, "admin@example.test");
  });
  afterAll(async () => {
    await (await getDb()).$disconnect();
    await tdb?.drop();
  });

  it("names the changed object and old -> new values", async () => {
    const summaries = (await list({ kind: "admin" })).events.map((e) => e.summary).reverse();
    expect(summaries).toEqual([
      "created user root@example.test with role admin",
      "created user carol@example.test with role viewer",
      "changed the role of carol@example.test: viewer -> auditor",
      "created user dave@example.test with role admin",
      "deleted user dave@example.test (role admin)",
      "created policy release-signed v1 (mode audit, source signet)",
      "changed policy release-signed: v1 -> v2, mode audit -> enforce",
      expect.stringMatching(/^added key release-2026 \(sha256:[0-9a-f]{64}, source manual\)$/),
      "changed key release-2026: owner none -> platform, rotateBy none -> 2027-01-31",
      "changed trust settings: reminderDays 30 -> 14",
      "added registry credentials for registry.example.test (user robot, with a secret)",
    ]);
    // no event, summary or detail carries the registry secret
    const all = await list({});
    expect(JSON.stringify(all)).not.toContain(secret);
  });

  it("a key's events: those naming it and the changes of the policies trusting it; each row links to what it changed", async () => {
    // the policy trusts the stored key inline (same public key): one key, release-2026, trusted by release-signed
    const summaries = async (q: Record<string, string>) => (await list(q)).events.map((e) => e.summary).reverse();
    expect(await summaries({ key: "release-2026" })).toEqual([
      "created policy release-signed v1 (mode audit, source signet)",
      "changed policy release-signed: v1 -> v2, mode audit -> enforce",
      expect.stringMatching(/^added key release-2026 /),
      "changed key release-2026: owner none -> platform, rotateBy none -> 2027-01-31",
    ]);
    expect(await summaries({ key: "release-2026", q: "platform" })).toEqual(["changed key release-2026: owner none -> platform, rotateBy none -> 2027-01-31"]);
    expect(await summaries({ key: "release-2026", actor: "nobody@example.test" })).toEqual([]);
    expect(await summaries({ key: "nobody" })).toEqual([]);

    const { auditEventLinks } = await import("@/lib/ui/audit-links");
    const events = (await list({ kind: "admin" })).events;
    const linksOf = (prefix: string) => auditEventLinks(events.find((e) => e.summary.startsWith(prefix))!);
    const policyId = (await (await getDb()).policy.findUniqueOrThrow({ where: { name: "release-signed" } })).id;
    expect(linksOf("changed policy release-signed")).toEqual([{ label: "policy release-signed", href: `/policies/${policyId}` }]);
    expect(linksOf("changed key release-2026")).toEqual([{ label: "key release-2026", href: "/keys#authority-release-2026" }]);
    expect(linksOf("deleted user dave")).toEqual([{ label: "users", href: "/admin/users" }]);
    expect(linksOf("added registry credentials")).toEqual([{ label: "registry credentials", href: "/admin/credentials" }]);
    expect(linksOf("changed trust settings")).toEqual([{ label: "trust settings", href: "/reminders#settings" }]);
  });

  it("filters by actor, with the actors listed from the index", async () => {
    const { listAuditActors } = await import("@/lib/data/audit");
    expect(await listAuditActors(await getDb())).toEqual(["admin@example.test", "root@example.test", "setup"]);
    const root = await list({ actor: "root@example.test" });
    expect(root.events.map((e) => e.summary)).toEqual(["created user dave@example.test with role admin"]);
  });

  it("searches the text of events, case-insensitively and literally, and pages through matches", async () => {
    const carol = await list({ q: "CAROL@example" });
    expect(carol.events.map((e) => e.summary).reverse()).toEqual([
      "created user carol@example.test with role viewer",
      "changed the role of carol@example.test: viewer -> auditor",
    ]);
    expect((await list({ q: "release-2026" })).events).toHaveLength(2);
    // LIKE wildcards in the term are literal: "%" and "_" match themselves only
    expect((await list({ q: "%%%" })).events).toHaveLength(0);
    expect((await list({ q: "a_m" })).events).toHaveLength(0);
    // with other filters, and page by page
    expect((await list({ q: "example.test", actor: "root@example.test" })).events).toHaveLength(1);
    expect((await list({ q: "root@", kind: "admin" })).events).toHaveLength(2);
    const first = await list({ q: "carol", limit: "1" });
    expect(first.nextBefore).not.toBeNull();
    const second = await list({ q: "carol", limit: "1", before: first.nextBefore! });
    expect(second.events[0]!.summary).toBe("created user carol@example.test with role viewer");
    expect(second.nextBefore).toBeNull();
    expect(() => auditQuery.parse({ q: "ab" })).toThrow(/3 characters/);
  });

  it("runs the search through the trigram index (the query's expression is the indexed one)", async () => {
    const db = await getDb();
    const { likeContains } = await import("@/lib/data/audit");
    const plan = await db.$transaction(async (tx) => {
      await tx.$executeRawUnsafe("SET LOCAL enable_seqscan = off");
      // the expression of lib/data/audit.ts SEARCH_TEXT, through its own query: EXPLAIN of the same SQL
      return tx.$queryRawUnsafe<{ "QUERY PLAN": string }[]>(
        `EXPLAIN SELECT "seq" FROM "VerificationEvent" WHERE "kind" <> 'verdict' AND lower(coalesce("actor", '') || ' ' || coalesce("clusterName", '') || ' ' || coalesce("namespace", '') || ' ' || coalesce("workload", '') || ' ' || coalesce("imageDigest", '') || ' ' || coalesce("policyName", '') || ' ' || "details"::text) LIKE $1 ORDER BY "seq" DESC LIMIT 10000`,
        likeContains("carol"),
      );
    });
    expect(plan.map((r) => r["QUERY PLAN"]).join("\n")).toContain("VerificationEvent_search_trgm_idx");
  });
});
