/** RFC 4180 CSV: quotes fields that need it and neutralises spreadsheet formulas (a leading = + - @). */
export function csvField(value: unknown): string {
  let s = value === null || value === undefined ? "" : Array.isArray(value) ? value.join(" ") : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(values: readonly unknown[]): string {
  return values.map(csvField).join(",") + "\r\n";
}

/** A streamed text/csv download response from a header and an async iterable of rows. */
export function csvResponse(filename: string, header: readonly string[], rows: AsyncIterable<readonly unknown[]> | Iterable<readonly unknown[]>): Response {
  const enc = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      try {
        controller.enqueue(enc.encode(csvLine(header)));
        let buf = "";
        for await (const r of rows) {
          buf += csvLine(r);
          if (buf.length > 64_000) {
            controller.enqueue(enc.encode(buf));
            buf = "";
          }
        }
        if (buf) controller.enqueue(enc.encode(buf));
        controller.close();
      } catch (err) {
        controller.error(err);
      }
    },
  });
  return new Response(stream, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${filename}"`,
      "cache-control": "private, no-store",
    },
  });
}

/** A JSON download (attachment) response. */
export function jsonDownload(filename: string, body: unknown): Response {
  return new Response(JSON.stringify(body, null, 2), {
    headers: {
      "content-type": "application/json; charset=utf-8",
      "content-disposition": `attachment; filename="${filename}"`,
      "cache-control": "private, no-store",
    },
  });
}
