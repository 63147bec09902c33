import { route } from "@/lib/api/route";
import { getDb } from "@/lib/db/client";
import { complianceQuery } from "@/lib/dto/dashboard";
import { complianceExport } from "@/lib/exports/compliance";

export const dynamic = "force-dynamic";

/**
 * Compliance report for a time range and scope: evidence per running digest and policy, as CSV or JSON
 * (auditors); read from one snapshot page by page, written as it is read, signed with the export key
 * (`limit`: the first rows only, for the Exports page's preview; the summary counts every row).
 */
export const GET = route({ access: "auditor", query: complianceQuery }, async ({ query }) => complianceExport(getDb(), query));
