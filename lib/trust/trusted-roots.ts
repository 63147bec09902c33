import "server-only";
import { ApiError } from "@/lib/api/errors";
import { appendAuditEvents } from "@/lib/audit/store";
import type { Db } from "@/lib/db/client";
import { TX_ADMIN_TIMEOUT_MS, withTransaction } from "@/lib/db/transaction";
import type { Prisma } from "@/lib/generated/prisma/client";
import { childLogger } from "@/lib/log";
import { loadPublicGoodTrustRoot, parseTrustedRoot, PUBLIC_GOOD_ID, TrustRootError, type TrustRoot } from "@/lib/sigstore/trusted-root";
import { loadFleetPolicies } from "@/lib/trust/load-fleet";
import { checkTufRoot, TufRefreshError } from "@/lib/trust/tuf";

/**
 * Trusted roots managed by the server: custom trusted_root.json files added by an administrator, and
 * TUF repositories (the public-good one and private ones) whose trusted_root.json the worker refreshes
 * (lib/jobs/definitions/tuf.ts). Policies name a root in `keyless.trustedRoot`. The roots in force are
 * what the database holds; "public-good" falls back to the root bundled with Signet until a refresh
 * stored one.
 */

const log = childLogger("trusted-roots");

/** Root and repository names: what policies write in `keyless.trustedRoot`. */
export const TRUSTED_ROOT_NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

export interface TrustedRootDto {
  name: string;
  /** "bundled" (shipped with Signet, no refresh stored yet), "file" (added by an administrator) or "tuf". */
  source: "bundled" | "file" | "tuf";
  sha256: string | null;
  mediaType: string | null;
  fetchedAt: string | null;
  createdAt: string | null;
  createdBy: string | null;
  /** What it holds, for the page: how many of each kind, and each of them (the list behind a count). */
  counts: Record<TrustRootPart, number>;
  entries: Record<TrustRootPart, TrustRootEntryDto[]>;
  /** Why the stored document cannot be used (it is skipped in verification), or null. */
  problem: string | null;
  /** Policies whose keyless authorities name this root. */
  policies: string[];
  tuf: TufRepositoryDto | null;
}

/** The kinds of trust material a trusted root holds. */
export const TRUST_ROOT_PARTS = ["certificateAuthorities", "tlogs", "ctlogs", "timestampAuthorities"] as const;
export type TrustRootPart = (typeof TRUST_ROOT_PARTS)[number];

/** One CA, log or timestamp authority of a trusted root: who (subject or URL) and when it is valid. */
export interface TrustRootEntryDto {
  name: string;
  validFrom: string | null;
  validTo: string | null;
}

export interface TufRepositoryDto {
  mirrorUrl: string;
  rootVersion: number;
  timestampVersion: number | null;
  expiresAt: string | null;
  lastAttemptAt: string | null;
  lastSuccessAt: string | null;
  lastError: string | null;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

function describe(root: TrustRoot | null) {
  const r = root?.root;
  const range = (v: { start?: Date; end?: Date } | undefined) => ({ validFrom: iso(v?.start), validTo: iso(v?.end) });
  const ca = (a: { subject?: { organization: string; commonName: string }; uri: string; validFor?: { start?: Date; end?: Date } }): TrustRootEntryDto => ({
    name: [a.subject?.commonName, a.subject?.organization, a.uri].filter(Boolean).join(" · ") || "(unnamed)",
    ...range(a.validFor),
  });
  const tlog = (l: { baseUrl: string; publicKey?: { validFor?: { start?: Date; end?: Date } } }): TrustRootEntryDto => ({ name: l.baseUrl, ...range(l.publicKey?.validFor) });
  const entries: Record<TrustRootPart, TrustRootEntryDto[]> = {
    certificateAuthorities: (r?.certificateAuthorities ?? []).map(ca),
    tlogs: (r?.tlogs ?? []).map(tlog),
    ctlogs: (r?.ctlogs ?? []).map(tlog),
    timestampAuthorities: (r?.timestampAuthorities ?? []).map(ca),
  };
  return {
    mediaType: root?.mediaType ?? null,
    counts: Object.fromEntries(TRUST_ROOT_PARTS.map((k) => [k, entries[k].length])) as Record<TrustRootPart, number>,
    entries,
  };
}

/** A stored root; its sha256 is that of the bytes as received (the JSON column does not keep them). */
function parseStored(row: { name: string; document: unknown; source: string; sha256: string | null }): TrustRoot {
  const root = parseTrustedRoot(JSON.stringify(row.document), { id: row.name, source: row.source === "tuf" ? "tuf" : "file" });
  return row.sha256 ? { ...root, sha256: row.sha256 } : root;
}

/**
 * The trusted roots verification uses now: every stored root that parses, and the bundled public-good
 * root unless a stored "public-good" (refreshed through TUF) replaces it. Unusable stored roots are
 * logged and skipped (a root that cannot be read trusts nothing).
 */
export async function loadTrustRootsInForce(db: Db): Promise<TrustRoot[]> {
  const rows = await db.trustedRoot.findMany({ orderBy: { name: "asc" } });
  const roots: TrustRoot[] = [];
  for (const r of rows) {
    try {
      roots.push(parseStored(r));
    } catch (err) {
      log.error({ trustedRoot: r.name, err: (err as Error).message }, "stored trusted root is unusable; skipped");
    }
  }
  if (!roots.some((r) => r.id === PUBLIC_GOOD_ID)) roots.unshift(loadPublicGoodTrustRoot());
  return roots;
}

/** Every trusted root, with where it came from, the policies that name it and its TUF refresh outcome. */
export async function listTrustedRoots(db: Db): Promise<TrustedRootDto[]> {
  const [rows, repos, policies] = await Promise.all([db.trustedRoot.findMany({ orderBy: { name: "asc" } }), db.tufRepository.findMany(), loadFleetPolicies(db)]);
  const users = new Map<string, string[]>();
  for (const p of policies) {
    for (const name of new Set(p.spec.authorities.flatMap((a) => (a.keyless ? [a.keyless.trustedRoot] : [])))) users.set(name, [...(users.get(name) ?? []), p.name]);
  }
  const tufOf = new Map(repos.map((r) => [r.name, r]));
  const tufDto = (name: string): TufRepositoryDto | null => {
    const r = tufOf.get(name);
    return r
      ? {
          mirrorUrl: r.mirrorUrl,
          rootVersion: r.rootVersion,
          timestampVersion: r.timestampVersion,
          expiresAt: iso(r.expiresAt),
          lastAttemptAt: iso(r.lastAttemptAt),
          lastSuccessAt: iso(r.lastSuccessAt),
          lastError: r.lastError,
        }
      : null;
  };
  const out: TrustedRootDto[] = rows.map((r) => {
    let root: TrustRoot | null = null;
    let problem: string | null = null;
    try {
      root = parseStored(r);
    } catch (err) {
      problem = (err as Error).message;
    }
    return {
      name: r.name,
      source: r.source === "tuf" ? "tuf" : "file",
      sha256: r.sha256 ?? root?.sha256 ?? null,
      ...describe(root),
      fetchedAt: iso(r.fetchedAt),
      createdAt: iso(r.createdAt),
      createdBy: r.createdBy,
      problem,
      policies: users.get(r.name) ?? [],
      tuf: tufDto(r.name),
    };
  });
  if (!rows.some((r) => r.name === PUBLIC_GOOD_ID)) {
    const seed = loadPublicGoodTrustRoot();
    out.unshift({ name: PUBLIC_GOOD_ID, source: "bundled", sha256: seed.sha256, ...describe(seed), fetchedAt: null, createdAt: null, createdBy: null, problem: null, policies: users.get(PUBLIC_GOOD_ID) ?? [], tuf: tufDto(PUBLIC_GOOD_ID) });
  }
  // a repository added but never refreshed successfully has no root yet: list it with its outcome
  for (const r of repos) {
    if (out.some((o) => o.name === r.name)) continue;
    out.push({ name: r.name, source: "tuf", sha256: null, ...describe(null), fetchedAt: null, createdAt: iso(r.createdAt), createdBy: r.createdBy, problem: "not refreshed yet", policies: users.get(r.name) ?? [], tuf: tufDto(r.name) });
  }
  return out;
}

function checkName(name: string) {
  if (!TRUSTED_ROOT_NAME.test(name)) throw new ApiError("bad_request", "A trusted root name is 1-63 lower-case letters, digits, '.', '_' or '-', starting and ending with a letter or digit.");
}

/**
 * Adds a custom trusted_root.json (validated strictly: schema, sizes, decodable keys and certificates).
 * "public-good" is reserved for the refreshed public-good root.
 */
export async function addTrustedRoot(db: Db, input: { name: string; document: unknown }, actor: string): Promise<TrustedRootDto> {
  checkName(input.name);
  if (input.name === PUBLIC_GOOD_ID) throw new ApiError("conflict", `"${PUBLIC_GOOD_ID}" is the Sigstore public-good root, refreshed through TUF; choose another name.`);
  const text = JSON.stringify(input.document);
  let root: TrustRoot;
  try {
    root = parseTrustedRoot(text, { id: input.name, source: "file" });
  } catch (err) {
    throw new ApiError("bad_request", err instanceof TrustRootError ? err.message : "invalid trusted root");
  }
  await withTransaction(db, async (tx) => {
    if (await tx.trustedRoot.findUnique({ where: { name: input.name } })) throw new ApiError("conflict", `A trusted root named ${input.name} exists.`);
    if (await tx.tufRepository.findUnique({ where: { name: input.name } })) throw new ApiError("conflict", `A TUF repository named ${input.name} exists.`);
    await tx.trustedRoot.create({ data: { name: input.name, document: JSON.parse(text) as Prisma.InputJsonValue, source: "file", sha256: root.sha256, createdBy: actor } });
    await appendAuditEvents(tx, [{ kind: "admin", actor, details: { action: "trusted-root.add", name: input.name, sha256: root.sha256 } }]);
  }, { timeout: TX_ADMIN_TIMEOUT_MS });
  return (await listTrustedRoots(db)).find((r) => r.name === input.name)!;
}

async function refuseInUse(db: Db, name: string) {
  const using = (await loadFleetPolicies(db)).filter((p) => p.spec.authorities.some((a) => a.keyless?.trustedRoot === name)).map((p) => p.name);
  if (using.length) throw new ApiError("conflict", `Trusted root ${name} is named by policies ${using.join(", ")}; change them first.`, { policies: using });
}

/** Removes a custom root (or a TUF repository and its root). Refused while an active policy names it. */
export async function removeTrustedRoot(db: Db, name: string, actor: string): Promise<void> {
  const [row, repo] = await Promise.all([db.trustedRoot.findUnique({ where: { name } }), db.tufRepository.findUnique({ where: { name } })]);
  if (!row && !repo) throw new ApiError("not_found", `No trusted root named ${name}.`);
  // without its stored root, "public-good" falls back to the bundled one: never a policy left without a root
  if (name !== PUBLIC_GOOD_ID) await refuseInUse(db, name);
  await withTransaction(db, async (tx) => {
    await tx.trustedRoot.deleteMany({ where: { name } });
    await tx.tufRepository.deleteMany({ where: { name } });
    await appendAuditEvents(tx, [{ kind: "admin", actor, details: { action: "trusted-root.remove", name, tuf: !!repo } }]);
  }, { timeout: TX_ADMIN_TIMEOUT_MS });
}

/** Adds a TUF repository (mirror URL + initial root.json); the worker's tuf.refresh job fetches its trusted_root.json. */
export async function addTufRepository(db: Db, input: { name: string; mirrorUrl: string; rootJson: string }, actor: string): Promise<void> {
  checkName(input.name);
  let version: number;
  try {
    ({ version } = checkTufRoot(input.rootJson));
  } catch (err) {
    throw new ApiError("bad_request", err instanceof TufRefreshError ? err.message : "invalid TUF root.json");
  }
  await withTransaction(db, async (tx) => {
    if (await tx.tufRepository.findUnique({ where: { name: input.name } })) throw new ApiError("conflict", `A TUF repository named ${input.name} exists.`);
    if (await tx.trustedRoot.findUnique({ where: { name: input.name } })) throw new ApiError("conflict", `A trusted root named ${input.name} exists.`);
    await tx.tufRepository.create({ data: { name: input.name, mirrorUrl: input.mirrorUrl.replace(/\/+$/, ""), metadata: { "root.json": input.rootJson }, rootVersion: version, createdBy: actor } });
    await appendAuditEvents(tx, [{ kind: "admin", actor, details: { action: "tuf-repository.add", name: input.name, mirrorUrl: input.mirrorUrl, rootVersion: version } }]);
  }, { timeout: TX_ADMIN_TIMEOUT_MS });
}
