import { z } from "zod";

/**
 * Roles, ordered: admin ⊇ auditor ⊇ viewer.
 * - viewer: reads the dashboard
 * - auditor: also the audit log and exports
 * - admin: also changes policies, authorities, clusters, credentials, revocations and users
 * Shared by server and client code (pages hide what a role cannot do; the server enforces it).
 */
export const ROLES = ["viewer", "auditor", "admin"] as const;
export type Role = (typeof ROLES)[number];
export const roleSchema = z.enum(ROLES);

const RANK: Record<Role, number> = { viewer: 1, auditor: 2, admin: 3 };

export function hasRole(role: Role | null | undefined, needed: Role): boolean {
  return role !== null && role !== undefined && RANK[role] >= RANK[needed];
}

/** Parses `group=role,group=role` (validated by lib/env) into a map from group to role. */
export function parseRoleMap(spec: string | undefined): Map<string, Role> {
  const map = new Map<string, Role>();
  for (const pair of (spec ?? "").split(",")) {
    const at = pair.lastIndexOf("=");
    if (at <= 0) continue;
    const role = roleSchema.safeParse(pair.slice(at + 1).trim());
    if (role.success) map.set(pair.slice(0, at).trim(), role.data);
  }
  return map;
}

/** Groups as OIDC providers send them: an array of strings, or one string (space or comma separated). */
export function groupsFromClaim(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((g): g is string => typeof g === "string");
  if (typeof claim === "string") return claim.split(/[\s,]+/).filter(Boolean);
  return [];
}

/** The highest role any of the groups grants, else the fallback (`none` refuses sign-in). */
export function roleFromGroups(groups: string[], map: Map<string, Role>, fallback: Role | "none"): Role | "none" {
  let best: Role | undefined;
  for (const g of groups) {
    const r = map.get(g);
    if (r && (!best || RANK[r] > RANK[best])) best = r;
  }
  return best ?? fallback;
}
