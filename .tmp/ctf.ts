import pg from "pg";

const SQL = `
    SELECT c.id, cl.name AS cluster, cl.id AS "clusterId", n.id AS "namespaceId", (cl."lastError" IS NOT NULL) AS "clusterStale", cl."lastError" AS "clusterError",
           (extract(epoch FROM cl."lastErrorAt") * 1000)::float8 AS "clusterErrorAt", n.name AS namespace, c.digest,
           COALESCE(array_agg(v.value::text ORDER BY v.id) FILTER (WHERE v.value IS NOT NULL), '{}') AS verdicts,
           COALESCE(array_agg(v."lastKnownValue"::text ORDER BY v.id) FILTER (WHERE v.value IS NOT NULL), '{}') AS known,
           COALESCE(array_agg(CASE WHEN v.value = 'error' THEN v.reasons->0->>'message' END ORDER BY v.id) FILTER (WHERE v.value IS NOT NULL), '{}') AS "errorReasons",
           COALESCE(array_agg(CASE WHEN v.value = 'error' THEN (extract(epoch FROM v."changedAt") * 1000)::float8 END ORDER BY v.id) FILTER (WHERE v.value IS NOT NULL), '{}') AS "errorSince"
    FROM "Container" c
    JOIN "Pod" p ON p.id = c."podId" AND p."deletedAt" IS NULL
    JOIN "Namespace" n ON n.id = p."namespaceId"
    JOIN "Cluster" cl ON cl.id = p."clusterId"
    LEFT JOIN "Verdict" v ON v."containerId" = c.id
    WHERE TRUE
    GROUP BY c.id, cl.id, cl.name, cl."lastError", cl."lastErrorAt", n.id, n.name, c.digest`;

async function main() {
  const client = new pg.Client({ connectionString: process.argv[2]! });
  await client.connect();
  try {
    for (const [label, order, frac] of [["ORDER BY id, default fraction", "ORDER BY c.id", null], ["ORDER BY id, fraction 1", "ORDER BY c.id", "1"], ["no order, default", "", null], ["ORDER BY id, default fraction (again)", "ORDER BY c.id", null], ["ORDER BY id, fraction 1 (again)", "ORDER BY c.id", "1"]] as const) {
      await client.query("BEGIN");
      if (frac) await client.query(`SET LOCAL cursor_tuple_fraction = ${frac}`);
      const t0 = performance.now();
      await client.query(`DECLARE cur NO SCROLL CURSOR FOR ${SQL} ${order}`);
      let n = 0;
      for (;;) { const r = await client.query("FETCH FORWARD 5000 FROM cur"); n += r.rows.length; if (r.rows.length < 5000) break; }
      console.log(label, n, "rows", Math.round(performance.now() - t0), "ms");
      await client.query("ROLLBACK");
    }
    const plan = await client.query(`EXPLAIN ${SQL} ORDER BY c.id`);
    console.log(plan.rows.map((r) => r["QUERY PLAN"]).join("\n"));
  } finally {
    await client.end();
  }
}
void main();
