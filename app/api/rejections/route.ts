import { route } from "@/lib/api/route";
import { listRejections } from "@/lib/data/rejections";
import { getDb } from "@/lib/db/client";
import { rejectionQuery, rejectionsDto } from "@/lib/dto/dashboard";

export const dynamic = "force-dynamic";

/** Admission rejections with filters, paging and counts per day. */
export const GET = route({ access: "viewer", query: rejectionQuery, responses: { 200: rejectionsDto } }, async ({ query }) => listRejections(getDb(), query));
