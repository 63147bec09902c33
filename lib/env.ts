import path from "node:path";
import { z } from "zod";
import { trustedProxyProblem } from "@/lib/net/client-address";

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

/** "a, b,c" → ["a", "b", "c"] (empty items dropped). */
const commaList = z.string().transform((v) => v.split(",").map((x) => x.trim()).filter(Boolean));

/**
 * Egress destinations (lib/egress/rules): host globs, IP addresses or CIDR ranges, each optionally with
 * :port. A malformed range would otherwise be read as a glob that matches nothing, so it is an error.
 */
const destinationList = commaList.superRefine((items, ctx) => {
  for (const item of items) {
    const slash = item.indexOf("/");
    let ok: boolean;
    if (slash >= 0) {
      const [addr, bits] = [item.slice(0, slash), Number(item.slice(slash + 1))];
      const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
      ok = v4 ? v4.slice(1).every((o) => Number(o) <= 255) && Number.isInteger(bits) && bits >= 0 && bits <= 32 : /^[0-9a-f:.]+$/i.test(addr) && addr.includes(":") && Number.isInteger(bits) && bits >= 0 && bits <= 128;
    } else ok = /^[a-z0-9.*?_:[\]-]+$/i.test(item);
    if (!ok) ctx.addIssue({ code: "custom", message: `"${item}" is neither a host glob nor an IP address or CIDR range (optionally with :port)` });
  }
});

const booleanFromString = z
  .enum(["1", "0", "true", "false", "yes", "no", ""])
  .transform((v) => v === "1" || v === "true" || v === "yes");

/** 32 bytes, base64 (standard or url-safe alphabet). */
const secretKey = z
  .string()
  .trim()
  .refine((v) => /^[A-Za-z0-9+/_-]+={0,2}$/.test(v) && Buffer.from(v, "base64").length === 32, "must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)");

const httpUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
    } catch {
      return false;
    }
  }, "must be an http:// or https:// URL");

/** `group=role,group=role`: which OIDC groups grant which role. */
const roleMap = z
  .string()
  .trim()
  .refine(
    (v) => v.split(",").every((pair) => /^[^=,]+=(viewer|auditor|admin)$/.test(pair.trim())),
    'must be a comma-separated list of group=role pairs, role one of viewer, auditor, admin (e.g. "admins=admin,auditors=auditor")',
  );

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  DATABASE_URL: postgresUrl.optional(),
  /** The installation's directory (bin/signet.mjs sets it): default SIGNET_DATA_DIR and the migrations live under it. */
  SIGNET_APP_DIR: z.string().min(1).optional(),
  SIGNET_DATA_DIR: z.string().min(1).optional(),
  PORT: intFromString(1, 65535).default(3000),
  HOST: z.string().min(1).default("127.0.0.1"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  SIGNET_SCAN_INTERVAL_MINUTES: intFromString(1, 24 * 60).default(10),
  /** The scan.tick sweep re-sends scan work untouched for this long (a worker died holding it). */
  SIGNET_SWEEP_STALE_SECONDS: intFromString(1, 86_400).default(120),
  /**
   * A finished scan's items (one row per image it checked: 10,000 a scan at 100,000 pods, 1.4 million a
   * day at the default interval) are removed this many days after it finished; the scan's own row and
   * its counts stay (lib/retention, ADR 0028).
   */
  SIGNET_SCAN_ITEMS_KEEP_DAYS: intFromString(1, 3650).default(7),
  /**
   * A pod gone from its cluster this many days ago is removed with its containers and their verdicts;
   * the audit log keeps every verdict event it had (lib/retention, ADR 0028).
   */
  SIGNET_GONE_PODS_KEEP_DAYS: intFromString(1, 3650).default(30),
  /**
   * A check's claim on the images it is discovering holds off other checks of them this long; a worker
   * that died holding one delays those images by at most this. Unset: DISCOVERY_CLAIM_MS (120 s,
   * lib/scan/discovery-claim.ts). Tests that kill workers set it short.
   */
  SIGNET_DISCOVERY_CLAIM_SECONDS: intFromString(1, 3600).optional(),
  /**
   * A scan re-fetches an image's signatures when its stored evidence is older than this; younger
   * evidence is reused while the registry's tag listing still shows the same cosign tags. 0: always.
   */
  SIGNET_EVIDENCE_MAX_AGE_MINUTES: intFromString(0, 7 * 24 * 60).default(60),
  /**
   * Images per image-check job of a scan (they share registry round trips and database statements).
   * Unset: sized to the scan, 100 to 250 (lib/scan/pipeline.ts scanBatchSize).
   */
  SIGNET_SCAN_BATCH_SIZE: intFromString(1, 500).optional(),
  SIGNET_WORKER_CONCURRENCY: intFromString(1, 256).default(8),
  /**
   * The worker follows each cluster's pods and namespaces with watches and writes their changes within
   * seconds (lib/watch); full scans remain the periodic reconciliation. false: only scans write.
   */
  SIGNET_WATCH: booleanFromString.default(true),
  /** Watch changes are written in batches at most this often (ms). */
  SIGNET_WATCH_FLUSH_MS: intFromString(50, 60_000).default(1000),
  /**
   * A followed cluster is listed again and compared row by row with the stored inventory at the first
   * scan this long after its last list (a reconciliation: whatever a watch could have missed is
   * written, and counted as drift in the log). 0: every scan lists the cluster.
   */
  SIGNET_WATCH_RECONCILE_MINUTES: intFromString(0, 7 * 24 * 60).default(60),
  /**
   * Running images' repositories are re-listed this often (one tag listing per repository, one
   * referrers request per image where the registry has the referrers API): a signature deleted or
   * pushed changes the verdict within about this long. 0: only scans revalidate. Also the bound within
   * which a scan (the worker's scheduled ones, watch-driven checks, `signet scan`) reuses stored
   * evidence confirmed current (Image.revalidatedAt) without asking the registry; a Scan now lists
   * every repository (0: every scan lists; ADR 0022).
   */
  SIGNET_REVALIDATE_SECONDS: intFromString(0, 86_400).default(60),
  /** Policy modes whose new failures are notified (failure.enforce for enforce; failure.audit for warn and audit). */
  SIGNET_NOTIFY_FAILURE_MODES: commaList
    .pipe(z.array(z.enum(["enforce", "warn", "audit"])))
    .default(["enforce"]),
  /** V8 old-generation cap of the worker process (MB): V8 collects early instead of growing to GBs. */
  SIGNET_WORKER_HEAP_MB: intFromString(128, 65_536).default(192),
  /** Set in processes started under the scan runtime (lib/scan/runtime.ts); not a setting. */
  SIGNET_SCAN_RUNTIME: booleanFromString.default(false),
  /** glibc's malloc arena limit as this process was started with it (lib/scan/runtime.ts reads it; glibc reads it at start only). */
  MALLOC_ARENA_MAX: z.string().optional(),
  SIGNET_HEARTBEAT_SECONDS: intFromString(1, 3600).default(5),
  SIGNET_HEARTBEAT_STALE_SECONDS: intFromString(2, 86_400).default(30),
  /**
   * A cluster's watch lease (lib/jobs/lease.ts): the one worker holding it follows the cluster's pods,
   * renewing it every third of this; another worker takes it over within about 1.5 times this after
   * the holder died (docs/decisions/0017).
   */
  SIGNET_WATCH_LEASE_SECONDS: intFromString(3, 300).default(15),
  SIGNET_DB_POOL_MAX: intFromString(1, 200).default(10),
  SIGNET_DB_CONNECT_TIMEOUT_MS: intFromString(100, 120_000).default(5000),
  SIGNET_NO_WORKER: booleanFromString.default(false),
  KUBECONFIG: z.string().optional(),
  /** Kubeconfig contexts to watch (comma-separated); default: every context. */
  SIGNET_KUBE_CONTEXTS: commaList.optional(),
  /** Set by the kubelet in a pod; with a mounted service-account token Signet also watches its own cluster. */
  KUBERNETES_SERVICE_HOST: z.string().optional(),
  KUBERNETES_SERVICE_PORT: z.string().optional(),
  /** Registries reached over plain HTTP (comma-separated hosts, e.g. "registry.local:5000"). */
  SIGNET_REGISTRY_INSECURE: commaList.optional(),
  /** Only these registry hosts may be contacted (globs, comma-separated); default: any. */
  SIGNET_REGISTRY_ALLOW: destinationList.optional(),
  /** Registry hosts never contacted (globs); wins over the allow list. */
  SIGNET_REGISTRY_DENY: destinationList.optional(),
  /**
   * Destinations every outgoing request may reach even though they are loopback, link-local, cloud
   * metadata, unspecified or reserved (or private, with SIGNET_EGRESS_REFUSE_PRIVATE): host globs,
   * IP addresses or CIDR ranges, each optionally with :port (e.g. "127.0.0.1:5001,hooks.lan").
   */
  SIGNET_EGRESS_ALLOW_INTERNAL: destinationList.optional(),
  /** Refuse private addresses (RFC 1918, ULA, CGNAT) for registries, webhooks and TUF unless explicitly allowed. */
  SIGNET_EGRESS_REFUSE_PRIVATE: booleanFromString.default(false),
  /**
   * Refresh the Sigstore public-good trusted root from its TUF mirror (tuf-repo-cdn.sigstore.dev) every
   * hour in the worker. false for installations without Internet access: the last refreshed root, or the
   * one bundled with Signet, stays in force.
   */
  SIGNET_TUF_PUBLIC_GOOD: booleanFromString.default(true),
  /** A docker config.json with registry credentials (in addition to those stored in Signet). */
  SIGNET_DOCKER_CONFIG: z.string().min(1).optional(),
  SIGNET_REGISTRY_TIMEOUT_MS: intFromString(500, 300_000).default(30_000),
  SIGNET_REGISTRY_CONCURRENCY: intFromString(1, 256).default(16),
  /** Cap of one signature / attestation / bundle blob. */
  SIGNET_MAX_BLOB_KIB: intFromString(1, 1024 * 1024).default(8192),
  /** The address people use to reach Signet (scheme + host + port); https here makes cookies Secure. */
  SIGNET_PUBLIC_URL: httpUrl.optional(),
  /** AES-256-GCM key for secrets at rest; unset → generated once under SIGNET_DATA_DIR/secret.key. */
  SIGNET_SECRET_KEY: secretKey.optional(),
  /** Earlier keys, comma-separated, still accepted for decryption during a key rotation. */
  SIGNET_SECRET_KEY_PREVIOUS: z
    .string()
    .trim()
    .refine((v) => v.split(",").every((k) => secretKey.safeParse(k).success), "must be comma-separated 32-byte base64 keys")
    .optional(),
  SIGNET_SESSION_HOURS: intFromString(1, 24 * 90).default(12),
  /**
   * Reverse proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For is believed: a request from
   * one of them counts as coming from the right-most address it and the proxies before it did not add.
   * Unset: the socket peer is the client and X-Forwarded-For is ignored.
   */
  SIGNET_TRUSTED_PROXIES: commaList
    .superRefine((entries, ctx) => {
      for (const e of entries) {
        const problem = trustedProxyProblem(e);
        if (problem) ctx.addIssue({ code: "custom", message: `${problem} (expected IPs or CIDRs, comma-separated)` });
      }
    })
    .default([]),
  SIGNET_OIDC_ISSUER: httpUrl.optional(),
  SIGNET_OIDC_CLIENT_ID: z.string().trim().min(1).optional(),
  SIGNET_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  SIGNET_OIDC_NAME: z.string().trim().min(1).max(60).default("single sign-on"),
  SIGNET_OIDC_SCOPES: z.string().trim().min(1).default("openid email profile"),
  SIGNET_OIDC_GROUPS_CLAIM: z.string().trim().min(1).default("groups"),
  SIGNET_OIDC_ROLE_MAP: roleMap.optional(),
  /** Role of an SSO user in none of the mapped groups; `none` refuses them. */
  SIGNET_OIDC_DEFAULT_ROLE: z.enum(["viewer", "auditor", "admin", "none"]).default("viewer"),
  CI: booleanFromString.optional(),
  /**
   * Read pods' imagePullSecrets (and their ServiceAccount's) from the cluster and use them for the
   * registries they name. Needs `get` on Secrets and ServiceAccounts (the chart's rbac.readSecrets).
   */
  SIGNET_PULL_SECRETS: booleanFromString.default(false),
  /** Write the verdicts as OpenReports (openreports.io/v1alpha1 Report, one per workload) into each scanned cluster after a scan. */
  SIGNET_OPENREPORTS: booleanFromString.default(false),
  /** Bearer token Prometheus must send to /api/metrics and the worker's metrics port; unset: no token. */
  SIGNET_METRICS_TOKEN: z.string().trim().min(16, "must be at least 16 characters").optional(),
  /** Port of the worker's Prometheus endpoint (GET /metrics on HOST); unset: the worker serves none. */
  SIGNET_METRICS_PORT: intFromString(0, 65535).optional(),
  /** The admission webhook (scripts/webhook.ts): HTTPS port, certificate and key files (a mounted Secret, re-read on change). */
  SIGNET_WEBHOOK_PORT: intFromString(0, 65535).default(8443),
  SIGNET_WEBHOOK_HOST: z.string().min(1).default("0.0.0.0"),
  SIGNET_WEBHOOK_CERT_FILE: z.string().min(1).optional(),
  SIGNET_WEBHOOK_KEY_FILE: z.string().min(1).optional(),
  /** The cluster the webhook serves, as policies' scope.clusters name it (the worker names its own cluster `in-cluster`). */
  SIGNET_WEBHOOK_CLUSTER: z.string().trim().min(1).max(253).default("in-cluster"),
  /** How long the webhook may take to verify what the store does not know (the API server waits at most the webhook's timeoutSeconds). */
  SIGNET_WEBHOOK_BUDGET_MS: intFromString(100, 29_000).default(8000),
  /** What the webhook answers when its budget runs out or it fails: Fail denies, Ignore admits with a warning (the chart sets the ValidatingWebhookConfiguration's failurePolicy to the same). */
  SIGNET_WEBHOOK_FAILURE_POLICY: z.enum(["Fail", "Ignore"]).default("Fail"),
  /**
   * Caller authentication of the webhook (docs/decisions/0018): a PEM CA file the API server's client
   * certificate must chain to, and/or a file of accepted bearer tokens (one a line); both re-read on change.
   * With neither, callers are unauthenticated: their records say so and evaluation is rate-limited per source.
   */
  SIGNET_WEBHOOK_CLIENT_CA: z.string().min(1).optional(),
  SIGNET_WEBHOOK_TOKEN_FILE: z.string().min(1).optional(),
  /** Reviews evaluated a second per source address, and the burst, while no caller authentication is configured. */
  SIGNET_WEBHOOK_UNAUTHENTICATED_RATE: z.coerce.number().min(0.01).max(100_000).default(20),
  SIGNET_WEBHOOK_UNAUTHENTICATED_BURST: intFromString(1, 1_000_000).default(100),
  /** Coverage goal in percent: the target line of the overview's trend chart. */
  SIGNET_COVERAGE_TARGET: z.coerce.number().min(0).max(100).default(95),
  /** Per-cluster coverage goals overriding SIGNET_COVERAGE_TARGET: "prod=99,staging=80". */
  SIGNET_CLUSTER_COVERAGE_TARGETS: commaList
    .pipe(
      z.array(
        z
          .string()
          .regex(/^[^=]+=\d{1,3}(\.\d+)?$/, "each item is cluster=percent")
          .transform((pair) => [pair.slice(0, pair.lastIndexOf("=")).trim(), Number(pair.slice(pair.lastIndexOf("=") + 1))] as const)
          .refine(([, pct]) => pct <= 100, "a percentage is at most 100"),
      ),
    )
    .transform((pairs) => Object.fromEntries(pairs) as Record<string, number>)
    .default({}),
}).superRefine((env, ctx) => {
  const oidc = [env.SIGNET_OIDC_ISSUER, env.SIGNET_OIDC_CLIENT_ID, env.SIGNET_OIDC_CLIENT_SECRET];
  if (oidc.some(Boolean) && !oidc.every(Boolean)) {
    for (const key of ["SIGNET_OIDC_ISSUER", "SIGNET_OIDC_CLIENT_ID", "SIGNET_OIDC_CLIENT_SECRET"] as const) {
      if (!env[key]) ctx.addIssue({ code: "custom", path: [key], message: "is required when single sign-on is configured (issuer, client id and client secret go together)" });
    }
  }
});

export type Env = Omit<z.infer<typeof envSchema>, "SIGNET_DATA_DIR" | "SIGNET_APP_DIR"> & { SIGNET_DATA_DIR: string; SIGNET_APP_DIR: string };

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
  const appDir = path.resolve(/*turbopackIgnore: true*/ env.SIGNET_APP_DIR ?? process.cwd());
  return { ...env, SIGNET_APP_DIR: appDir, SIGNET_DATA_DIR: path.resolve(/*turbopackIgnore: true*/ env.SIGNET_DATA_DIR ?? path.join(/*turbopackIgnore: true*/ appDir, ".data")) };
}

let cached: Env | undefined;

/** The process environment, parsed once. */
export function getEnv(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}

/**
 * The environment a child process starts with: this process's, with `overrides` on top (an override
 * of `undefined` removes the variable). Writing a child's environment is not reading configuration:
 * what Signet itself is configured with is `getEnv()`.
 */
export function childProcessEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...overrides };
  for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete env[k];
  return env;
}

/** For tests that change process.env between cases. */
export function resetEnvCache(): void {
  cached = undefined;
}
