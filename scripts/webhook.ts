// Admission webhook process entry (`npm run webhook`, the container image's `webhook` command): Signet's
// validating admission webhook over HTTPS (lib/admission), answered from the verified store, in its own
// small process so that the API server's calls never queue behind pages or scans (docs/decisions/0014).
import { AdmissionAnswerer } from "@/lib/admission/answer";
import { AdmissionRecorder } from "@/lib/admission/record";
import { serveAdmission } from "@/lib/admission/server";
import { getDb } from "@/lib/db/client";
import { checkDatabase, DatabaseUnavailableError } from "@/lib/db/preflight";
import { EnvError, getEnv } from "@/lib/env";
import { getLogger } from "@/lib/log";
import { createScanAdapters } from "@/lib/scan/real-adapters";

const log = getLogger().child({ component: "webhook" });

class WebhookConfigError extends Error {}

async function main() {
  const env = getEnv();
  if (!env.DATABASE_URL) throw new DatabaseUnavailableError("DATABASE_URL is not set");
  if (!env.SIGNET_WEBHOOK_CERT_FILE || !env.SIGNET_WEBHOOK_KEY_FILE) {
    throw new WebhookConfigError("SIGNET_WEBHOOK_CERT_FILE and SIGNET_WEBHOOK_KEY_FILE must name the serving certificate and key (PEM): the API server calls webhooks over HTTPS only");
  }
  await checkDatabase(env.DATABASE_URL, env.SIGNET_DB_CONNECT_TIMEOUT_MS);
  const db = getDb();
  const answerer = new AdmissionAnswerer({
    db,
    adapters: createScanAdapters(),
    cluster: env.SIGNET_WEBHOOK_CLUSTER,
    budgetMs: env.SIGNET_WEBHOOK_BUDGET_MS,
    failurePolicy: env.SIGNET_WEBHOOK_FAILURE_POLICY,
    evidenceMaxAgeMs: env.SIGNET_EVIDENCE_MAX_AGE_MINUTES * 60_000,
  });
  const recorder = new AdmissionRecorder(db, env.SIGNET_WEBHOOK_CLUSTER, log);
  const server = await serveAdmission({
    answerer,
    recorder,
    certFile: env.SIGNET_WEBHOOK_CERT_FILE,
    keyFile: env.SIGNET_WEBHOOK_KEY_FILE,
    host: env.SIGNET_WEBHOOK_HOST,
    port: env.SIGNET_WEBHOOK_PORT,
    failurePolicy: env.SIGNET_WEBHOOK_FAILURE_POLICY,
    clientCaFile: env.SIGNET_WEBHOOK_CLIENT_CA,
    tokenFile: env.SIGNET_WEBHOOK_TOKEN_FILE,
    unauthenticatedRateLimit: { perSecond: env.SIGNET_WEBHOOK_UNAUTHENTICATED_RATE, burst: env.SIGNET_WEBHOOK_UNAUTHENTICATED_BURST },
    log,
  });
  if (server.callerAuth) {
    log.info({ clientCertificate: !!env.SIGNET_WEBHOOK_CLIENT_CA, token: !!env.SIGNET_WEBHOOK_TOKEN_FILE }, "admission webhook callers must authenticate; others get 401");
  } else {
    log.warn(
      { perSecond: env.SIGNET_WEBHOOK_UNAUTHENTICATED_RATE, burst: env.SIGNET_WEBHOOK_UNAUTHENTICATED_BURST },
      "admission webhook callers are NOT authenticated: anyone who reaches the port can ask for decisions and write records (marked 'unauthenticated caller'); evaluation is rate-limited per source address. Set SIGNET_WEBHOOK_CLIENT_CA and/or SIGNET_WEBHOOK_TOKEN_FILE (docs/decisions/0018)",
    );
  }
  log.info({ port: server.port, host: env.SIGNET_WEBHOOK_HOST, cluster: env.SIGNET_WEBHOOK_CLUSTER, budgetMs: env.SIGNET_WEBHOOK_BUDGET_MS, failurePolicy: env.SIGNET_WEBHOOK_FAILURE_POLICY }, "admission webhook listening (POST /validate)");
  const shutdown = (signal: string) => {
    log.info({ signal, refused: server.refused() }, "stopping admission webhook");
    (async () => {
      await server.close();
      await answerer.close();
      await recorder.close();
      await db.$disconnect();
    })().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err: unknown) => {
  if (err instanceof EnvError || err instanceof DatabaseUnavailableError || err instanceof WebhookConfigError) {
    process.stderr.write(`signet webhook: ${err.message}\n`);
  } else {
    log.fatal({ err }, "admission webhook failed to start");
  }
  process.exit(1);
});
