import { NextResponse } from "next/server";
import { route } from "@/lib/api/route";
import { getSessionUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { getEnv } from "@/lib/env";
import { checkHealth, processStartedAt, publicHealth, type HealthReport } from "@/lib/health/check";
import { childLogger } from "@/lib/log";

export const dynamic = "force-dynamic";

const log = childLogger("health");
let lastLogged: string | undefined;

/** The reasons of an unhealthy report go to the log once per change, not once per probe. */
function logChange(report: HealthReport): void {
  const summary = JSON.stringify(report.checks, (k, v: unknown) => (k === "lastBeatSecondsAgo" ? undefined : v));
  if (summary === lastLogged) return;
  lastLogged = summary;
  if (report.status === "ok") log.info("healthy");
  else log.warn({ checks: report.checks }, "unhealthy");
}

/**
 * 200 only when the database, the migrations and a worker that beat since this web server started are
 * healthy; 503 otherwise. Anyone sees the verdicts; counts, migration names and error text only a
 * signed-in user (and the log).
 */
export const GET = route({ access: "public" }, async ({ req }) => {
  const report = await checkHealth(getDb(), { staleSeconds: getEnv().SIGNET_HEARTBEAT_STALE_SECONDS, workersSince: processStartedAt() });
  logChange(report);
  const user = await getSessionUser(req.headers).catch(() => null);
  return NextResponse.json(user ? report : publicHealth(report), {
    status: report.status === "ok" ? 200 : 503,
    headers: { "cache-control": "private, no-store" },
  });
});
