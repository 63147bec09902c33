// A second Signet instance that signs exports (as another web replica does), for tests: a tiny HTTP
// server on 127.0.0.1 whose every answer is `signedExport` of the request's `text` parameter, through
// the real export key of the database in DATABASE_URL. Prints {"port":N} on stdout once listening.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { getDb } from "@/lib/db/client";
import { signedExport } from "@/lib/exports/download";

const db = getDb();

const server = http.createServer((req, res) => {
  const text = new URL(req.url ?? "/", "http://127.0.0.1").searchParams.get("text") ?? "";
  signedExport(db, { filename: "export.csv", contentType: "text/csv; charset=utf-8" }, (sink) => sink.write(text))
    .then(async (answer) => {
      const body = Buffer.from(await answer.arrayBuffer());
      res.writeHead(answer.status, Object.fromEntries(answer.headers));
      res.end(body);
    })
    .catch((err: unknown) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end((err as Error).message);
    });
});

server.listen(0, "127.0.0.1", () => process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`));
for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => server.close(() => void db.$disconnect().finally(() => process.exit(0))));
