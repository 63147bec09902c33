import "server-only";
import { randomUUID } from "node:crypto";
import type { Db } from "@/lib/db/client";

/**
 * One registry discovery per image across concurrent checks and processes (ADR 0012). A check about
 * to discover images claims them (one row per image in "ImageDiscoveryClaim", with an expiry); a check
 * that finds an image claimed by another waits until the claim is released (the holder stored its
 * evidence) or has expired (the holder died or is slower than the claim), then reuses what was stored
 * or claims the image itself. The claim is a row, not a held lock, so it costs no connection while the
 * holder talks to the registry.
 */
export const DISCOVERY_CLAIM_MS = 120_000;
const POLL_MS = 250;

export interface DiscoveryClaims {
  /** Claims the images not claimed live by another check; returns those now held by this one. */
  claim(imageIds: readonly string[]): Promise<Set<string>>;
  /** Waits while another check holds a live claim on the image (at most until that claim expires). */
  waitForOther(imageId: string): Promise<void>;
  /** Releases every claim this check holds (after its evidence is stored, or when it fails). */
  release(): Promise<void>;
}

export function discoveryClaims(db: Db, opts: { ttlMs?: number; pollMs?: number } = {}): DiscoveryClaims {
  const token = randomUUID();
  const ttlMs = opts.ttlMs ?? DISCOVERY_CLAIM_MS;
  const pollMs = opts.pollMs ?? POLL_MS;
  const held = new Set<string>();
  return {
    async claim(imageIds) {
      if (imageIds.length === 0) return new Set();
      // a new row, or one whose claim expired (taken over); a live claim of another check is left alone
      const rows = await db.$queryRaw<{ imageId: string }[]>`
        INSERT INTO "ImageDiscoveryClaim" ("imageId", token, "expiresAt")
        SELECT id, ${token}::uuid, now() + ${ttlMs}::float8 * interval '1 millisecond' FROM "Image" WHERE id = ANY(${[...imageIds]}::uuid[])
        ON CONFLICT ("imageId") DO UPDATE SET token = EXCLUDED.token, "expiresAt" = EXCLUDED."expiresAt"
          WHERE "ImageDiscoveryClaim"."expiresAt" <= now() OR "ImageDiscoveryClaim".token = EXCLUDED.token
        RETURNING "imageId"`;
      const got = new Set(rows.map((r) => r.imageId));
      for (const id of got) held.add(id);
      return got;
    },
    async waitForOther(imageId) {
      for (;;) {
        const live = await db.$queryRaw<{ ms: number }[]>`
          SELECT GREATEST(0, EXTRACT(EPOCH FROM ("expiresAt" - now())) * 1000)::float8 AS ms
          FROM "ImageDiscoveryClaim" WHERE "imageId" = ${imageId}::uuid AND "expiresAt" > now() AND token <> ${token}::uuid`;
        if (live.length === 0) return;
        await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(10, live[0]!.ms))));
      }
    },
    async release() {
      if (held.size === 0) return;
      const ids = [...held];
      held.clear();
      await db.$executeRaw`DELETE FROM "ImageDiscoveryClaim" WHERE "imageId" = ANY(${ids}::uuid[]) AND token = ${token}::uuid`;
    },
  };
}
