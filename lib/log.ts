import pino, { type Logger } from "pino";
import { getEnv } from "@/lib/env";

/**
 * Structured logs. Secrets are redacted by key wherever they appear, so a credential that slips into
 * a logged object still never reaches the output.
 */
const REDACT_PATHS = [
  "password",
  "*.password",
  "secret",
  "*.secret",
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "headers.cookie",
  "*.headers.cookie",
  "cookie",
  "databaseUrl",
  "*.databaseUrl",
  "DATABASE_URL",
  "*.DATABASE_URL",
  // secrets at rest and their keys (issue 8)
  "secretEnc",
  "*.secretEnc",
  "plaintext",
  "*.plaintext",
  "clientSecret",
  "*.clientSecret",
  "accessToken",
  "*.accessToken",
  "refreshToken",
  "*.refreshToken",
  "idToken",
  "*.idToken",
  "SIGNET_SECRET_KEY",
  "*.SIGNET_SECRET_KEY",
  "SIGNET_SECRET_KEY_PREVIOUS",
  "*.SIGNET_SECRET_KEY_PREVIOUS",
  "SIGNET_OIDC_CLIENT_SECRET",
  "*.SIGNET_OIDC_CLIENT_SECRET",
  "headers[\"set-cookie\"]",
  "*.headers[\"set-cookie\"]",
  "req.headers.cookie",
  "*.req.headers.cookie",
];

function levelFromEnv(): string {
  // an invalid environment is reported by whoever reads it first; logging goes on at "info"
  try {
    return getEnv().LOG_LEVEL;
  } catch {
    return "info";
  }
}

let root: Logger | undefined;

/**
 * Every process logs to stderr: stdout carries only what a command prints (`signet scan --json` is
 * read by pipelines), and the web server and worker share the convention.
 */
export function getLogger(): Logger {
  root ??= pino(
    {
      level: levelFromEnv(),
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ dest: 2, sync: false }),
  );
  return root;
}

export function childLogger(component: string): Logger {
  return getLogger().child({ component });
}

/** Replaces the password of a connection URL, for messages shown to people. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}
