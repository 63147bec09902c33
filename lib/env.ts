import path from "node:path";
import { z } from "zod";

/**
 * The one place that reads process.env. Everything else receives a typed `Env`.
 * Parsing fails fast with a readable list of every problem at once.
 */
const postgresUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === "postgres:" || u.protocol === "postgresql:") && u.hostname !== "";
    } catch {
      return false;
    }
  }, "must be a postgres:// or postgresql:// URL with a host");

const intFromString = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const booleanFromString = z
  .enum(["1", "0", "true", "false", "yes", "no", ""])
  .transform((v) => v === "1" || v === "true" || v === "yes");

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  DATABASE_URL: postgresUrl.optional(),
  SIGNET_DATA_DIR: z.string().min(1).optional(),
  PORT: intFromString(1, 65535).default(3000),
  HOST: z.string().min(1).default("127.0.0.1"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  SIGNET_SCAN_INTERVAL_MINUTES: intFromString(1, 24 * 60).default(10),
  SIGNET_WORKER_CONCURRENCY: intFromString(1, 256).default(8),
  SIGNET_HEARTBEAT_SECONDS: intFromString(1, 3600).default(5),
  SIGNET_HEARTBEAT_STALE_SECONDS: intFromString(2, 86_400).default(30),
  SIGNET_DB_POOL_MAX: intFromString(1, 200).default(10),
  SIGNET_DB_CONNECT_TIMEOUT_MS: intFromString(100, 120_000).default(5000),
  SIGNET_NO_WORKER: booleanFromString.default(false),
  KUBECONFIG: z.string().optional(),
  CI: booleanFromString.optional(),
});

export type Env = Omit<z.infer<typeof envSchema>, "SIGNET_DATA_DIR"> & { SIGNET_DATA_DIR: string };

/** Thrown when the environment is invalid; `problems` holds one line per variable. */
export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "EnvError";
  }
}

export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  // Empty strings count as unset, the way shells and .env files usually mean them.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = issue.path.join(".") || "(environment)";
      const given = typeof cleaned[key] === "string" && !/URL|SECRET|PASSWORD|KEY/i.test(key) ? ` (got "${cleaned[key]}")` : "";
      return `${key}: ${issue.message}${given}`;
    });
    throw new EnvError(problems);
  }
  const env = result.data;
  return { ...env, SIGNET_DATA_DIR: path.resolve(/*turbopackIgnore: true*/ env.SIGNET_DATA_DIR ?? path.join(/*turbopackIgnore: true*/ process.cwd(), ".data")) };
}

let cached: Env | undefined;

/** The process environment, parsed once. */
export function getEnv(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}

/** For tests that change process.env between cases. */
export function resetEnvCache(): void {
  cached = undefined;
}
