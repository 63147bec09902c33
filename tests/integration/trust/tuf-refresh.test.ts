import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { allJobs } from "@/lib/jobs/definitions";
import { tufRefresh } from "@/lib/jobs/definitions/tuf";
import { getLogger } from "@/lib/log";
import { loadPublicGoodTrustRoot, PUBLIC_GOOD_ID, PUBLIC_GOOD_MIRROR } from "@/lib/sigstore/trusted-root";
import { getReminders } from "@/lib/trust/load-reminders";
import { addTufRepository, listTrustedRoots, loadTrustRootsInForce } from "@/lib/trust/trusted-roots";
import { refreshAllTufRepositories } from "@/lib/trust/tuf-refresh";
import { apiRequest, sessionCookieFor, useAuthEnv } from "@/tests/support/auth";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { makePrivateSigstore } from "@/tests/support/sigstore-pki";
import { ROOT } from "@/tests/support/process";
import { makeTufKey, startTufRepository, type TestTufRepository } from "@/tests/support/tuf-repository";

/**
 * The worker's TUF refresh (job tuf.refresh) against a real TUF repository on 127.0.0.1 whose metadata
 * the test signs: the first refresh, a root rotation, expired and mis-signed metadata refused, and the
 * last trusted root kept in force while the mirror is offline. Requests go through the egress guard.
 */
describe("TUF refresh of trusted roots", () => {
  let tdb: TestDatabase;
  let db: Db;
  let repo: TestTufRepository;
  const rootA = makePrivateSigstore().trustedRootJson;
  const rootB = makePrivateSigstore().trustedRootJson;
  const sha = (s: string) => createHash("sha256").update(s).digest("hex");

  const runJob = (repository?: string) =>
    tufRefresh.handler(repository ? { repository } : {}, {
      jobId: "test",
      retryCount: 0,
      db,
      log: getLogger(),
      signal: new AbortController().signal,
      enqueue: async () => null,
      enqueueMany: async () => 0,
    }) as Promise<{ name: string; ok: boolean; rootVersion: number; updated: boolean; error: string | null }[]>;
  const repoRow = () => db.tufRepository.findUniqueOrThrow({ where: { name: "corp" } });
  const inForce = async (name: string) => (await loadTrustRootsInForce(db)).find((r) => r.id === name);

  beforeAll(async () => {
    [tdb, repo] = await Promise.all([createTestDatabase(), startTufRepository()]);
    // the test mirror lives on loopback: a mirror URL is administrator input, so the operator lists it
    await useAuthEnv(tdb.url, { SIGNET_EGRESS_ALLOW_INTERNAL: "127.0.0.1" });
    db = createDb(tdb.url, 4);
  });
  afterAll(async () => {
    await db?.$disconnect();
    await repo?.stop();
    await tdb?.drop();
  });

  it("is a scheduled job of the worker", () => {
    expect(allJobs.map((j) => j.name)).toContain("tuf.refresh");
    expect(tufRefresh.cron).toMatch(/^\d+ \* \* \* \*$/);
  });

  it("refuses an initial root.json that is not a TUF root, with the reason", async () => {
    await expect(addTufRepository(db, { name: "bad", mirrorUrl: repo.url, rootJson: "{}" }, "admin@test")).rejects.toThrow(/not a TUF root: signed/);
    await expect(addTufRepository(db, { name: "bad", mirrorUrl: repo.url, rootJson: "<xml/>" }, "admin@test")).rejects.toThrow(/not JSON/);
    expect(await db.tufRepository.count()).toBe(0);
  });

  it("treats a mirror URL as administrator input: internal addresses refused at save and at refresh unless the operator lists them", async () => {
    // at save, through the real route: the metadata address, loopback and *.localhost are 422 with the reason
    await useAuthEnv(tdb.url, { SIGNET_EGRESS_ALLOW_INTERNAL: undefined });
    const { cookie } = await sessionCookieFor("admin");
    const { POST } = await import("@/app/api/trusted-roots/route");
    for (const [mirrorUrl, reason] of [
      ["http://169.254.169.254/latest/meta-data", /metadata address/],
      ["http://[::ffff:169.254.169.254]/", /metadata address/],
      ["https://localhost:8443/", /loopback address/],
      ["http://127.0.0.2:9/", /loopback address/],
    ] as const) {
      const res = await POST(apiRequest("/api/trusted-roots", { method: "POST", cookie, body: { name: "imds", tuf: { mirrorUrl, root: JSON.parse(repo.initialRoot) } } }));
      expect(res.status, mirrorUrl).toBe(422);
      expect(JSON.stringify(await res.json())).toMatch(reason);
    }
    expect(await db.tufRepository.count()).toBe(0);

    // at refresh: a stored loopback mirror the operator did not list is refused with no request sent
    try {
      await addTufRepository(db, { name: "internal", mirrorUrl: repo.url, rootJson: repo.initialRoot }, "admin@test");
      const before = repo.requests.length;
      const [outcome] = await runJob("internal");
      expect(outcome).toMatchObject({ name: "internal", ok: false });
      expect(outcome!.error).toMatch(/loopback address \(127\.0\.0\.1\)/);
      expect(repo.requests.length).toBe(before);
    } finally {
      await useAuthEnv(tdb.url, { SIGNET_EGRESS_ALLOW_INTERNAL: "127.0.0.1" });
      await db.trustedRoot.deleteMany({ where: { name: "internal" } });
      await db.tufRepository.deleteMany({ where: { name: "internal" } });
    }
  });

  it("fetches the trusted_root.json target on the first refresh; policies can use it by name", async () => {
    repo.publish(rootA);
    await addTufRepository(db, { name: "corp", mirrorUrl: repo.url, rootJson: repo.initialRoot }, "admin@test");
    const [outcome] = await runJob("corp");
    expect(outcome).toMatchObject({ name: "corp", ok: true, rootVersion: 1, updated: true, error: null });
    const row = await db.trustedRoot.findUniqueOrThrow({ where: { name: "corp" } });
    expect(row).toMatchObject({ source: "tuf", sha256: sha(rootA) });
    expect((await inForce("corp"))?.sha256).toBe(sha(rootA));
    const r = await repoRow();
    expect(r).toMatchObject({ rootVersion: 1, timestampVersion: 1, lastError: null });
    expect(r.lastSuccessAt).not.toBeNull();
    expect(Object.keys(r.metadata as object).sort()).toEqual(["root.json", "snapshot.json", "targets.json", "timestamp.json"]);

    // unchanged target: not downloaded again
    const before = repo.requests.filter((p) => p.startsWith("/targets/")).length;
    expect((await runJob("corp"))[0]).toMatchObject({ ok: true, updated: false });
    expect(repo.requests.filter((p) => p.startsWith("/targets/")).length).toBe(before);
  });

  it("follows a root rotation and takes the new trusted_root.json", async () => {
    repo.rotateRoot({ root: [makeTufKey()], timestamp: makeTufKey(), snapshot: makeTufKey(), targets: makeTufKey() });
    repo.publish(rootB);
    expect((await runJob("corp"))[0]).toMatchObject({ ok: true, rootVersion: 2, updated: true });
    expect((await repoRow()).rootVersion).toBe(2);
    expect(JSON.parse(((await repoRow()).metadata as Record<string, string>)["root.json"]!).signed.version).toBe(2);
    expect((await inForce("corp"))?.sha256).toBe(sha(rootB));
    const listed = (await listTrustedRoots(db)).find((x) => x.name === "corp")!;
    expect(listed).toMatchObject({ source: "tuf", sha256: sha(rootB), tuf: { mirrorUrl: repo.url, rootVersion: 2, lastError: null } });
  });

  it("refuses expired and mis-signed metadata with a clear error and keeps the last trusted root", async () => {
    const lastSuccess = (await repoRow()).lastSuccessAt;
    repo.publish(rootA, { timestampExpiresInDays: -1 });
    const [expired] = await runJob("corp");
    expect(expired).toMatchObject({ ok: false, updated: false });
    expect(expired!.error).toMatch(/ExpiredMetadataError: .*expired/i);
    expect((await repoRow())).toMatchObject({ lastError: expired!.error, lastSuccessAt: lastSuccess });
    expect((await inForce("corp"))?.sha256).toBe(sha(rootB));

    repo.publish(rootA, { timestampSignedBy: makeTufKey() });
    const [forged] = await runJob("corp");
    expect(forged!.ok).toBe(false);
    expect(forged!.error).toMatch(/UnsignedMetadataError: timestamp was signed by 0\/1 keys/);
    expect((await inForce("corp"))?.sha256).toBe(sha(rootB));

    repo.put("/timestamp.json", "{ not json");
    const [garbage] = await runJob("corp");
    expect(garbage!.ok).toBe(false);
    expect(garbage!.error).toMatch(/TUF refresh from http:\/\/127\.0\.0\.1:\d+ failed/);
    expect((await listTrustedRoots(db)).find((x) => x.name === "corp")!.tuf!.lastError).toBe(garbage!.error);
  });

  it("keeps verifying with the cached root while the mirror is offline, and recovers", async () => {
    repo.setOffline(true);
    const [offline] = await runJob("corp");
    expect(offline!.ok).toBe(false);
    expect(offline!.error).toMatch(/failed/);
    const root = await inForce("corp");
    expect(root?.sha256).toBe(sha(rootB));
    expect(root?.material.certificateAuthorities).toHaveLength(1);

    repo.setOffline(false);
    repo.publish(rootA);
    expect((await runJob("corp"))[0]).toMatchObject({ ok: true, updated: true, rootVersion: 2 });
    expect((await inForce("corp"))?.sha256).toBe(sha(rootA));
    expect((await repoRow()).lastError).toBeNull();
  });

  it("replaces the bundled public-good root, for verification and for expiry reminders, by the refreshed one", async () => {
    // a repository configured under the public-good name (an internal mirror) whose root's CA ends in 10 days
    const doc = JSON.parse(rootA);
    const end = new Date(Date.now() + 10 * 86_400_000);
    doc.certificateAuthorities[0].validFor.end = end.toISOString();
    doc.certificateAuthorities[0].subject.commonName = "mirrored-fulcio";
    const mirrored = JSON.stringify(doc);
    const other = await startTufRepository();
    try {
      other.publish(mirrored);
      expect((await inForce(PUBLIC_GOOD_ID))?.sha256).toBe(loadPublicGoodTrustRoot().sha256);
      const bundled = (await getReminders(db)).filter((r) => r.kind === "trust-root-expiry");
      expect(bundled.some((r) => r.message.includes("mirrored-fulcio"))).toBe(false);

      await addTufRepository(db, { name: PUBLIC_GOOD_ID, mirrorUrl: other.url, rootJson: other.initialRoot }, "admin@test");
      expect((await runJob(PUBLIC_GOOD_ID))[0]).toMatchObject({ ok: true, updated: true });
      const pg = (await loadTrustRootsInForce(db)).filter((r) => r.id === PUBLIC_GOOD_ID);
      expect(pg.map((r) => r.sha256)).toEqual([sha(mirrored)]);
      const reminders = (await getReminders(db)).filter((r) => r.kind === "trust-root-expiry" && r.message.includes(PUBLIC_GOOD_ID));
      expect(reminders.some((r) => r.message.includes("mirrored-fulcio"))).toBe(true);
      // nothing of the bundled root is reminded of any more
      expect(reminders.every((r) => !r.message.includes("sigstore.dev"))).toBe(true);
    } finally {
      await other.stop();
      await db.tufRepository.delete({ where: { name: PUBLIC_GOOD_ID } });
      await db.trustedRoot.delete({ where: { name: PUBLIC_GOOD_ID } });
    }
  });

  it("signet trust-roots lists the roots with their refresh outcome and refreshes one now", async () => {
    // asynchronous: the TUF server answers from this process
    const signet = (args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [path.join(ROOT, "bin", "signet.mjs"), "trust-roots", ...args],
          { cwd: ROOT, encoding: "utf8", env: { ...process.env, DATABASE_URL: tdb.url, LOG_LEVEL: "error", SIGNET_TUF_PUBLIC_GOOD: "false" }, timeout: 60_000 },
          (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === "number" ? err.code : null) : 0, stdout, stderr }),
        );
      });
    repo.publish(rootB);
    const refreshed = await signet(["refresh", "corp"]);
    expect(refreshed.status, refreshed.stderr + refreshed.stdout).toBe(0);
    expect(refreshed.stdout).toBe("corp: ok, TUF root v2, new trusted root\n");
    const listed = await signet(["--json"]);
    expect(listed.status, listed.stderr).toBe(0);
    const corp = (JSON.parse(listed.stdout) as { trustedRoots: { name: string; sha256: string; tuf: { lastError: string | null } }[] }).trustedRoots.find((r) => r.name === "corp");
    expect(corp).toMatchObject({ sha256: sha(rootB), tuf: { lastError: null } });
    repo.setOffline(true);
    const failed = await signet(["refresh"]);
    repo.setOffline(false);
    expect(failed.status).toBe(2);
    expect(failed.stdout).toMatch(/^corp: FAILED: TUF refresh from http:\/\/127\.0\.0\.1:\d+ failed/);
    const table = await signet([]);
    expect(table.stdout, table.stdout).toMatch(/^corp\s+tuf\s+[0-9a-f]{12}\s+1\/1\/1\/0\s+v2 \S+\s+ERROR TUF refresh from \S+ failed: TypeError: fetch failed \(other side closed\)/m);
    const bad = await signet(["add", "x", path.join(ROOT, "package.json")]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/invalid trusted root: trustedRoot\.mediaType/);
  });

  it("never contacts the public-good mirror when SIGNET_TUF_PUBLIC_GOOD is off", async () => {
    const contacted: string[] = [];
    const outcomes = await refreshAllTufRepositories(db, {
      publicGood: false,
      fetchFor: (mirrorUrl) => {
        contacted.push(mirrorUrl);
        return fetch;
      },
    });
    expect(contacted).toEqual([repo.url]);
    expect(outcomes.map((o) => o.name)).toEqual(["corp"]);
    expect(contacted).not.toContain(PUBLIC_GOOD_MIRROR);
  });
});
