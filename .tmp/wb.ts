import pg from "pg";
async function main() {
  const c = new pg.Client({ connectionString: process.argv[2]! }); await c.connect();
  const rows = (await c.query(`SELECT "containerId", bucket::text, "clusterId", "namespaceId" FROM "ContainerBucket" ORDER BY "containerId" OFFSET 50000 LIMIT 5000`)).rows;
  const prev = (await c.query(`SELECT "containerId" FROM "ContainerBucket" ORDER BY "containerId" OFFSET 49999 LIMIT 1`)).rows[0].containerId;
  // drop every 10th row from the page (gone) and move every 7th to another bucket
  const page = rows.filter((_, i) => i % 10 !== 3);
  const buckets = page.map((r, i) => (i % 7 === 0 ? (r.bucket === "verified" ? "failed" : "verified") : r.bucket));
  const last = page.at(-1).containerId;
  await c.query("BEGIN");
  const sql = `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
    WITH page AS (
      SELECT * FROM unnest($1::text[]::uuid[], $2::text[]::"CoverageBucket"[], $3::text[]::uuid[], $4::text[]::uuid[])
        AS u("containerId", bucket, "clusterId", "namespaceId")
    ), gone AS (
      DELETE FROM "ContainerBucket" b
      WHERE ($5::uuid IS NULL OR b."containerId" > $5::uuid) AND b."containerId" <= $6::uuid
        AND NOT EXISTS (SELECT 1 FROM page WHERE page."containerId" = b."containerId")
    )
    INSERT INTO "ContainerBucket" ("containerId", bucket, "clusterId", "namespaceId")
    SELECT page.* FROM page LEFT JOIN "ContainerBucket" b ON b."containerId" = page."containerId"
    WHERE (b.bucket, b."clusterId", b."namespaceId") IS DISTINCT FROM (page.bucket, page."clusterId", page."namespaceId")
    ON CONFLICT ("containerId") DO UPDATE SET bucket = EXCLUDED.bucket, "clusterId" = EXCLUDED."clusterId", "namespaceId" = EXCLUDED."namespaceId"`;
  const r = await c.query(sql, [page.map((r) => r.containerId), buckets, page.map((r) => r.clusterId), page.map((r) => r.namespaceId), prev, last]);
  console.log(r.rows.map((x) => x["QUERY PLAN"]).join("\n"));
  await c.query("ROLLBACK");
  await c.end();
}
void main();
