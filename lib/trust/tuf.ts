import "server-only";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { BaseFetcher, Updater } from "tuf-js";
import { DownloadHTTPError } from "tuf-js/dist/error.js";
import { z } from "zod";
import { LIMITS } from "@/lib/sigstore/limits";
import { parseTrustedRoot, type TrustRoot } from "@/lib/sigstore/trusted-root";

/**
 * One TUF refresh of a Sigstore trusted_root.json (tuf-js's Updater: root rotation, signature thresholds,
 * expiry, rollback and length checks). The client state lives in the database, not on disk: the trusted
 * metadata files go in, the updated ones come out, and the Updater works in a throw-away directory.
 * Every request goes through the fetch it is given (the egress guard in production).
 */

/** The fetch a refresh uses (createEgressFetch / adminUrlFetch have this shape). */
export type TufFetch = (url: string, init?: { signal?: AbortSignal }) => Promise<Response | import("undici").Response>;

/** Trusted metadata by file name; `root.json` is required (the initial or newest trusted root). */
export type TufMetadata = Record<string, string>;

const TOP_LEVEL = ["root.json", "timestamp.json", "snapshot.json", "targets.json"] as const;
export const TRUSTED_ROOT_TARGET = "trusted_root.json";
/** Largest TUF metadata file kept (the public-good targets.json is a few KiB). */
const METADATA_BYTES = 512 * 1024;

/** A refresh that did not produce a trusted root; `message` says why, for the page and the API. */
export class TufRefreshError extends Error {
  override readonly name = "TufRefreshError";
}

/** What a TUF root.json must look like before tuf-js is handed it (a readable error instead of a stack). */
const rootJsonSchema = z.object({
  signed: z
    .object({
      _type: z.literal("root"),
      version: z.number().int().min(1),
      expires: z.string().max(64),
      keys: z.record(z.string(), z.unknown()),
      roles: z.object({ root: z.unknown(), timestamp: z.unknown(), snapshot: z.unknown(), targets: z.unknown() }).loose(),
    })
    .loose(),
  signatures: z.array(z.unknown()).min(1).max(256),
});

/** Checks an initial TUF root.json (the trust anchor of a repository) and returns its version. */
export function checkTufRoot(text: string): { version: number } {
  if (Buffer.byteLength(text) > METADATA_BYTES) throw new TufRefreshError("the TUF root.json is larger than 512 KiB");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TufRefreshError("the TUF root.json is not JSON");
  }
  const parsed = rootJsonSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TufRefreshError(`the TUF root.json is not a TUF root: ${issue.path.join(".") || "(document)"}: ${issue.message}`);
  }
  return { version: parsed.data.signed.version };
}

class GuardedFetcher extends BaseFetcher {
  constructor(
    private readonly fetchFn: TufFetch,
    private readonly timeoutMs: number,
  ) {
    super();
  }

  override async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const res = await this.fetchFn(url, { signal: AbortSignal.timeout(this.timeoutMs) });
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      // tuf-js reads 403 / 404 on "<n+1>.root.json" as "no newer root": keep its error type
      throw new DownloadHTTPError(`GET ${url} answered ${res.status}`, res.status);
    }
    return res.body as ReadableStream<Uint8Array<ArrayBuffer>>;
  }
}

export interface TufRefreshInput {
  /** Repository base URL (metadata at <url>/<n>.root.json, timestamp.json …; targets at <url>/targets/). */
  mirrorUrl: string;
  metadata: TufMetadata;
  /** Id the resulting TrustRoot carries (the trusted root's name). */
  rootName: string;
  fetch: TufFetch;
  /** sha256 (hex) of the trusted_root.json already held: not downloaded again when the target still has it. */
  knownTargetSha256?: string | null;
  /** Per-request deadline (default 10 s). */
  requestTimeoutMs?: number;
}

export interface TufRefreshResult {
  metadata: TufMetadata;
  rootVersion: number;
  timestampVersion: number;
  /** Earliest expiry of the trusted top-level metadata. */
  expiresAt: Date;
  /** The new trusted root, or null when the target is unchanged (`knownTargetSha256`). */
  trustedRoot: { bytes: Buffer; root: TrustRoot } | null;
  targetSha256: string;
}

/** One line, with the cause undici hides behind "fetch failed" (refused, reset, egress refusal…). */
const message = (err: unknown) => {
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : "";
  return (err instanceof Error ? `${err.message}${cause}` : String(err)).replace(/\s+/g, " ").slice(0, 500);
};

/** Runs one TUF refresh; throws TufRefreshError with a readable reason (nothing is half-applied: the input is not changed). */
export async function refreshTuf(input: TufRefreshInput): Promise<TufRefreshResult> {
  const root = input.metadata["root.json"];
  if (!root) throw new TufRefreshError("no trusted TUF root.json");
  checkTufRoot(root);
  const base = input.mirrorUrl.replace(/\/+$/, "");
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "signet-tuf-"));
  try {
    for (const name of TOP_LEVEL) {
      const text = input.metadata[name];
      if (text !== undefined) await fs.writeFile(path.join(dir, name), text);
    }
    await fs.mkdir(path.join(dir, "targets"));
    let updater: Updater;
    try {
      updater = new Updater({
        metadataDir: dir,
        metadataBaseUrl: base,
        targetBaseUrl: `${base}/targets`,
        targetDir: path.join(dir, "targets"),
        fetcher: new GuardedFetcher(input.fetch, input.requestTimeoutMs ?? 10_000),
        config: { rootMaxLength: METADATA_BYTES, timestampMaxLength: 16 * 1024, snapshotMaxLength: METADATA_BYTES, targetsMaxLength: METADATA_BYTES },
      });
    } catch (err) {
      throw new TufRefreshError(`the trusted TUF root.json is unusable: ${message(err)}`);
    }
    let bytes: Buffer | null = null;
    let targetSha256: string;
    try {
      await updater.refresh();
      const info = await updater.getTargetInfo(TRUSTED_ROOT_TARGET);
      if (!info) throw new TufRefreshError(`the repository has no ${TRUSTED_ROOT_TARGET} target`);
      if (info.length > LIMITS.trustedRootBytes) throw new TufRefreshError(`${TRUSTED_ROOT_TARGET} is larger than ${LIMITS.trustedRootBytes} bytes`);
      targetSha256 = info.hashes.sha256 ?? "";
      if (!targetSha256 || targetSha256 !== input.knownTargetSha256) {
        bytes = await fs.readFile(await updater.downloadTarget(info, path.join(dir, "targets", TRUSTED_ROOT_TARGET)));
      }
    } catch (err) {
      if (err instanceof TufRefreshError) throw err;
      // tuf-js's errors all say "Error" in `name`; their class names the check that failed
      const kind = err instanceof Error && err.constructor.name !== "Error" ? err.constructor.name : (err as Error)?.name ?? "Error";
      throw new TufRefreshError(`TUF refresh from ${base} failed: ${kind}: ${message(err)}`);
    }
    const metadata: TufMetadata = {};
    for (const name of TOP_LEVEL) {
      try {
        metadata[name] = await fs.readFile(path.join(dir, name), "utf8");
      } catch {
        // only root.json is always there
      }
    }
    const signed = (name: string) => (JSON.parse(metadata[name] ?? "{}") as { signed?: { version?: number; expires?: string } }).signed ?? {};
    const expires = TOP_LEVEL.map((n) => signed(n).expires).filter((e): e is string => !!e).map((e) => new Date(e));
    let trustedRoot: TufRefreshResult["trustedRoot"] = null;
    if (bytes) {
      try {
        trustedRoot = { bytes, root: parseTrustedRoot(bytes, { id: input.rootName, source: "tuf" }) };
      } catch (err) {
        throw new TufRefreshError(`${TRUSTED_ROOT_TARGET} from ${base} is signed but unusable: ${message(err)}`);
      }
    }
    return {
      metadata,
      rootVersion: signed("root.json").version ?? 0,
      timestampVersion: signed("timestamp.json").version ?? 0,
      expiresAt: new Date(Math.min(...expires.map((d) => d.getTime()))),
      trustedRoot,
      targetSha256,
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
