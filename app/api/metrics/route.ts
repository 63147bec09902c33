import { Registry } from "prom-client";
import { ApiError } from "@/lib/api/errors";
import { route } from "@/lib/api/route";
import { getDb } from "@/lib/db/client";
import { getEnv } from "@/lib/env";
import { databaseMetrics } from "@/lib/metrics/database";
import { enableProcessMetrics, metricsRegistry } from "@/lib/metrics/process";
import { authorizedScrape } from "@/lib/metrics/server";

export const dynamic = "force-dynamic";

/** Prometheus metrics: the fleet's from the database and this web process's (bearer SIGNET_METRICS_TOKEN when set). */
export const GET = route({ access: "public" }, async ({ req }) => {
  if (!authorizedScrape(req.headers.get("authorization"), getEnv().SIGNET_METRICS_TOKEN)) {
    throw new ApiError("unauthenticated", "A bearer token is required to read the metrics.");
  }
  enableProcessMetrics();
  const merged = Registry.merge([metricsRegistry, await databaseMetrics(getDb())]);
  return new Response(await merged.metrics(), { headers: { "content-type": merged.contentType, "cache-control": "no-store" } });
});
