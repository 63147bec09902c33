import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Tx } from "@/lib/db/transaction";
import { Prisma } from "@/lib/generated/prisma/client";
import { useAuthEnv } from "@/tests/support/auth";
import { createTestDatabase, type TestDatabase } from "@/tests/support/db";
import { seedFleet } from "@/tests/support/fleet";

/** A transaction client that counts the statements sent through it (a spy on the real client, not a mock). */
function counting(tx: Tx): { tx: Tx; fetches: () => number; lookups: () => number } {
  let fetches = 0;
  let lookups = 0;
  const proxy = new Proxy(tx, {
    get(target, key, receiver) {
      if (key === "$queryRaw") {
        return (...args: Parameters<Tx["$queryRaw"]>) => {
          if (String((args[0] as TemplateStringsArray)[0]).trimStart().startsWith("FETCH")) fetches += 1;
          return target.$queryRaw(...args);
        };
      }
      if (key === "evidence" || key === "verificationEvent") lookups += 1;
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return { tx: proxy, fetches: () => fetches, lookups: () => lookups };
}

/**
 * How exports read and write in bounded memory, against real PostgreSQL: the cursor pager reads a
 * result in pages of N (lazily: one FETCH per page asked for), the compliance rows come through it
 * page by page, a snapshot sees one state of the database and cannot write, and the spool an export
 * is written into is bounded and has no name on disk.
 */
describe("export streaming: cursor pages, snapshot, spool", () => {
  let tdb: TestDatabase;
  const getDb = async () => (await import("@/lib/db/client")).getDb();

  beforeAll(async () => {
    tdb = await createTestDatabase();
    await useAuthEnv(tdb.url, { SIGNET_SECRET_KEY: randomBytes(32).toString("base64"), SIGNET_SECRET_KEY_PREVIOUS: undefined });
    (await import("@/lib/exports/signing-key")).resetExportSigner();
  });
  afterAll(async () => {
    await (await getDb()).$disconnect();
    await tdb?.drop();
  });

  it("reads a result in pages of N, one FETCH per page asked for, and closes the cursor when the reader stops", async () => {
    const { cursorPages, withSnapshot } = await import("@/lib/db/cursor");
    const db = await getDb();
    const query = Prisma.sql`SELECT g AS n FROM generate_series(1, ${2500}::int) g ORDER BY g`;
    await withSnapshot(db, async (raw) => {
      const { tx, fetches } = counting(raw);
      const pages = cursorPages<{ n: number }>(tx, query, 1000);
      const first = await pages.next();
      // the reader holds one page: the rest of the result has not been read
      expect(first.done).toBe(false);
      const firstPage = first.value as { n: number }[];
      expect(firstPage).toHaveLength(1000);
      expect(fetches()).toBe(1);
      const sizes = [firstPage.length];
      const all = firstPage.map((r) => r.n);
      for await (const page of pages) {
        sizes.push(page.length);
        all.push(...page.map((r) => r.n));
      }
      expect(sizes).toEqual([1000, 1000, 500]);
      expect(fetches()).toBe(3);
      expect(all).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
      expect((await raw.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM pg_cursors`)[0]!.n).toBe(0n);

      // an exact multiple: the empty FETCH that ends it yields no page
      const exact: number[] = [];
      for await (const page of cursorPages<{ n: number }>(tx, Prisma.sql`SELECT g AS n FROM generate_series(1, ${2000}::int) g`, 1000)) exact.push(page.length);
      expect(exact).toEqual([1000, 1000]);

      // stopping early closes the cursor
      for await (const page of cursorPages<{ n: number }>(tx, query, 100)) {
        expect(page).toHaveLength(100);
        break;
      }
      expect((await raw.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM pg_cursors`)[0]!.n).toBe(0n);
    });
  });

  it("a snapshot sees the database as of its first statement and refuses writes", async () => {
    const { withSnapshot } = await import("@/lib/db/cursor");
    const db = await getDb();
    await withSnapshot(db, async (tx) => {
      const before = await tx.cluster.count();
      await db.cluster.create({ data: { name: `late-${randomBytes(3).toString("hex")}` } });
      expect(await db.cluster.count()).toBe(before + 1);
      expect(await tx.cluster.count()).toBe(before);
    });
    await expect(withSnapshot(db, (tx) => tx.cluster.create({ data: { name: "never" } }))).rejects.toThrow(/read-only transaction/);
    expect(await db.cluster.count({ where: { name: "never" } })).toBe(0);
  });

  it("reads the compliance rows through the cursor in pages: one FETCH and one set of lookups per page, in report order", async () => {
    const db = await getDb();
    await seedFleet(db, { cluster: "paged", containers: 47 });
    const { iterateComplianceRows, compliancePeriod, buildComplianceReport } = await import("@/lib/data/exports");
    const { withSnapshot } = await import("@/lib/db/cursor");
    const q = { cluster: "paged", format: "json" as const };
    const rows = await withSnapshot(db, async (raw) => {
      const { tx, fetches, lookups } = counting(raw);
      const out: string[] = [];
      const it = iterateComplianceRows(tx, q, compliancePeriod({}), 10);
      const first = await it.next();
      out.push(`${first.value!.namespace}/${first.value!.workload}`);
      // the first row came with the first page only: 10 rows read, their evidence and events looked up once
      expect(fetches()).toBe(1);
      expect(lookups()).toBe(1);
      for await (const r of it) out.push(`${r.namespace}/${r.workload}`);
      expect(fetches()).toBe(5);
      // (the seeded verdicts name no evidence: one verdict-event count per page)
      expect(lookups()).toBe(5);
      return out;
    });
    expect(rows).toHaveLength(47);
    expect(rows).toEqual([...rows].sort());
    const whole = await buildComplianceReport(db, q);
    expect(whole.rows.map((r) => `${r.namespace}/${r.workload}`)).toEqual(rows);
    expect(whole.summary.rows).toBe(47);
  });

  it("writes an export into a spool that has no name on disk, bounded in size", async () => {
    const { signedExport, writeJsonWithArray } = await import("@/lib/exports/download");
    const { getExportSigner, verifyExportSignature } = await import("@/lib/exports/signing-key");
    const db = await getDb();
    const spools = async () => (await fs.readdir(os.tmpdir())).filter((f) => f.startsWith("signet-export-"));
    const before = await spools();
    let during: string[] = [];
    const res = await signedExport(db, { filename: "x.json", contentType: "application/json" }, async (sink) => {
      await sink.write("garbage that a restart discards");
      await sink.reset();
      async function* items() {
        for (let i = 0; i < 20_000; i++) yield { i, pad: "x".repeat(40) };
      }
      await writeJsonWithArray(sink, { head: "first", n: { nested: [1, 2] } }, "items", items(), () => ({ tail: 20_000 }));
      during = await spools();
    });
    expect(during).toEqual(before);
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get("content-length")).toBe(String(body.byteLength));
    const parsed = JSON.parse(body.toString("utf8")) as { head: string; n: unknown; items: { i: number }[]; tail: number };
    expect(parsed.head).toBe("first");
    expect(parsed.n).toEqual({ nested: [1, 2] });
    expect(parsed.items).toHaveLength(20_000);
    expect(parsed.items[19_999]!.i).toBe(19_999);
    expect(parsed.tail).toBe(20_000);
    const signer = await getExportSigner(db);
    expect(verifyExportSignature(signer.publicKeyPem, body, res.headers.get("x-signet-signature")!)).toBe(true);

    // an empty array still makes valid JSON
    const empty = await signedExport(db, { filename: "e.json", contentType: "application/json" }, (sink) =>
      writeJsonWithArray(sink, { a: 1 }, "rows", (async function* () {})()),
    );
    expect(JSON.parse(await empty.text())).toEqual({ a: 1, rows: [] });

    // past its bound the export is refused (and asks for a narrower scope)
    await expect(
      signedExport(db, { filename: "big.csv", contentType: "text/csv", maxBytes: 1_000_000 }, async (sink) => {
        for (let i = 0; i < 10_000; i++) await sink.write("y".repeat(200));
      }),
    ).rejects.toMatchObject({ code: "validation_failed", message: expect.stringMatching(/narrow its scope/) });
  });
});
