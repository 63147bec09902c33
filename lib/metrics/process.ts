import "server-only";
import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";
import { observeRegistryRequests } from "@/lib/metrics/registry-observer";

/**
 * Metrics this process counts as it works (Prometheus, prom-client): registry requests, image checks,
 * scan stages. The worker serves them on SIGNET_METRICS_PORT (lib/metrics/server.ts); the web serves
 * its own process's with the database-derived ones at /api/metrics (lib/metrics/database.ts).
 *
 * Cardinality is bounded: `registry` is the registry host, the first MAX_REGISTRIES distinct hosts a
 * process sees, then "other"; `status` is an HTTP status class or an error code of lib/registry/errors;
 * `result`, `stage` and `reason` come from closed sets. No image, digest, pod or user is ever a label.
 */
export const metricsRegistry = new Registry();

let defaults = false;
/** Node's process metrics (CPU, memory, event loop, GC) too: for processes that serve metrics, not the CLI. */
export function enableProcessMetrics(): void {
  if (defaults) return;
  defaults = true;
  collectDefaultMetrics({ register: metricsRegistry, prefix: "signet_" });
}

export const MAX_REGISTRIES = 50;
const registriesSeen = new Set<string>();

/** The registry label of a host: itself while fewer than MAX_REGISTRIES hosts were seen, then "other". */
export function registryLabel(host: string): string {
  const h = host.toLowerCase();
  if (registriesSeen.has(h)) return h;
  if (registriesSeen.size >= MAX_REGISTRIES) return "other";
  registriesSeen.add(h);
  return h;
}

/** "2xx", "4xx", … for HTTP statuses; error codes pass as they are (a closed set). */
export function statusLabel(status: number | string): string {
  return typeof status === "number" ? `${Math.floor(status / 100)}xx` : status;
}

export const registryRequests = new Counter({
  name: "signet_registry_requests_total",
  help: "Requests to OCI registries, by registry host and HTTP status class (or error code when no answer came)",
  labelNames: ["registry", "status"] as const,
  registers: [metricsRegistry],
});

export const registryRequestSeconds = new Histogram({
  name: "signet_registry_request_duration_seconds",
  help: "Latency of one registry request (headers and body), by registry host",
  labelNames: ["registry"] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [metricsRegistry],
});

observeRegistryRequests((host, status, seconds) => {
  const registry = registryLabel(host);
  registryRequests.inc({ registry, status: statusLabel(status) });
  registryRequestSeconds.observe({ registry }, seconds);
});

export const imageChecks = new Counter({
  name: "signet_image_checks_total",
  help: "Images checked by scans (discovery outcome: found, none, error)",
  labelNames: ["outcome"] as const,
  registers: [metricsRegistry],
});

export const scanStageSeconds = new Histogram({
  name: "signet_scan_stage_duration_seconds",
  help: "Duration of a scan's stages in this process (inventory, rejections, persist, resolve, queue) and of image-check batches (check)",
  labelNames: ["stage"] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  registers: [metricsRegistry],
});

export const scansFinished = new Counter({
  name: "signet_scans_finished_total",
  help: "Scans this process finalized, by final status",
  labelNames: ["status"] as const,
  registers: [metricsRegistry],
});

/** Reconciliations of followed clusters (lib/watch/cluster-watch.ts): result "clean" or "drift". */
export const watchReconciliations = new Counter({
  name: "signet_watch_reconciliations_total",
  help: "Periodic relists of a cluster this worker follows with a watch (SIGNET_WATCH_RECONCILE_MINUTES), by cluster and result: clean (the stored inventory was the cluster's) or drift (rows the watch had not written were found)",
  labelNames: ["cluster", "result"] as const,
  registers: [metricsRegistry],
});

/** Rows the reconciliations wrote: pods and containers new or different, pods found gone. */
export const watchDriftRows = new Counter({
  name: "signet_watch_drift_rows_total",
  help: "Pod and container rows a reconciliation of a followed cluster found different from what its watch had written (and pods found gone), by cluster; stays 0 while the watches are complete",
  labelNames: ["cluster"] as const,
  registers: [metricsRegistry],
});

export const scanDurationSeconds = new Histogram({
  name: "signet_scan_duration_seconds",
  help: "Duration of whole scans (queued to finished) finalized by this process",
  buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
  registers: [metricsRegistry],
});
