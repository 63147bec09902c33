import "server-only";
import type { Db } from "@/lib/db/client";
import { getExportSigner } from "@/lib/exports/signing-key";
import { csvLine } from "@/lib/ui/csv";

/**
 * Every export Signet serves (CSV, JSON, PDF) goes out through `signedDownload`: the exact bytes of the
 * body are signed with the export key, and the detached signature travels in response headers:
 *
 *   X-Signet-Signature       base64 DER ECDSA P-256 signature over SHA-256 of the body
 *                            (`cosign verify-blob --key signet-export.pub --signature <it> <file>`)
 *   X-Signet-Signature-Key   the export key's fingerprint (sha256 of its SubjectPublicKeyInfo, hex)
 *
 * The Exports and Audit pages save it next to the file as `<file>.sig`; the public key is served by
 * GET /api/exports/public-key. The body is built in memory to be signed (exports are capped).
 */
export const SIGNATURE_HEADER = "x-signet-signature";
export const SIGNATURE_KEY_HEADER = "x-signet-signature-key";

export async function signedDownload(db: Db, o: { filename: string; contentType: string; body: Uint8Array }): Promise<Response> {
  const signer = await getExportSigner(db);
  const signature = signer.sign(o.body);
  return new Response(new Uint8Array(o.body), {
    headers: {
      "content-type": o.contentType,
      "content-disposition": `attachment; filename="${o.filename}"`,
      "content-length": String(o.body.byteLength),
      "cache-control": "private, no-store",
      [SIGNATURE_HEADER]: signature,
      [SIGNATURE_KEY_HEADER]: signer.fingerprint,
      "access-control-expose-headers": `${SIGNATURE_HEADER}, ${SIGNATURE_KEY_HEADER}`,
    },
  });
}

/** RFC 4180 CSV bytes from a header and rows (formula-neutralised fields, lib/ui/csv). */
export async function csvBytes(header: readonly string[], rows: AsyncIterable<readonly unknown[]> | Iterable<readonly unknown[]>): Promise<Buffer> {
  const parts: Buffer[] = [Buffer.from(csvLine(header), "utf8")];
  let buf = "";
  for await (const r of rows) {
    buf += csvLine(r);
    if (buf.length > 64_000) {
      parts.push(Buffer.from(buf, "utf8"));
      buf = "";
    }
  }
  if (buf) parts.push(Buffer.from(buf, "utf8"));
  return Buffer.concat(parts);
}

export function signedCsv(db: Db, filename: string, header: readonly string[], rows: AsyncIterable<readonly unknown[]> | Iterable<readonly unknown[]>): Promise<Response> {
  return csvBytes(header, rows).then((body) => signedDownload(db, { filename, contentType: "text/csv; charset=utf-8", body }));
}

export function signedJson(db: Db, filename: string, value: unknown): Promise<Response> {
  return signedDownload(db, { filename, contentType: "application/json; charset=utf-8", body: Buffer.from(JSON.stringify(value, null, 2), "utf8") });
}
