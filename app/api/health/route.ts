import { NextResponse } from "next/server";
import { route } from "@/lib/api/route";
import { getDb } from "@/lib/db/client";
import { getEnv } from "@/lib/env";
import { checkHealth } from "@/lib/health/check";

export const dynamic = "force-dynamic";

/** 200 only when the database, the migrations and at least one worker are healthy; 503 otherwise. */
export const GET = route({ access: "public" }, async () => {
  const report = await checkHealth(getDb(), { staleSeconds: getEnv().SIGNET_HEARTBEAT_STALE_SECONDS });
  return NextResponse.json(report, { status: report.status === "ok" ? 200 : 503, headers: { "cache-control": "no-store" } });
});
