import { NextResponse } from "next/server";
import { z } from "zod";
import { ApiError } from "@/lib/api/errors";
import { route } from "@/lib/api/route";
import { getDb } from "@/lib/db/client";
import { tufRefresh } from "@/lib/jobs/definitions/tuf";
import { sendFromWeb } from "@/lib/jobs/sender";

export const dynamic = "force-dynamic";

/** Asks the worker to refresh one TUF repository now (admin); the outcome shows on GET /api/trusted-roots. */
export const POST = route({ access: "admin", params: z.object({ name: z.string().min(1).max(63) }) }, async ({ params }) => {
  if (!(await getDb().tufRepository.findUnique({ where: { name: params.name }, select: { id: true } }))) throw new ApiError("not_found", `No TUF repository named ${params.name}.`);
  await sendFromWeb(tufRefresh, { repository: params.name });
  return NextResponse.json({ repository: params.name, enqueued: true }, { status: 202 });
});
