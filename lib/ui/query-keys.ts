/**
 * The query-key factory of the dashboard's TanStack Query hooks: one place that names every cached
 * read, so invalidations (after a policy save, a scan) reach every dependent query.
 */
export const queryKeys = {
  all: ["signet"] as const,
  images: (params: Record<string, string | number | undefined>) => ["signet", "images", params] as const,
  audit: (params: Record<string, string | undefined>) => ["signet", "audit", params] as const,
  auditChain: () => ["signet", "audit", "chain"] as const,
  scans: () => ["signet", "scans"] as const,
  scan: (id: string) => ["signet", "scans", id] as const,
  rejections: (params: Record<string, string | number | undefined>) => ["signet", "rejections", params] as const,
  policies: () => ["signet", "policies"] as const,
};
