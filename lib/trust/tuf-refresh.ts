import "server-only";
import { createRequire } from "node:module";
import { z } from "zod";
import type { Db } from "@/lib/db/client";
import { TX_ADMIN_TIMEOUT_MS, withTransaction } from "@/lib/db/transaction";
import type { Prisma } from "@/lib/generated/prisma/client";
import { childLogger } from "@/lib/log";
import { PUBLIC_GOOD_ID, PUBLIC_GOOD_MIRROR } from "@/lib/sigstore/trusted-root";
import { checkTufRoot, refreshTuf, TufRefreshError, type TufFetch, type TufMetadata } from "@/lib/trust/tuf";

/**
 * The worker's TUF refresh over the database (job tuf.refresh): each repository continues from its
 * stored trusted metadata; a success stores the new metadata and, when it changed, the trusted_root.json
 * (TrustedRoot of the same name, source "tuf"); a failure records why and leaves the last trusted root
 * in force, so verification goes on offline.
 */

const log = childLogger("tuf");

export interface TufRefreshOutcome {
  name: string;
  ok: boolean;
  rootVersion: number;
  /** The trusted_root.json changed (a new one is in force). */
  updated: boolean;
  error: string | null;
}

const metadataSchema = z.record(z.string(), z.string());

/** The public-good repository's initial root.json, as shipped in @sigstore/tuf's seeds.json. */
export function publicGoodTufRoot(): string {
  const seeds = createRequire(import.meta.url)("@sigstore/tuf/seeds.json") as Record<string, { "root.json"?: string }>;
  const b64 = seeds[PUBLIC_GOOD_MIRROR]?.["root.json"];
  if (!b64) throw new TufRefreshError("@sigstore/tuf seeds.json has no public-good root.json");
  return Buffer.from(b64, "base64").toString("utf8");
}

/** Creates the public-good repository row (from the bundled TUF root) if it is missing. */
export async function ensurePublicGoodRepository(db: Db): Promise<void> {
  if (await db.tufRepository.findUnique({ where: { name: PUBLIC_GOOD_ID } })) return;
  const rootJson = publicGoodTufRoot();
  await db.tufRepository.createMany({
    data: [{ name: PUBLIC_GOOD_ID, mirrorUrl: PUBLIC_GOOD_MIRROR, metadata: { "root.json": rootJson }, rootVersion: checkTufRoot(rootJson).version, createdBy: "signet" }],
    skipDuplicates: true,
  });
}

/** Refreshes one repository by name; never throws for a refresh failure (it is recorded and returned). */
export async function refreshTufRepository(db: Db, name: string, fetchFor: (mirrorUrl: string) => TufFetch, now = () => new Date()): Promise<TufRefreshOutcome> {
  const repo = await db.tufRepository.findUnique({ where: { name } });
  if (!repo) return { name, ok: false, rootVersion: 0, updated: false, error: "no such repository" };
  const stored = await db.trustedRoot.findUnique({ where: { name }, select: { sha256: true, source: true } });
  const attemptedAt = now();
  try {
    const metadata = metadataSchema.parse(repo.metadata) as TufMetadata;
    const result = await refreshTuf({
      mirrorUrl: repo.mirrorUrl,
      metadata,
      rootName: name,
      fetch: fetchFor(repo.mirrorUrl),
      knownTargetSha256: stored?.source === "tuf" ? stored.sha256 : null,
    });
    await withTransaction(db, async (tx) => {
      await tx.tufRepository.update({
        where: { id: repo.id },
        data: {
          metadata: result.metadata,
          rootVersion: result.rootVersion,
          timestampVersion: result.timestampVersion,
          expiresAt: result.expiresAt,
          lastAttemptAt: attemptedAt,
          lastSuccessAt: attemptedAt,
          lastError: null,
        },
      });
      if (result.trustedRoot) {
        const document = JSON.parse(result.trustedRoot.bytes.toString("utf8")) as Prisma.InputJsonValue;
        const data = { document, source: "tuf", sha256: result.trustedRoot.root.sha256, fetchedAt: attemptedAt };
        await tx.trustedRoot.upsert({ where: { name }, create: { name, createdBy: "tuf", ...data }, update: data });
      } else {
        await tx.trustedRoot.updateMany({ where: { name, source: "tuf" }, data: { fetchedAt: attemptedAt } });
      }
    }, { timeout: TX_ADMIN_TIMEOUT_MS });
    log.info({ repository: name, rootVersion: result.rootVersion, updated: !!result.trustedRoot }, "TUF refresh done");
    return { name, ok: true, rootVersion: result.rootVersion, updated: !!result.trustedRoot, error: null };
  } catch (err) {
    const error = (err instanceof TufRefreshError || err instanceof z.ZodError ? err.message : `TUF refresh failed: ${(err as Error).message}`).slice(0, 1000);
    await db.tufRepository.update({ where: { id: repo.id }, data: { lastAttemptAt: attemptedAt, lastError: error } });
    log.warn({ repository: name, err: error }, "TUF refresh failed; the last trusted root stays in force");
    return { name, ok: false, rootVersion: repo.rootVersion, updated: false, error };
  }
}

/** Refreshes every repository (the public-good one created first when `publicGood`, and skipped when not). */
export async function refreshAllTufRepositories(db: Db, opts: { publicGood: boolean; fetchFor: (mirrorUrl: string) => TufFetch; now?: () => Date }): Promise<TufRefreshOutcome[]> {
  if (opts.publicGood) await ensurePublicGoodRepository(db);
  const repos = await db.tufRepository.findMany({ select: { name: true, mirrorUrl: true }, orderBy: { name: "asc" } });
  const out: TufRefreshOutcome[] = [];
  for (const r of repos) {
    // the public mirror is not contacted when the operator turned the public-good refresh off
    if (r.mirrorUrl === PUBLIC_GOOD_MIRROR && !opts.publicGood) continue;
    out.push(await refreshTufRepository(db, r.name, opts.fetchFor, opts.now));
  }
  return out;
}
