import "server-only";
import type { Db } from "@/lib/db/client";
import type { Tx } from "@/lib/db/transaction";

/**
 * Cluster watch leases in PostgreSQL (docs/decisions/0012-cluster-watch-leases.md): one row per
 * cluster, held by one worker until `expiresAt`, renewed by it, taken over by another worker once it
 * expired. Every time comparison uses the database's clock (`now()`), never a worker's; each takeover
 * draws the next `token`, the fencing token that writes made on behalf of the watch check (`fenceLease`).
 */

/** A lease this process holds: the cluster, who holds it (a worker id) and its fencing token. */
export interface LeaseGrant {
  cluster: string;
  holder: string;
  token: bigint;
}

/** The lease named in a write is no longer the current one: another worker owns the cluster's watch. */
export class LeaseLostError extends Error {
  constructor(readonly grant: LeaseGrant) {
    super(`the watch lease of cluster ${grant.cluster} (token ${grant.token}) is no longer held by ${grant.holder}`);
    this.name = "LeaseLostError";
  }
}

/**
 * Takes the cluster's lease for `ttlMs` when nobody holds it, when it expired more than `graceMs` ago
 * (a worker that already holds leases waits a little longer, so that an idle worker takes over
 * first), or when `holder` itself held it. One statement: concurrent contenders serialize on the row
 * and at most one of them gets it. Returns the grant (with a new token) or null.
 */
export async function tryAcquireLease(db: Db, cluster: string, holder: string, ttlMs: number, graceMs = 0): Promise<LeaseGrant | null> {
  // FOR UPDATE first: the one row lock a fenced write's FOR KEY SHARE holds off (see fenceLease)
  const [, rows] = await db.$transaction([
    db.$executeRaw`SELECT 1 FROM "ClusterLease" WHERE "cluster" = ${cluster} FOR UPDATE`,
    db.$queryRaw<{ token: bigint }[]>`
    INSERT INTO "ClusterLease" ("cluster", "holder", "token", "acquiredAt", "renewedAt", "expiresAt")
    VALUES (${cluster}, ${holder}, 1, now(), now(), now() + ${ttlMs} * interval '1 millisecond')
    ON CONFLICT ("cluster") DO UPDATE SET
      "holder" = EXCLUDED."holder",
      "token" = "ClusterLease"."token" + 1,
      "acquiredAt" = now(),
      "renewedAt" = now(),
      "expiresAt" = EXCLUDED."expiresAt"
    WHERE "ClusterLease"."expiresAt" + ${graceMs} * interval '1 millisecond' < now()
       OR "ClusterLease"."holder" = EXCLUDED."holder"
    RETURNING "token"`,
  ]);
  const token = rows[0]?.token;
  return token === undefined ? null : { cluster, holder, token: BigInt(token) };
}

/**
 * Extends the lease by `ttlMs` from now, if it is still this grant's and has not expired. False: the
 * lease is lost (expired, or taken over with a newer token) and the watch must stop.
 */
export async function renewLease(db: Db, grant: LeaseGrant, ttlMs: number): Promise<boolean> {
  const n = await db.$executeRaw`
    UPDATE "ClusterLease" SET "renewedAt" = now(), "expiresAt" = now() + ${ttlMs} * interval '1 millisecond'
    WHERE "cluster" = ${grant.cluster} AND "holder" = ${grant.holder} AND "token" = ${grant.token} AND "expiresAt" > now()`;
  return n === 1;
}

/** Gives the lease up (a clean stop): it expires at once, so another worker takes the cluster over on its next try. */
export async function releaseLease(db: Db, grant: LeaseGrant): Promise<void> {
  await db.$executeRaw`
    UPDATE "ClusterLease" SET "expiresAt" = now() - interval '1 millisecond'
    WHERE "cluster" = ${grant.cluster} AND "holder" = ${grant.holder} AND "token" = ${grant.token}`;
}

/**
 * The fence of a write made on behalf of a cluster's watch: call it inside the write's transaction.
 * It throws LeaseLostError unless `grant` is still the cluster's current, unexpired lease, and holds a
 * key-share lock on the lease row until the transaction ends: a takeover (which locks the row FOR
 * UPDATE first) waits for this write to commit, so a worker that lost its lease during a network
 * partition cannot write after its successor started; the holder's own renewals (a plain UPDATE of
 * non-key columns) are not held up by a long write.
 */
export async function fenceLease(tx: Tx, grant: LeaseGrant): Promise<void> {
  const rows = await tx.$queryRaw<{ ok: number }[]>`
    SELECT 1 AS ok FROM "ClusterLease"
    WHERE "cluster" = ${grant.cluster} AND "holder" = ${grant.holder} AND "token" = ${grant.token} AND "expiresAt" > now()
    FOR KEY SHARE`;
  if (rows.length !== 1) throw new LeaseLostError(grant);
}

/** The current leases (for health pages and tests). */
export async function listLeases(db: Db): Promise<{ cluster: string; holder: string; token: bigint; expiresAt: Date; live: boolean }[]> {
  return db.$queryRaw`
    SELECT "cluster", "holder", "token", "expiresAt", ("expiresAt" > now()) AS "live" FROM "ClusterLease" ORDER BY "cluster"`;
}
