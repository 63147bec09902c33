import "server-only";
import { Prisma } from "@/lib/generated/prisma/client";

/**
 * Many rows in a few statements, the rows travelling as ONE JSON text parameter that PostgreSQL
 * expands into the table's row type (`jsonb_populate_recordset`). Measured on the two-core machine:
 * Prisma's `createMany` costs ~0.25 ms of the process's CPU per row in its query compiler
 * (WebAssembly), whose memory also grows to the largest statement; an array parameter ~1 µs per
 * element; a JSON document ~0.2 µs per value. A scan of 100,000 containers inserts 100,000 verdicts.
 *
 * `columns` are the table's columns to fill, each from the row's property of the same name (absent:
 * NULL — a NOT NULL column must be given in every row); `id` is generated (gen_random_uuid()) unless
 * listed. Values are what JSON.stringify makes of them (Dates as ISO 8601 strings, which timestamptz
 * reads back exactly; bigints as decimal strings; JSON columns as nested JSON; arrays as arrays).
 */
export type BulkTable = "Verdict" | "Evidence" | "ScanItem" | "CoverageSnapshot";

type Runner = { $executeRaw(query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]): Prisma.PrismaPromise<number> };

/** Rows per statement: ~1 KB each, so a parameter of about a megabyte. */
const ROWS_PER_STATEMENT = 1000;

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9]*$/;

export async function insertRows(
  db: Runner,
  table: BulkTable,
  columns: readonly string[],
  rows: readonly Record<string, unknown>[],
  opts: { generateId?: boolean; onConflictDoNothing?: boolean } = {},
): Promise<number> {
  if (rows.length === 0) return 0;
  for (const c of columns) if (!IDENTIFIER.test(c)) throw new Error(`insertRows: bad column name ${c}`);
  const withId = opts.generateId ?? !columns.includes("id");
  const target = Prisma.raw(`"${table}" (${[...(withId ? ["id"] : []), ...columns].map((c) => `"${c}"`).join(", ")})`);
  const values = Prisma.raw([...(withId ? ["gen_random_uuid()"] : []), ...columns.map((c) => `r."${c}"`)].join(", "));
  const rowType = Prisma.raw(`NULL::"${table}"`);
  const conflict = Prisma.raw(opts.onConflictDoNothing ? "ON CONFLICT DO NOTHING" : "");
  let inserted = 0;
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const part: Record<string, unknown>[] = [];
    for (const r of rows.slice(i, i + ROWS_PER_STATEMENT)) {
      const row: Record<string, unknown> = {};
      for (const c of columns) row[c] = r[c] ?? null;
      part.push(row);
    }
    const json = rowsJson(part);
    inserted += await db.$executeRaw`INSERT INTO ${target} SELECT ${values} FROM jsonb_populate_recordset(${rowType}, ${json}::jsonb) AS r ${conflict}`;
  }
  return inserted;
}

/**
 * The rows as JSON, bigints as decimal strings. Without a replacer function first: JSON.stringify calls
 * one for every key and value, and a bigint (evidence's transparency-log index) is rare — it throws
 * there, and only then is the replacer used; both give the same text for rows without bigints. (With
 * the rows built by a loop instead of Object.fromEntries, a thousand verdict rows took 3.1 → 1.6 ms of
 * CPU.)
 */
export function rowsJson(rows: readonly unknown[]): string {
  try {
    return JSON.stringify(rows);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    return JSON.stringify(rows, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  }
}

/** A list of uuids as one text parameter (`= ANY(string_to_array(…, ',')::uuid[])`): ~5× cheaper to bind than an array. */
export function uuidList(ids: readonly string[]): string {
  return ids.join(",");
}
