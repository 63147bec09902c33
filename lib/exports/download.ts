import "server-only";
import { createHash, randomBytes, type Hash } from "node:crypto";
import { open, unlink, type FileHandle } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { ApiError } from "@/lib/api/errors";
import type { Db } from "@/lib/db/client";
import { getExportSigner, type ExportSigner, type StreamingSignature } from "@/lib/exports/signing-key";
import { csvLine } from "@/lib/ui/csv";

/**
 * Every export Signet serves (CSV, JSON, PDF) goes out through `signedExport` (docs/decisions/0015):
 * the export is written piece by piece (rows read from PostgreSQL page by page) into a spool file
 * while the bytes are hashed and signed; then the spool is served, with the detached signature of
 * exactly those bytes in the response headers:
 *
 *   X-Signet-Signature       base64 DER ECDSA P-256 signature over SHA-256 of the body
 *                            (`cosign verify-blob --key signet-export.pub --signature <it> <file>`)
 *   X-Signet-Signature-Key   the export key's fingerprint (sha256 of its SubjectPublicKeyInfo, hex)
 *   X-Signet-Export-Sha256   sha256 of the body, hex
 *   Link                     the public key: </api/exports/public-key?fingerprint=…>; rel="signet-export-key"
 *
 * Memory stays bounded (one write buffer, whatever the export's size); the spool is bounded by
 * EXPORT_MAX_BYTES, readable by this process only (0600), and unlinked as soon as it is opened, so
 * it disappears with its file descriptor when the download ends, is aborted, or the process dies.
 * The Exports, Images and Audit pages save the file and `<file>.sig`; `curl -D-` users take the header.
 */
export const SIGNATURE_HEADER = "x-signet-signature";
export const SIGNATURE_KEY_HEADER = "x-signet-signature-key";
export const SHA256_HEADER = "x-signet-export-sha256";

/** Largest export Signet writes (2 GiB): beyond it the request is refused and asked to narrow its scope. */
export const EXPORT_MAX_BYTES = 2 * 1024 ** 3;
/** Written bytes are held in memory up to this size, then hashed, signed and appended to the spool. */
const FLUSH_BYTES = 256 * 1024;

/** Where an export writes its bytes. */
export interface ExportSink {
  write(chunk: string | Uint8Array): Promise<void>;
  /** Discards everything written so far (a snapshot transaction that runs again writes it anew). */
  reset(): Promise<void>;
}

class Spool implements ExportSink {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;
  private signature!: StreamingSignature;
  private hash!: Hash;

  private constructor(
    private readonly fh: FileHandle,
    private readonly signer: ExportSigner,
    private readonly maxBytes: number,
  ) {
    this.restart();
  }

  static async open(signer: ExportSigner, maxBytes: number): Promise<Spool> {
    const file = path.join(os.tmpdir(), `signet-export-${randomBytes(12).toString("hex")}`);
    const fh = await open(file, "wx+", 0o600);
    // the open descriptor keeps the file; no name is left behind whatever happens next
    await unlink(file).catch(async (err: unknown) => {
      await fh.close();
      throw err;
    });
    return new Spool(fh, signer, maxBytes);
  }

  private restart(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.written = 0;
    this.signature = this.signer.start();
    this.hash = createHash("sha256");
  }

  async write(chunk: string | Uint8Array): Promise<void> {
    const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (buf.byteLength === 0) return;
    if (this.written + this.pendingBytes + buf.byteLength > this.maxBytes) {
      throw new ApiError("validation_failed", `The export would be larger than ${this.maxBytes} bytes: narrow its scope or period.`);
    }
    // a caller's buffer may be reused after this call returns: keep a copy
    this.pending.push(typeof chunk === "string" ? buf : Buffer.from(buf));
    this.pendingBytes += buf.byteLength;
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  async reset(): Promise<void> {
    this.restart();
    await this.fh.truncate(0);
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.signature.update(buf);
    this.hash.update(buf);
    let off = 0;
    while (off < buf.byteLength) {
      const { bytesWritten } = await this.fh.write(buf, off, buf.byteLength - off, this.written + off);
      off += bytesWritten;
    }
    this.written += buf.byteLength;
  }

  /** Flushes and signs: the signature, digest and size of every byte the reader will give. */
  async finish(): Promise<{ signature: string; sha256: string; size: number }> {
    await this.flush();
    return { signature: this.signature.sign(), sha256: this.hash.digest("hex"), size: this.written };
  }

  /** The spool from its first byte; the descriptor closes when the stream ends or is cancelled. */
  body(): ReadableStream<Uint8Array> {
    return Readable.toWeb(this.fh.createReadStream({ start: 0, autoClose: true })) as ReadableStream<Uint8Array>;
  }

  async discard(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

/**
 * Writes an export with `produce`, signs exactly its bytes with the current export key, and serves
 * them with the signature. `produce` reads its data in pages (or from one snapshot: lib/db/snapshot.ts)
 * and writes as it goes; it may call `sink.reset()` to start over.
 */
export async function signedExport(
  db: Db,
  o: { filename: string; contentType: string; maxBytes?: number },
  produce: (sink: ExportSink) => Promise<void>,
): Promise<Response> {
  const signer = await getExportSigner(db);
  const spool = await Spool.open(signer, o.maxBytes ?? EXPORT_MAX_BYTES);
  let served = false;
  try {
    await produce(spool);
    const { signature, sha256, size } = await spool.finish();
    const res = new Response(spool.body(), {
      headers: {
        "content-type": o.contentType,
        "content-disposition": `attachment; filename="${o.filename}"`,
        "content-length": String(size),
        "cache-control": "private, no-store",
        [SIGNATURE_HEADER]: signature,
        [SIGNATURE_KEY_HEADER]: signer.fingerprint,
        [SHA256_HEADER]: sha256,
        link: `</api/exports/public-key?fingerprint=${signer.fingerprint}>; rel="signet-export-key"`,
        "access-control-expose-headers": `${SIGNATURE_HEADER}, ${SIGNATURE_KEY_HEADER}, ${SHA256_HEADER}, link`,
      },
    });
    served = true;
    return res;
  } finally {
    if (!served) await spool.discard();
  }
}

/** Writes RFC 4180 CSV (formula-neutralised fields, lib/ui/csv): the header, then each row as it arrives. */
export async function writeCsv(sink: ExportSink, header: readonly string[], rows: AsyncIterable<readonly unknown[]> | Iterable<readonly unknown[]>): Promise<void> {
  await sink.write(csvLine(header));
  for await (const r of rows) await sink.write(csvLine(r));
}

/** A signed CSV export of rows read as they are written. */
export function signedCsv(db: Db, filename: string, header: readonly string[], rows: () => AsyncIterable<readonly unknown[]>): Promise<Response> {
  return signedExport(db, { filename, contentType: "text/csv; charset=utf-8" }, (sink) => writeCsv(sink, header, rows()));
}

/**
 * Writes a JSON object whose last member is a long array, element by element:
 * `{ ...head, "<key>": [ item, item, ... ], ...tail }` (the tail is asked for once the items are written).
 */
export async function writeJsonWithArray<T>(
  sink: ExportSink,
  head: Record<string, unknown>,
  key: string,
  items: AsyncIterable<T>,
  tail: () => Record<string, unknown> = () => ({}),
): Promise<void> {
  const members = (o: Record<string, unknown>) => Object.entries(o).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v, null, 2).replace(/\n/g, "\n  ")}`);
  const open = members(head);
  await sink.write(`{\n${open.map((m) => `${m},\n`).join("")}  ${JSON.stringify(key)}: [`);
  let first = true;
  for await (const item of items) {
    await sink.write(`${first ? "" : ","}\n    ${JSON.stringify(item)}`);
    first = false;
  }
  const close = members(tail());
  await sink.write(`${first ? "" : "\n  "}]${close.map((m) => `,\n${m}`).join("")}\n}\n`);
}
