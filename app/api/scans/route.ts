import { z } from "zod";
import { NextResponse } from "next/server";
import { ApiError } from "@/lib/api/errors";
import { route } from "@/lib/api/route";
import { childLogger } from "@/lib/log";
import { listScans } from "@/lib/data/scans";
import { getDb } from "@/lib/db/client";
import { scanStart } from "@/lib/jobs/definitions/scan";
import { sendFromWeb } from "@/lib/jobs/sender";
import { createScan, MANUAL_TRIGGER } from "@/lib/scan/pipeline";
import { scanDto } from "@/lib/dto/read";

export const dynamic = "force-dynamic";

const log = childLogger("api-scans");

export const GET = route(
  { access: "viewer", query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }), responses: { 200: z.object({ scans: z.array(scanDto) }) } },
  async ({ query }) => ({ scans: await listScans(getDb(), query.limit) }),
);

/** "Scan now": a full scan, or one cluster's. The worker runs it; the response names the scan to poll. */
export const POST = route(
  { access: "admin", body: z.object({ cluster: z.string().trim().min(1).max(253).optional() }).strict(), responses: { 202: z.object({ scanId: z.uuid(), enqueued: z.boolean() }) } },
  async ({ body, user }) => {
    const db = getDb();
    if (body.cluster && !(await db.cluster.findUnique({ where: { name: body.cluster }, select: { id: true } }))) {
      throw new ApiError("not_found", `No cluster named ${body.cluster}.`);
    }
    const scanId = await createScan(db, { cluster: body.cluster, trigger: `${MANUAL_TRIGGER}${user.email}`.slice(0, 100) });
    let enqueued = true;
    try {
      await sendFromWeb(scanStart, { scanId });
    } catch (err) {
      // the scan row stands: the worker's sweep starts queued scans it finds (SIGNET_SWEEP_STALE_SECONDS)
      log.warn({ err, scanId }, "could not enqueue scan.start; the sweep will start the scan");
      enqueued = false;
    }
    return NextResponse.json({ scanId, enqueued }, { status: 202 });
  },
);
