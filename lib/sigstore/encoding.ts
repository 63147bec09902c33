/** Small, strict decoding helpers shared by the parsers. Every failure is a MalformedError. */
import { createHash } from "node:crypto";
import type { z } from "zod";
import { LIMITS } from "./limits";

/** Untrusted input that cannot be parsed or is out of bounds. `field` names the input part. */
export class MalformedError extends Error {
  override readonly name = "MalformedError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const HEX = /^[0-9a-f]*$/;

/** Standard, padded base64 (whitespace tolerated: some old cosign captures contain "\n"). */
export function decodeBase64(value: string, field: string, maxBytes: number): Buffer {
  // Cheap bound before any copy: base64 is 4/3 of the bytes, plus tolerated line breaks.
  if (value.length > maxBytes * 2 + 1024) throw new MalformedError(field, "too large");
  const compact = value.replace(/[\r\n\t ]/g, "");
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) throw new MalformedError(field, "not base64");
  const out = Buffer.from(compact, "base64");
  if (out.length > maxBytes) throw new MalformedError(field, "too large");
  return out;
}

/** Lower-case hex of an exact byte length. */
export function decodeHex(value: string, field: string, bytes: number): Buffer {
  if (value.length !== bytes * 2 || !HEX.test(value)) throw new MalformedError(field, `not ${bytes}-byte lower-case hex`);
  return Buffer.from(value, "hex");
}

export function sha256(data: Buffer | string): Buffer {
  return createHash("sha256").update(data).digest();
}

export function sha256Hex(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** JSON.parse of bounded UTF-8 bytes. */
export function parseJson(input: Buffer | string, field: string, maxBytes: number): unknown {
  const size = typeof input === "string" ? Buffer.byteLength(input) : input.length;
  if (size > maxBytes) throw new MalformedError(field, "too large");
  try {
    return JSON.parse(typeof input === "string" ? input : input.toString("utf8"));
  } catch {
    throw new MalformedError(field, "not JSON");
  }
}

/**
 * Protobuf JSON (proto3 mapping): an object member whose value is `null` is an unset field, so it is
 * dropped before a schema sees it (sigstore's own trusted roots carry `"end": null`,
 * `"checkpointKeyId": null`). A null list element stays: a list element cannot be unset. Past `maxDepth`
 * values are returned as they are (no schema here reads that deep; keeps the recursion bounded).
 */
export function dropJsonNulls(value: unknown, maxDepth = 32): unknown {
  if (value === null || typeof value !== "object" || maxDepth <= 0) return value;
  if (Array.isArray(value)) return value.map((v) => dropJsonNulls(v, maxDepth - 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = dropJsonNulls(v, maxDepth - 1);
  return out;
}

/** zod parse that reports the first issue as a MalformedError. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, field: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const at = issue && issue.path.length ? `.${issue.path.map(String).join(".")}` : "";
  throw new MalformedError(`${field}${at}`, issue?.message ?? "invalid");
}

/** Truncate a string copied from untrusted input into the output. */
export function clip(value: string, max: number): string {
  return value.length > max ? value.slice(0, max) : value;
}

/**
 * A value a policy matches on (certificate identity, issuer, Fulcio extension, provenance field),
 * whole or not at all: a cut value would let an anchored pattern (`…@refs/heads/main$`) match the
 * prefix of a longer one. Longer than `max` is malformed.
 */
export function wholeFact(value: string, max: number, field: string): string {
  if (value.length > max) throw new MalformedError(field, `longer than ${max} characters (a value a policy matches is never cut)`);
  return value;
}

/** PEM blocks of one label, decoded to DER. */
export function decodePemBlocks(pem: string, label: string, field: string, maxBlocks: number): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*?)-----END ${label}-----`, "g");
  const blocks: Buffer[] = [];
  for (const match of pem.matchAll(re)) {
    if (blocks.length >= maxBlocks) throw new MalformedError(field, "too many PEM blocks");
    blocks.push(decodeBase64(match[1] ?? "", field, 64 * 1024));
  }
  return blocks;
}

/**
 * A copy of an untrusted JSON object small enough to store: at most 64 entries and LIMITS.recordChars of
 * JSON; strings are clipped, nested values kept only when small. Entries past the budget are dropped.
 */
export function boundedRecord(value: Record<string, unknown> | null | undefined): Record<string, unknown> | null {
  if (value === null || value === undefined || typeof value !== "object" || Array.isArray(value)) return null;
  const out: Record<string, unknown> = {};
  let budget = LIMITS.recordChars;
  for (const [key, v] of Object.entries(value).slice(0, 64)) {
    const k = clip(key, 256);
    let kept: unknown;
    if (typeof v === "string") kept = clip(v, 4096);
    else if (v === null || typeof v === "number" || typeof v === "boolean") kept = v;
    else {
      const json = JSON.stringify(v) ?? "";
      kept = json.length <= 4096 ? v : "[truncated]";
    }
    budget -= k.length + (JSON.stringify(kept) ?? "").length + 4;
    if (budget < 0) break;
    out[k] = kept;
  }
  return out;
}

/** A digest map ({sha256: hex, …}) small enough to store. */
export function boundedDigests(value: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value).slice(0, 4)) if (typeof v === "string") out[clip(k, 32)] = clip(v, 256);
  return out;
}
