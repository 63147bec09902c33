import pg from "pg";
async function main() {
  const c = new pg.Client({ connectionString: process.argv[2]! }); await c.connect();
  const r = await c.query(process.argv[3]!);
  console.log(r.rows.map((x) => Object.values(x).join(" | ")).join("\n"));
  await c.end();
}
void main();
