/**
 * The worker's configuration sections ([worker], [list_sources], [maintenance], [smtp], [alerts],
 * [discovery]), spliced into the one server schema of config/config.ts. Every field has a default, so a file without these tables
 * is valid. Secrets (smtp.password, webhook secrets) are masked by `describeWorkerSections`.
 */
import { z } from "zod";

/** A five-field cron expression (minute hour day-of-month month day-of-week), as the job queue reads it. */
const cronSchema = z
  .string()
  .trim()
  .regex(/^(\S+\s+){4}\S+$/, 'must be a five-field cron expression, e.g. "7 * * * *"');

export const DEFAULT_SCHEDULES = {
  /** Fetch due list sources (conditional GET) and diff them into the blocklist. */
  list_sources_import: "7 * * * *",
  /** Publish a signed version (and delta) when entries or the allowlist changed. */
  blocklist_compile: "*/5 * * * *",
  /** Drop deltas, snapshots and entry mappings of versions older than blocklist.delta_retention_days. */
  blocklist_prune_versions: "27 3 * * *",
  /** Keep events partitions 3 months ahead; detach and drop those past the retention. */
  events_partitions: "17 3 * * *",
  /** Delete expired/revoked refresh tokens and used/expired e-mail verification tokens. */
  auth_token_cleanup: "47 3 * * *",
  /** Send due alert e-mails and webhooks (retries included). */
  alerts_deliver: "* * * * *",
  /** Mark devices stale after 3 missed heartbeat intervals, alert once per incident, send recovery notices. */
  monitoring_heartbeat: "* * * * *",
  /** Due self-tier unenrollments/config changes, invitation expiry, and the notifications outbox. */
  lifecycle_timers: "* * * * *",
  /** Daily reporting snapshots of yesterday (UTC). */
  reporting_snapshots: "30 0 * * *",
  /** Federated reports -> review queue (k-anonymous) and automated blocklist entries. */
  federated_intake: "*/10 * * * *",
} as const;

export type ScheduleName = keyof typeof DEFAULT_SCHEDULES;

const webhookSchema = z
  .object({
    /** http(s) URL receiving POSTed JSON. */
    url: z.url({ protocol: /^https?$/ }),
    /** HMAC-SHA256 key of the X-BetBlocker-Signature header; at least 16 characters. */
    secret: z.string().min(16).max(500),
  })
  .strict();

export const workerConfigShape = {
  worker: z
    .object({
      /** Jobs run at once by one worker process. Default 2. (env BETBLOCKER_WORKER_CONCURRENCY) */
      concurrency: z.number().int().min(1).max(32).default(2),
      /** How often to look for jobs scheduled in the future (retries). Default 2000 ms. */
      poll_interval_ms: z.number().int().min(100).max(60_000).default(2000),
      /** After SIGTERM, running jobs get this long to finish their batch. Default 30 s. */
      shutdown_grace_seconds: z.number().int().min(1).max(600).default(30),
      /** Rows per statement of the housekeeping deletes (bounded batches). Default 5000. */
      batch_size: z.number().int().min(10).max(100_000).default(5000),
      /** Most batches one housekeeping run does; the rest waits for the next run. Default 200. */
      max_batches_per_run: z.number().int().min(1).max(100_000).default(200),
      /** Cron expressions (UTC) overriding DEFAULT_SCHEDULES, by job. */
      schedules: z
        .object(
          Object.fromEntries(Object.keys(DEFAULT_SCHEDULES).map((k) => [k, cronSchema.optional()])) as Record<
            ScheduleName,
            z.ZodOptional<typeof cronSchema>
          >,
        )
        .strict()
        .prefault({}),
    })
    .strict()
    .prefault({}),
  list_sources: z
    .object({
      /** Timeout of one fetch (headers and body). Default 60 s. */
      fetch_timeout_seconds: z.number().int().min(1).max(3600).default(60),
      /** Largest accepted list. Default 256 MiB. */
      max_bytes: z
        .number()
        .int()
        .min(1024)
        .max(4 * 1024 * 1024 * 1024)
        .default(256 * 1024 * 1024),
      /** A list with fewer than this share of the previous accepted entry count is refused. Default 0.5. */
      min_keep_ratio: z.number().min(0).max(1).default(0.5),
      /** Consecutive failures of a source that raise an operator alert. Default 3. */
      failure_alert_threshold: z.number().int().min(1).max(1000).default(3),
      /** A source is not fetched again within this many minutes (manual fetches excepted). Default 50. */
      min_interval_minutes: z.number().int().min(0).max(100_000).default(50),
      /** Sources per import run; more are left for the next run. Default 10. */
      batch_size: z.number().int().min(1).max(1000).default(10),
    })
    .strict()
    .prefault({}),
  maintenance: z
    .object({
      /** Months of events kept in attached partitions; older ones are detached and dropped. Default 12 (spec 7). (env BETBLOCKER_EVENTS_RETENTION_MONTHS) */
      events_retention_months: z.number().int().min(1).max(1200).default(12),
      /** Months of events partitions created ahead. Default 3 (spec 7). */
      events_months_ahead: z.number().int().min(1).max(24).default(3),
      /** Expired or revoked auth tokens are deleted this many days later. Default 7. */
      token_retention_days: z.number().int().min(0).max(3650).default(7),
    })
    .strict()
    .prefault({}),
  smtp: z
    .object({
      /** SMTP server. Unset: alert e-mails cannot be sent (they retry, then show as dead letters). (env BETBLOCKER_SMTP_HOST) */
      host: z.string().min(1).optional(),
      /** Default 587. (env BETBLOCKER_SMTP_PORT) */
      port: z.number().int().min(1).max(65535).default(587),
      /** Implicit TLS (port 465). false: STARTTLS when the server offers it. (env BETBLOCKER_SMTP_SECURE) */
      secure: z.boolean().default(false),
      /** (env BETBLOCKER_SMTP_USER) */
      user: z.string().min(1).optional(),
      /** Masked in describeConfig. (env BETBLOCKER_SMTP_PASSWORD) */
      password: z.string().min(1).optional(),
      /** From address of alert e-mails. (env BETBLOCKER_SMTP_FROM) */
      from: z.string().min(3).default("BetBlocker <alerts@localhost>"),
    })
    .strict()
    .prefault({}),
  alerts: z
    .object({
      /** Operators' addresses: failing list sources and other platform alerts. (env BETBLOCKER_ALERT_EMAILS, comma-separated) */
      operator_emails: z.array(z.email()).default([]),
      /** Operators' webhooks, each with its own signing secret. */
      operator_webhooks: z.array(webhookSchema).default([]),
      /** Attempts before a delivery becomes a dead letter. Default 8. */
      max_attempts: z.number().int().min(1).max(100).default(8),
      /** Backoff: base * 2^(attempt-1) seconds with full jitter, capped. Defaults 30 s and 6 h. */
      backoff_base_seconds: z.number().min(0).max(86_400).default(30),
      backoff_max_seconds: z
        .number()
        .min(1)
        .max(7 * 86_400)
        .default(6 * 3600),
      /** Timeout of one webhook POST or SMTP exchange. Default 10 s. */
      request_timeout_seconds: z.number().int().min(1).max(300).default(10),
      /** Deliveries per run. Default 50. */
      batch_size: z.number().int().min(1).max(10_000).default(50),
      /**
       * Let accounts' own webhooks reach loopback and private addresses (a self-hosted single machine).
       * Default false: an account webhook may only reach public addresses, checked at connection time.
       */
      account_webhooks_private_targets: z.boolean().default(false),
    })
    .strict()
    .prefault({}),
  discovery: z
    .object({
      /** A reported domain reaches the review queue only once this many distinct devices reported it (k-anonymity). Default 3. */
      min_distinct_devices: z.number().int().min(2).max(1000).default(3),
      /** Domains classified per intake run. Default 500. */
      batch_size: z.number().int().min(1).max(100_000).default(500),
    })
    .strict()
    .prefault({}),
};

type Shape = typeof workerConfigShape;
type Parsed = { [K in keyof Shape]: z.infer<Shape[K]> };

export interface WorkerConfig {
  concurrency: number;
  pollIntervalMs: number;
  shutdownGraceSeconds: number;
  batchSize: number;
  maxBatchesPerRun: number;
  schedules: Record<ScheduleName, string>;
}

export interface ListSourcesConfig {
  fetchTimeoutSeconds: number;
  maxBytes: number;
  minKeepRatio: number;
  failureAlertThreshold: number;
  minIntervalMinutes: number;
  batchSize: number;
}

export interface MaintenanceConfig {
  eventsRetentionMonths: number;
  eventsMonthsAhead: number;
  tokenRetentionDays: number;
}

export interface SmtpConfig {
  host: string | null;
  port: number;
  secure: boolean;
  user: string | null;
  password: string | null;
  from: string;
}

export interface WebhookTarget {
  url: string;
  secret: string;
}

export interface AlertsConfig {
  operatorEmails: string[];
  operatorWebhooks: WebhookTarget[];
  maxAttempts: number;
  backoffBaseSeconds: number;
  backoffMaxSeconds: number;
  requestTimeoutSeconds: number;
  batchSize: number;
  accountWebhooksPrivateTargets: boolean;
}

export interface DiscoveryConfig {
  minDistinctDevices: number;
  batchSize: number;
}

/** The resolved sections, as they appear on ServerConfig. */
export interface WorkerSectionsConfig {
  worker: WorkerConfig;
  listSources: ListSourcesConfig;
  maintenance: MaintenanceConfig;
  smtp: SmtpConfig;
  alerts: AlertsConfig;
  discovery: DiscoveryConfig;
}

export function resolveWorkerSections(c: Parsed): WorkerSectionsConfig {
  const schedules = { ...DEFAULT_SCHEDULES } as Record<ScheduleName, string>;
  for (const [name, value] of Object.entries(c.worker.schedules)) {
    if (value) schedules[name as ScheduleName] = value;
  }
  return {
    worker: {
      concurrency: c.worker.concurrency,
      pollIntervalMs: c.worker.poll_interval_ms,
      shutdownGraceSeconds: c.worker.shutdown_grace_seconds,
      batchSize: c.worker.batch_size,
      maxBatchesPerRun: c.worker.max_batches_per_run,
      schedules,
    },
    listSources: {
      fetchTimeoutSeconds: c.list_sources.fetch_timeout_seconds,
      maxBytes: c.list_sources.max_bytes,
      minKeepRatio: c.list_sources.min_keep_ratio,
      failureAlertThreshold: c.list_sources.failure_alert_threshold,
      minIntervalMinutes: c.list_sources.min_interval_minutes,
      batchSize: c.list_sources.batch_size,
    },
    maintenance: {
      eventsRetentionMonths: c.maintenance.events_retention_months,
      eventsMonthsAhead: c.maintenance.events_months_ahead,
      tokenRetentionDays: c.maintenance.token_retention_days,
    },
    smtp: {
      host: c.smtp.host ?? null,
      port: c.smtp.port,
      secure: c.smtp.secure,
      user: c.smtp.user ?? null,
      password: c.smtp.password ?? null,
      from: c.smtp.from,
    },
    alerts: {
      operatorEmails: c.alerts.operator_emails,
      operatorWebhooks: c.alerts.operator_webhooks,
      maxAttempts: c.alerts.max_attempts,
      backoffBaseSeconds: c.alerts.backoff_base_seconds,
      backoffMaxSeconds: c.alerts.backoff_max_seconds,
      requestTimeoutSeconds: c.alerts.request_timeout_seconds,
      batchSize: c.alerts.batch_size,
      accountWebhooksPrivateTargets: c.alerts.account_webhooks_private_targets,
    },
    discovery: {
      minDistinctDevices: c.discovery.min_distinct_devices,
      batchSize: c.discovery.batch_size,
    },
  };
}

/** The worker sections as they may be printed: the SMTP password and webhook secrets masked. */
export function describeWorkerSections(config: WorkerSectionsConfig): Partial<WorkerSectionsConfig> {
  return {
    smtp: { ...config.smtp, password: config.smtp.password ? "***" : null },
    alerts: {
      ...config.alerts,
      operatorWebhooks: config.alerts.operatorWebhooks.map((w) => ({ url: w.url, secret: "***" })),
    },
  };
}

const list = (v: string) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

function bool(value: string): unknown {
  const v = value.trim().toLowerCase();
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  return value;
}

/** Environment variables of these sections: name -> config path and parser. */
export const WORKER_ENV_MAP: Array<[string, string[], (v: string) => unknown]> = [
  ["BETBLOCKER_WORKER_CONCURRENCY", ["worker", "concurrency"], Number],
  ["BETBLOCKER_EVENTS_RETENTION_MONTHS", ["maintenance", "events_retention_months"], Number],
  ["BETBLOCKER_SMTP_HOST", ["smtp", "host"], String],
  ["BETBLOCKER_SMTP_PORT", ["smtp", "port"], Number],
  ["BETBLOCKER_SMTP_SECURE", ["smtp", "secure"], bool],
  ["BETBLOCKER_SMTP_USER", ["smtp", "user"], String],
  ["BETBLOCKER_SMTP_PASSWORD", ["smtp", "password"], String],
  ["BETBLOCKER_SMTP_FROM", ["smtp", "from"], String],
  ["BETBLOCKER_ALERT_EMAILS", ["alerts", "operator_emails"], list],
];
