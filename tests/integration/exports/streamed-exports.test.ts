import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { NextRequest } from "next/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiRequest, sessionCookieFor, useAuthEnv } from "@/tests/support/auth";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { seedFleet } from "@/tests/support/fleet";
import { spawnTs, waitFor } from "@/tests/support/process";
import { registryTools } from "@/tests/support/registry";

const execFileP = promisify(execFile);
type Handler = (req: NextRequest) => Promise<Response>;
const FLEET = 5000;

interface KeysJson {
  publicKeyPem: string;
  fingerprint: string;
  validFrom: string;
  previous: { publicKeyPem: string; fingerprint: string; validFrom: string; validUntil: string | null }[];
}

/**
 * Streamed, signed exports of a fleet of 5,000 running containers out of the real route handlers
 * against PostgreSQL, checked with real `cosign verify-blob`; export-key rotation through the API: an
 * export made before a rotation still verifies with the old published key, one made after with the
 * new key, and neither with the other; a changed byte fails.
 */
describe("streamed exports of a fleet and export-key rotation", () => {
  let tdb: TestDatabase;
  let dir: string;
  let admin: string;
  let auditor: string;
  let viewer: string;
  const getDb = async () => (await import("@/lib/db/client")).getDb();
  const get = async (route: string, url: string, cookie: string) => ((await import(`@/app/api/${route}/route`)) as { GET: Handler }).GET(apiRequest(url, { cookie }));
  const rotate = async (cookie: string, origin?: string | null) =>
    ((await import("@/app/api/exports/key/rotate/route")) as { POST: Handler }).POST(apiRequest("/api/exports/key/rotate", { method: "POST", cookie, origin }));
  const keys = async () => (await (await get("exports/public-key", "/api/exports/public-key?format=json", viewer)).json()) as KeysJson;

  /** `cosign verify-blob --key` offline: the file, its .sig and the key written as an auditor would keep them. */
  async function cosignVerify(name: string, file: Uint8Array, signature: string, publicKeyPem: string): Promise<{ ok: boolean; out: string }> {
    const sub = await fs.mkdtemp(path.join(dir, "v-"));
    await fs.writeFile(path.join(sub, name), file);
    await fs.writeFile(path.join(sub, `${name}.sig`), signature);
    await fs.writeFile(path.join(sub, "signet-export.pub"), publicKeyPem);
    try {
      const { stdout, stderr } = await execFileP(registryTools().cosign, ["verify-blob", "--key", "signet-export.pub", "--signature", `${name}.sig`, "--insecure-ignore-tlog=true", name], {
        cwd: sub,
        env: { ...process.env, HOME: dir },
      });
      return { ok: true, out: stdout + stderr };
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      return { ok: false, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
    }
  }

  async function download(route: string, url: string, cookie: string) {
    const res = await get(route, url, cookie);
    expect(res.status, `${url}: ${res.status === 200 ? "" : await res.clone().text()}`).toBe(200);
    const body = new Uint8Array(await res.arrayBuffer());
    expect(res.headers.get("content-length"), url).toBe(String(body.byteLength));
    expect(res.headers.get("x-signet-export-sha256"), url).toBe(createHash("sha256").update(body).digest("hex"));
    return { body, signature: res.headers.get("x-signet-signature")!, key: res.headers.get("x-signet-signature-key")!, link: res.headers.get("link") };
  }

  beforeAll(async () => {
    tdb = await createTestDatabase();
    await useAuthEnv(tdb.url, { SIGNET_SECRET_KEY: randomBytes(32).toString("base64"), SIGNET_SECRET_KEY_PREVIOUS: undefined });
    (await import("@/lib/exports/signing-key")).resetExportSigner();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-streamed-"));
    await seedFleet(await getDb(), { cluster: "fleet", containers: FLEET });
    admin = (await sessionCookieFor("admin")).cookie;
    auditor = (await sessionCookieFor("auditor")).cookie;
    viewer = (await sessionCookieFor("viewer")).cookie;
  });
  afterAll(async () => {
    await (await getDb()).$disconnect();
    await tdb?.drop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("streams the compliance CSV and JSON and the image list of 5,000 containers; real cosign verifies each, a changed byte fails", async () => {
    const { publicKeyPem, fingerprint } = await keys();
    const csv = await download("exports/compliance", "/api/exports/compliance?format=csv&cluster=fleet", auditor);
    expect(csv.key).toBe(fingerprint);
    expect(csv.link).toBe(`</api/exports/public-key?fingerprint=${fingerprint}>; rel="signet-export-key"`);
    const lines = Buffer.from(csv.body).toString("utf8").trimEnd().split("\r\n");
    expect(lines[0]).toMatch(/^cluster,namespace,workload,container,image,digest,policy/);
    expect(lines).toHaveLength(FLEET + 1);
    // every container once, in report order (namespace, then workload)
    const keysOf = lines.slice(1).map((l) => l.split(",").slice(1, 3).join("/"));
    expect(new Set(keysOf).size).toBe(FLEET);
    expect(keysOf).toEqual([...keysOf].sort());
    const ok = await cosignVerify("compliance.csv", csv.body, csv.signature, publicKeyPem);
    expect(ok.out).toContain("Verified OK");
    expect(ok.ok).toBe(true);
    const tampered = Buffer.from(csv.body);
    tampered[Math.floor(tampered.length / 2)] = tampered[Math.floor(tampered.length / 2)]! ^ 1;
    const bad = await cosignVerify("compliance.csv", tampered, csv.signature, publicKeyPem);
    expect(bad.ok).toBe(false);
    expect(bad.out).toMatch(/invalid signature|verification failed|failed to verify/i);

    const json = await download("exports/compliance", "/api/exports/compliance?format=json&cluster=fleet", auditor);
    const report = JSON.parse(Buffer.from(json.body).toString("utf8")) as { summary: { rows: number; digests: number; verified: number }; rows: { verdict: string }[] };
    expect(report.summary).toEqual({ rows: FLEET, digests: FLEET, verified: FLEET / 4 });
    expect(report.rows).toHaveLength(FLEET);
    expect(report.rows.filter((r) => r.verdict === "verified")).toHaveLength(FLEET / 4);
    expect((await cosignVerify("compliance.json", json.body, json.signature, publicKeyPem)).ok).toBe(true);

    // the preview: the summary of every row, the first rows only
    const preview = await download("exports/compliance", "/api/exports/compliance?format=json&cluster=fleet&limit=20", auditor);
    const p = JSON.parse(Buffer.from(preview.body).toString("utf8")) as { summary: { rows: number }; rows: unknown[] };
    expect(p.summary.rows).toBe(FLEET);
    expect(p.rows).toHaveLength(20);

    const images = await download("images/export", "/api/images/export", viewer);
    const imageLines = Buffer.from(images.body).toString("utf8").trimEnd().split("\r\n");
    expect(imageLines).toHaveLength(FLEET + 1);
    expect(new Set(imageLines.slice(1).map((l) => l.split(",")[2])).size).toBe(FLEET);
    expect((await cosignVerify("images.csv", images.body, images.signature, publicKeyPem)).ok).toBe(true);
  });

  it("rotates the export key (admin only, same-origin): older exports verify with the old published key, new ones with the new key", async () => {
    const db = await getDb();
    const before = await keys();
    const old = await download("exports/compliance", "/api/exports/compliance?format=csv&cluster=fleet", auditor);
    expect(old.key).toBe(before.fingerprint);
    const oldAudit = await download("audit/export", "/api/audit/export?format=json", auditor);

    // who may rotate: admins, from a page of Signet's origin
    expect((await rotate(auditor)).status).toBe(403);
    expect((await rotate(viewer)).status).toBe(403);
    expect((await rotate(admin, "https://evil.example")).status).toBe(403);
    expect((await keys()).fingerprint).toBe(before.fingerprint);

    const res = await rotate(admin);
    expect(res.status).toBe(201);
    const rotation = (await res.json()) as { previous: { fingerprint: string; validFrom: string; validUntil: string }; current: { fingerprint: string; validFrom: string; validUntil: null } };
    expect(JSON.stringify(rotation)).not.toMatch(/PRIVATE/);
    expect(rotation.previous.fingerprint).toBe(before.fingerprint);
    expect(rotation.current.fingerprint).not.toBe(before.fingerprint);
    expect(rotation.previous.validFrom).toBe(before.validFrom);
    expect(rotation.current.validFrom).toBe(rotation.previous.validUntil);

    // both published: the current key, and the old one with its period
    const after = await keys();
    expect(after.fingerprint).toBe(rotation.current.fingerprint);
    expect(after.previous).toEqual([{ publicKeyPem: before.publicKeyPem, fingerprint: before.fingerprint, algorithm: "ecdsa-p256-sha256", validFrom: before.validFrom, validUntil: rotation.previous.validUntil }]);
    const oldPem = await (await get("exports/public-key", `/api/exports/public-key?fingerprint=${before.fingerprint}`, viewer)).text();
    expect(oldPem).toBe(before.publicKeyPem);
    expect((await get("exports/public-key", `/api/exports/public-key?fingerprint=${"0".repeat(64)}`, viewer)).status).toBe(404);
    expect(await (await get("exports/public-key", "/api/exports/public-key", viewer)).text()).toBe(after.publicKeyPem);

    const fresh = await download("exports/compliance", "/api/exports/compliance?format=csv&cluster=fleet", auditor);
    expect(fresh.key).toBe(after.fingerprint);
    // the same rows, signed by the new key
    expect(Buffer.from(fresh.body).equals(Buffer.from(old.body))).toBe(true);
    expect((await cosignVerify("old.csv", old.body, old.signature, oldPem)).ok).toBe(true);
    expect((await cosignVerify("old-audit.json", oldAudit.body, oldAudit.signature, oldPem)).ok).toBe(true);
    expect((await cosignVerify("new.csv", fresh.body, fresh.signature, after.publicKeyPem)).ok).toBe(true);
    expect((await cosignVerify("old.csv", old.body, old.signature, after.publicKeyPem)).ok).toBe(false);
    expect((await cosignVerify("new.csv", fresh.body, fresh.signature, oldPem)).ok).toBe(false);
    const tampered = Buffer.from(old.body);
    tampered[0] = tampered[0]! ^ 1;
    expect((await cosignVerify("old.csv", tampered, old.signature, oldPem)).ok).toBe(false);

    // audited with both fingerprints; no private key outside the current row's envelope
    const event = await db.verificationEvent.findFirstOrThrow({ where: { kind: "admin", details: { path: ["action"], equals: "export-key.rotate" } } });
    expect(event.details).toEqual({ action: "export-key.rotate", from: before.fingerprint, to: after.fingerprint });
    const row = await db.serverKey.findUniqueOrThrow({ where: { purpose: "export" } });
    expect(row.fingerprint).toBe(after.fingerprint);
    expect(row.privateKeyEnc).toMatch(/^sv1:[0-9a-f]{16}:/);
    const retired = await db.$queryRaw<Record<string, unknown>[]>`SELECT * FROM "RetiredServerKey"`;
    expect(retired).toHaveLength(1);
    expect(Object.keys(retired[0]!).sort()).toEqual(["algorithm", "fingerprint", "publicKeyPem", "purpose", "retiredBy", "validFrom", "validUntil"]);
    expect(JSON.stringify(retired)).not.toMatch(/PRIVATE|sv1:/);

    // a second rotation: two older keys, newest first
    expect((await rotate(admin)).status).toBe(201);
    const twice = await keys();
    expect(twice.previous.map((k) => k.fingerprint)).toEqual([after.fingerprint, before.fingerprint]);
    expect(twice.previous[0]!.validFrom).toBe(after.validFrom);
  });

  it("another instance that already signed with the old key signs with the new one after a rotation, without a restart", async () => {
    // a second process (another web replica) holding the export signer it decrypted before the rotation
    const other = spawnTs("tests/support/export-process.ts", [], { LOG_LEVEL: "warn" });
    try {
      const { port } = await waitFor(async () => {
        if (other.proc.exitCode !== null) throw new Error(`the export process exited: ${other.output().slice(-2000)}`);
        const line = other.output().split("\n").find((l) => l.startsWith("{\"port\""));
        return line ? (JSON.parse(line) as { port: number }) : undefined;
      }, 60_000, "the second instance listening");
      const exportThere = async (text: string) => {
        const res = await fetch(`http://127.0.0.1:${port}/?text=${encodeURIComponent(text)}`);
        expect(res.status, await res.clone().text()).toBe(200);
        return { body: new Uint8Array(await res.arrayBuffer()), signature: res.headers.get("x-signet-signature")!, key: res.headers.get("x-signet-signature-key")! };
      };
      const before = await keys();
      const first = await exportThere("cluster,namespace\nfleet,before\n");
      expect(first.key).toBe(before.fingerprint);
      expect((await cosignVerify("before.csv", first.body, first.signature, before.publicKeyPem)).ok).toBe(true);

      // rotated by this process (the instance that served the admin's request)
      expect((await rotate(admin)).status).toBe(201);
      const after = await keys();
      expect(after.fingerprint).not.toBe(before.fingerprint);

      const second = await exportThere("cluster,namespace\nfleet,after\n");
      expect(second.key).toBe(after.fingerprint);
      const verified = await cosignVerify("after.csv", second.body, second.signature, after.publicKeyPem);
      expect(verified.out).toContain("Verified OK");
      expect(verified.ok).toBe(true);
      expect((await cosignVerify("after.csv", second.body, second.signature, before.publicKeyPem)).ok).toBe(false);
      // the same process all along
      expect(other.proc.exitCode).toBeNull();
    } finally {
      other.proc.kill("SIGTERM");
      await other.exited;
    }
  });
});
