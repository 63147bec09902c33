import { Registry } from "prom-client";
import { ApiError } from "@/lib/api/errors";
import { route } from "@/lib/api/route";
import { bearerMatches } from "@/lib/auth/bearer";
import { getSessionUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { getEnv } from "@/lib/env";
import { databaseMetrics } from "@/lib/metrics/database";
import { enableProcessMetrics, metricsRegistry } from "@/lib/metrics/process";

export const dynamic = "force-dynamic";

/**
 * Prometheus metrics: the fleet's from the database and this web process's. They name clusters and
 * the worst-covered namespaces, so they are never anonymous: a scraper sends the bearer
 * SIGNET_METRICS_TOKEN, a signed-in user (any role: the dashboard shows them the same) needs nothing
 * more. Without a configured token only signed-in users read them.
 */
export const GET = route({ access: "public" }, async ({ req }) => {
  const token = getEnv().SIGNET_METRICS_TOKEN;
  const scraper = token !== undefined && bearerMatches(req.headers.get("authorization"), [token]);
  if (!scraper && !(await getSessionUser(req.headers))) {
    throw new ApiError(
      "unauthenticated",
      token ? "A bearer token is required to read the metrics." : "Sign in to read the metrics, or set SIGNET_METRICS_TOKEN and scrape with it as a bearer token.",
    );
  }
  enableProcessMetrics();
  const merged = Registry.merge([metricsRegistry, await databaseMetrics(getDb())]);
  return new Response(await merged.metrics(), { headers: { "content-type": merged.contentType, "cache-control": "no-store" } });
});
