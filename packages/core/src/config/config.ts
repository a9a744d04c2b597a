/**
 * Server-side configuration (CLI now; API and worker later): one zod schema, validated at boot.
 * Sources, later wins: defaults < TOML file (BETBLOCKER_CONFIG or --config) < environment variables.
 * Every violation is reported at once. Secrets (database password) are masked by `describeConfig`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { dataDir as defaultDataDir } from "@betblocker/db/paths";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";
import {
  describeWorkerSections,
  resolveWorkerSections,
  WORKER_ENV_MAP,
  type WorkerSectionsConfig,
  workerConfigShape,
} from "../jobs/worker.config";

const logLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace"]);

const rateLimitSchema = (max: number, windowSeconds: number) =>
  z
    .object({
      max: z.number().int().min(1).max(1_000_000).default(max),
      window_seconds: z.number().int().min(1).max(86_400).default(windowSeconds),
    })
    .strict()
    .default({ max, window_seconds: windowSeconds });

/** The HTTP API (apps/api). Every field has a default, so an empty [api] table (or none) is valid. */
const apiConfigSchema = z
  .object({
    /** Listen address. Default 127.0.0.1; 0.0.0.0 behind a load balancer or in a container. (env BETBLOCKER_API_HOST) */
    host: z.string().min(1).default("127.0.0.1"),
    /** Listen port. Default 8080. (env BETBLOCKER_API_PORT) */
    port: z.number().int().min(0).max(65535).default(8080),
    /** Web origins allowed by CORS, exact matches like "https://app.example.org". Default none. (env BETBLOCKER_CORS_ORIGINS, comma-separated) */
    cors_origins: z
      .array(
        z
          .url({ protocol: /^https?$/ })
          .refine(
            (v) => new URL(v).origin === v,
            "must be an origin: scheme://host[:port], no path or trailing slash",
          ),
      )
      .default([]),
    /**
     * Which X-Forwarded-For hops to believe for the client IP (rate limits, audit trail): false (default: the
     * socket address), true (any: only behind a proxy that overwrites the header), a hop count, or a
     * comma-separated list of proxy addresses/CIDRs. (env BETBLOCKER_TRUST_PROXY)
     */
    trust_proxy: z.union([z.boolean(), z.number().int().min(0).max(10), z.string().min(1)]).default(false),
    /** Largest accepted request body in bytes. Default 262144 (256 KiB). */
    body_limit_bytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(256 * 1024),
    /** Ed25519 private key (PKCS8 PEM, 0600) signing access tokens; created on first start. Default <data_dir>/keys/jwt-ed25519.key. Never an env value. (env BETBLOCKER_JWT_KEY_PATH) */
    jwt_private_key_path: z.string().min(1).optional(),
    /** `iss` of access tokens. Default "betblocker". */
    jwt_issuer: z.string().min(1).max(200).default("betblocker"),
    /** `aud` of access tokens. Default "betblocker-api". */
    jwt_audience: z.string().min(1).max(200).default("betblocker-api"),
    /** Access token lifetime. Default 900 (15 minutes). */
    access_token_ttl_seconds: z.number().int().min(60).max(3600).default(900),
    /** Refresh token lifetime; every rotation starts a new one. Default 30 days. */
    refresh_token_ttl_days: z.number().int().min(1).max(365).default(30),
    /** E-mail verification token lifetime. Default 24 hours. */
    email_verification_ttl_hours: z.number().int().min(1).max(168).default(24),
    /**
     * Development only: put the e-mail verification token into the registration response (until e-mail is
     * sent). Default false; never enable in production. (env BETBLOCKER_EXPOSE_DEV_TOKENS=true)
     */
    expose_dev_tokens: z.boolean().default(false),
    /** Redis for rate-limit counters shared by several replicas. Unset: in-memory counters per process. (env REDIS_URL) */
    redis_url: z
      .string()
      .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
      .optional(),
    /** Connections of the application-role pool. Default 10. */
    db_pool_size: z.number().int().min(1).max(200).default(10),
    rate_limits: z
      .object({
        /** Failed logins per e-mail address per window. Default 10 per 15 minutes. Successes do not count. */
        login_failures_per_email: rateLimitSchema(10, 900),
        /** Failed logins per client IP per window. Default 50 per 15 minutes. */
        login_failures_per_ip: rateLimitSchema(50, 900),
        /** Registrations per client IP per window. Default 10 per hour. */
        register_per_ip: rateLimitSchema(10, 3600),
        /** Other unauthenticated auth requests (refresh, logout, verify-email) per client IP. Default 60 per minute. */
        token_requests_per_ip: rateLimitSchema(60, 60),
      })
      .strict()
      .prefault({}),
    /**
     * The device side (/api/v1/device/*): a second HTTPS listener with mutual TLS. Its server certificate is issued
     * by the device CA for `server_names`; key, certificate and CA are created on first start when missing (demo).
     * Paths default to <data_dir>/keys/device-*.
     */
    device_tls: z
      .object({
        /** Start the device listener. Default true. (env BETBLOCKER_DEVICE_API_ENABLED) */
        enabled: z.boolean().default(true),
        /** Listen address. Default: api.host. (env BETBLOCKER_DEVICE_API_HOST) */
        host: z.string().min(1).optional(),
        /** Listen port. Default 8443. (env BETBLOCKER_DEVICE_API_PORT) */
        port: z.number().int().min(0).max(65535).default(8443),
        /** Server certificate (PEM) and key (PKCS#8 PEM, 0600). Default <data_dir>/keys/device-server.{pem,key}. */
        server_cert_path: z.string().min(1).optional(),
        server_key_path: z.string().min(1).optional(),
        /** Device CA certificate and key (0600). Default <data_dir>/keys/device-ca.{pem,key}. */
        ca_cert_path: z.string().min(1).optional(),
        ca_key_path: z.string().min(1).optional(),
        /** DNS names and IP addresses of a generated server certificate. Default ["localhost", "127.0.0.1"]. */
        server_names: z.array(z.string().min(1).max(253)).min(1).default(["localhost", "127.0.0.1"]),
      })
      .strict()
      .prefault({}),
    /** Devices: enrollment codes, certificates, the device-side caches and limits. */
    devices: z
      .object({
        /** Lifetime of a one-time enrollment code. Default 15 minutes. */
        enrollment_code_ttl_minutes: z.number().int().min(1).max(1440).default(15),
        /** Lifetime of an issued device certificate. Default 90 days. */
        certificate_validity_days: z.number().int().min(1).max(825).default(90),
        /** How long a certificate -> device/enrollment lookup is cached (revocation here is immediate). Default 10 s. */
        auth_cache_ttl_seconds: z.number().int().min(0).max(300).default(10),
        /** Heartbeats are written to devices.last_heartbeat in one statement this often. Default 1000 ms. */
        heartbeat_flush_interval_ms: z.number().int().min(50).max(60_000).default(1000),
        /** Enrollment codes per account per window. Default 20 per hour. */
        enrollment_codes_per_account: rateLimitSchema(20, 3600),
        /** Device registrations per client IP per window. Default 30 per hour. */
        register_per_ip: rateLimitSchema(30, 3600),
        /** Certificate renewals per device per window. Default 10 per day. */
        renewals_per_device: rateLimitSchema(10, 86_400),
        /** Federated report batches per device per window. Default 60 per hour. */
        federated_report_batches_per_device: rateLimitSchema(60, 3600),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export const serverConfigSchema = z
  .object({
    /** Project state: embedded database, keys, published list files. Default: <repo>/.betblocker */
    data_dir: z.string().min(1).optional(),
    database: z
      .object({
        /** postgres:// URL. Unset: the embedded PostgreSQL under data_dir. (env DATABASE_URL) */
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
          .optional(),
        /** Port of the embedded cluster on 127.0.0.1. Default 54329. (env BETBLOCKER_PG_PORT) */
        embedded_port: z.number().int().min(1024).max(65535).default(54329),
        /**
         * URL the API/worker connect with, as the application role betblocker_api (never the owner). Unset: the
         * owner's server with role betblocker_api and a generated password kept in <data_dir>/db/app-secret.json.
         * Set it when several replicas share one external server. (env BETBLOCKER_APP_DATABASE_URL)
         */
        app_url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
          .optional(),
      })
      .strict()
      .default({ embedded_port: 54329 }),
    blocklist: z
      .object({
        /** Ed25519 private key file (PKCS8 PEM, mode 0600). Never an env value. Default: <data_dir>/keys/blocklist-signing.key */
        signing_key_path: z.string().min(1).optional(),
        /** Deltas older than this are dropped; older agents get a full snapshot. Default 30. */
        delta_retention_days: z.number().int().min(1).max(3650).default(30),
      })
      .strict()
      .default({ delta_retention_days: 30 }),
    api: apiConfigSchema,
    // [worker], [list_sources], [maintenance], [smtp], [alerts]: see jobs/worker.config.ts.
    ...workerConfigShape,
    logging: z
      .object({
        level: logLevel.default("info"),
        format: z.enum(["json", "pretty"]).default("pretty"),
      })
      .strict()
      .default({ level: "info", format: "pretty" }),
  })
  .strict();

export interface RateLimitConfig {
  max: number;
  windowSeconds: number;
}

/** The [api] section, resolved: paths absolute, names in camelCase. */
export interface ApiConfig {
  host: string;
  port: number;
  corsOrigins: string[];
  trustProxy: boolean | number | string;
  bodyLimitBytes: number;
  jwtPrivateKeyPath: string;
  jwtIssuer: string;
  jwtAudience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  emailVerificationTtlHours: number;
  exposeDevTokens: boolean;
  redisUrl: string | null;
  dbPoolSize: number;
  rateLimits: {
    loginFailuresPerEmail: RateLimitConfig;
    loginFailuresPerIp: RateLimitConfig;
    registerPerIp: RateLimitConfig;
    tokenRequestsPerIp: RateLimitConfig;
  };
  deviceTls: DeviceTlsConfig;
  devices: DevicesConfig;
}

/** [api.device_tls], resolved (absolute paths). */
export interface DeviceTlsConfig {
  enabled: boolean;
  host: string;
  port: number;
  serverCertPath: string;
  serverKeyPath: string;
  caCertPath: string;
  caKeyPath: string;
  serverNames: string[];
}

/** [api.devices], resolved. */
export interface DevicesConfig {
  enrollmentCodeTtlMinutes: number;
  certificateValidityDays: number;
  authCacheTtlSeconds: number;
  heartbeatFlushIntervalMs: number;
  enrollmentCodesPerAccount: RateLimitConfig;
  registerPerIp: RateLimitConfig;
  renewalsPerDevice: RateLimitConfig;
  federatedReportBatchesPerDevice: RateLimitConfig;
}

export interface ServerConfig extends WorkerSectionsConfig {
  dataDir: string;
  database: { url: string | null; embeddedPort: number; appUrl: string | null };
  api: ApiConfig;
  blocklist: { signingKeyPath: string; publicKeyPath: string; deltaRetentionDays: number };
  logging: { level: z.infer<typeof logLevel>; format: "json" | "pretty" };
}

export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID";
  constructor(readonly violations: string[]) {
    super(`invalid configuration:\n${violations.map((v) => `  - ${v}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Mutable = Record<string, unknown>;

function setPath(target: Mutable, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
    node = node[key] as Mutable;
  }
  node[path[path.length - 1] as string] = value;
}

/** "true"/"false"/"1"/"0"; anything else is passed through so that validation reports it. */
function parseBoolean(value: string): unknown {
  const v = value.trim().toLowerCase();
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  return value;
}

/** "true"/"false", a hop count ("1" is one hop, not true), or a list of proxy addresses. */
function parseTrustProxy(value: string): unknown {
  const v = value.trim().toLowerCase();
  if (v === "true" || v === "false") return v === "true";
  return /^\d+$/.test(v) ? Number(v) : value;
}

/** Environment variable -> config path and parser. BETBLOCKER_ prefix, plus the conventional DATABASE_URL. */
const ENV_MAP: Array<[string, string[], (v: string) => unknown]> = [
  ["BETBLOCKER_DATA_DIR", ["data_dir"], String],
  ["DATABASE_URL", ["database", "url"], String],
  ["BETBLOCKER_PG_PORT", ["database", "embedded_port"], Number],
  ["BETBLOCKER_SIGNING_KEY_PATH", ["blocklist", "signing_key_path"], String],
  ["BETBLOCKER_DELTA_RETENTION_DAYS", ["blocklist", "delta_retention_days"], Number],
  ["BETBLOCKER_APP_DATABASE_URL", ["database", "app_url"], String],
  ["BETBLOCKER_API_HOST", ["api", "host"], String],
  ["BETBLOCKER_API_PORT", ["api", "port"], Number],
  [
    "BETBLOCKER_CORS_ORIGINS",
    ["api", "cors_origins"],
    (v) =>
      v
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
  ],
  ["BETBLOCKER_TRUST_PROXY", ["api", "trust_proxy"], parseTrustProxy],
  ["BETBLOCKER_JWT_KEY_PATH", ["api", "jwt_private_key_path"], String],
  ["BETBLOCKER_EXPOSE_DEV_TOKENS", ["api", "expose_dev_tokens"], parseBoolean],
  ["REDIS_URL", ["api", "redis_url"], String],
  ["BETBLOCKER_DEVICE_API_ENABLED", ["api", "device_tls", "enabled"], parseBoolean],
  ["BETBLOCKER_DEVICE_API_HOST", ["api", "device_tls", "host"], String],
  ["BETBLOCKER_DEVICE_API_PORT", ["api", "device_tls", "port"], Number],
  ["BETBLOCKER_LOG_LEVEL", ["logging", "level"], String],
  ["BETBLOCKER_LOG_FORMAT", ["logging", "format"], String],
  ...WORKER_ENV_MAP,
];

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** TOML file; defaults to env BETBLOCKER_CONFIG. A named file that does not exist is an error. */
  file?: string;
}

export function loadServerConfig(options: LoadConfigOptions = {}): ServerConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env.BETBLOCKER_CONFIG;
  let raw: Mutable = {};
  if (file) {
    if (!existsSync(file)) throw new ConfigError([`config file ${file} does not exist`]);
    try {
      raw = parseToml(readFileSync(file, "utf8")) as Mutable;
    } catch (error) {
      throw new ConfigError([
        `config file ${file} is not valid TOML: ${(error as Error).message.split("\n")[0]}`,
      ]);
    }
  }
  for (const [name, path, parse] of ENV_MAP) {
    const value = env[name];
    if (value !== undefined && value !== "") setPath(raw, path, parse(value));
  }
  const parsed = serverConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`),
    );
  }
  const c = parsed.data;
  const dataDir = resolve(c.data_dir ?? defaultDataDir());
  const signingKeyPath = resolve(
    c.blocklist.signing_key_path ?? join(dataDir, "keys", "blocklist-signing.key"),
  );
  const a = c.api;
  return {
    dataDir,
    database: {
      url: c.database.url ?? null,
      embeddedPort: c.database.embedded_port,
      appUrl: c.database.app_url ?? null,
    },
    api: {
      host: a.host,
      port: a.port,
      corsOrigins: a.cors_origins,
      trustProxy: a.trust_proxy,
      bodyLimitBytes: a.body_limit_bytes,
      jwtPrivateKeyPath: resolve(a.jwt_private_key_path ?? join(dataDir, "keys", "jwt-ed25519.key")),
      jwtIssuer: a.jwt_issuer,
      jwtAudience: a.jwt_audience,
      accessTokenTtlSeconds: a.access_token_ttl_seconds,
      refreshTokenTtlDays: a.refresh_token_ttl_days,
      emailVerificationTtlHours: a.email_verification_ttl_hours,
      exposeDevTokens: a.expose_dev_tokens,
      redisUrl: a.redis_url ?? null,
      dbPoolSize: a.db_pool_size,
      rateLimits: {
        loginFailuresPerEmail: toRateLimit(a.rate_limits.login_failures_per_email),
        loginFailuresPerIp: toRateLimit(a.rate_limits.login_failures_per_ip),
        registerPerIp: toRateLimit(a.rate_limits.register_per_ip),
        tokenRequestsPerIp: toRateLimit(a.rate_limits.token_requests_per_ip),
      },
      deviceTls: {
        enabled: a.device_tls.enabled,
        host: a.device_tls.host ?? a.host,
        port: a.device_tls.port,
        serverCertPath: resolve(a.device_tls.server_cert_path ?? join(dataDir, "keys", "device-server.pem")),
        serverKeyPath: resolve(a.device_tls.server_key_path ?? join(dataDir, "keys", "device-server.key")),
        caCertPath: resolve(a.device_tls.ca_cert_path ?? join(dataDir, "keys", "device-ca.pem")),
        caKeyPath: resolve(a.device_tls.ca_key_path ?? join(dataDir, "keys", "device-ca.key")),
        serverNames: a.device_tls.server_names,
      },
      devices: {
        enrollmentCodeTtlMinutes: a.devices.enrollment_code_ttl_minutes,
        certificateValidityDays: a.devices.certificate_validity_days,
        authCacheTtlSeconds: a.devices.auth_cache_ttl_seconds,
        heartbeatFlushIntervalMs: a.devices.heartbeat_flush_interval_ms,
        enrollmentCodesPerAccount: toRateLimit(a.devices.enrollment_codes_per_account),
        registerPerIp: toRateLimit(a.devices.register_per_ip),
        renewalsPerDevice: toRateLimit(a.devices.renewals_per_device),
        federatedReportBatchesPerDevice: toRateLimit(a.devices.federated_report_batches_per_device),
      },
    },
    blocklist: {
      signingKeyPath,
      publicKeyPath: `${signingKeyPath}.pub`,
      deltaRetentionDays: c.blocklist.delta_retention_days,
    },
    logging: c.logging,
    ...resolveWorkerSections(c),
  };
}

function toRateLimit(limit: { max: number; window_seconds: number }): RateLimitConfig {
  return { max: limit.max, windowSeconds: limit.window_seconds };
}

function maskUrl(url: string | null): string | null {
  if (!url) return url;
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<unparseable>";
  }
}

/** The configuration as it may be printed: passwords in database and Redis URLs masked. */
export function describeConfig(config: ServerConfig): Record<string, unknown> {
  return {
    ...config,
    database: {
      ...config.database,
      url: maskUrl(config.database.url),
      appUrl: maskUrl(config.database.appUrl),
    },
    api: { ...config.api, redisUrl: maskUrl(config.api.redisUrl) },
    ...describeWorkerSections(config),
  };
}
