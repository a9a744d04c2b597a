/**
 * buildApp: the Fastify application, without listening (main.ts listens; tests listen on port 0).
 *
 * Order matters: infrastructure plugins first (errors, auth, rate limit, db: their onRoute hooks must see
 * every route), then CORS and OpenAPI, then the feature routes under their prefixes.
 */
import { readFileSync } from "node:fs";
import type { FetchNowDeps } from "@betblocker/core/admin/list-sources-admin.service";
import { createAccessTokens, type JwtKeyPair } from "@betblocker/core/auth/access-token";
import { createAuthService } from "@betblocker/core/auth/auth.service";
import { type Clock, systemClock } from "@betblocker/core/auth/clock";
import { LoginThrottle } from "@betblocker/core/auth/login-throttle";
import {
  createPasswordHasher,
  OWASP_ARGON2ID,
  type PasswordHashingOptions,
} from "@betblocker/core/auth/password-hasher";
import { MemoryRateLimitStore, type RateLimitStore } from "@betblocker/core/auth/rate-limit";
import type { SigningKeyPair } from "@betblocker/core/blocklist/signing-key";
import type { ApiConfig } from "@betblocker/core/config/config";
import { createDeviceRuntime, type DeviceRuntime } from "@betblocker/core/devices/device-runtime";
import { DEFAULT_MIN_DISTINCT_DEVICES } from "@betblocker/core/discovery-intake/federated-intake.service";
import { createEnrollmentService } from "@betblocker/core/enrollments/enrollment.service";
import { createUnenrollService } from "@betblocker/core/enrollments/unenroll.service";
import type { DiscoveryConfig } from "@betblocker/core/jobs/worker.config";
import { createOrganizationService } from "@betblocker/core/organizations/organization.service";
import { createPartnerService } from "@betblocker/core/partners/partner.service";
import { createReportsService } from "@betblocker/core/reporting/reports.service";
import type { Sql } from "@betblocker/db/client";
import cors from "@fastify/cors";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from "fastify";
import { serializerCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { type Logger, pino } from "pino";
import { zodValidatorCompiler } from "./http/validation";
import authPlugin from "./plugins/auth.plugin";
import dbPlugin from "./plugins/db.plugin";
import errorsPlugin from "./plugins/errors.plugin";
import openApiPlugin from "./plugins/openapi.plugin";
import rateLimitPlugin from "./plugins/rate-limit.plugin";
import { accountWebhookRoutes } from "./routes/account-webhooks/account-webhooks.routes";
import { accountRoutes } from "./routes/accounts/accounts.routes";
import { adminBlocklistRoutes } from "./routes/admin-blocklist/admin-blocklist.routes";
import { adminListSourceRoutes } from "./routes/admin-list-sources/admin-list-sources.routes";
import { authRoutes } from "./routes/auth/auth.routes";
import { blocklistRoutes } from "./routes/blocklist/blocklist.routes";
import { blocklistAdminRoutes } from "./routes/blocklist/blocklist-admin.routes";
import { devicesRoutes } from "./routes/devices/devices.routes";
import { enrollmentRoutes } from "./routes/enrollments/enrollments.routes";
import { healthRoutes } from "./routes/health/health.routes";
import { organizationRoutes } from "./routes/organizations/organizations.routes";
import { partnerRoutes } from "./routes/partners/partners.routes";
import { reportRoutes } from "./routes/reports/reports.routes";
import { reviewQueueRoutes } from "./routes/review-queue/review-queue.routes";
import { unenrollRequestRoutes } from "./routes/unenroll-requests/unenroll-requests.routes";

export interface BuildAppOptions {
  config: ApiConfig;
  /** Pool connected as the application role (betblocker_api): RLS applies. Owned (and closed) by the caller. */
  sql: Sql;
  jwtKeys: JwtKeyPair;
  clock?: Clock;
  /** Default: in memory. main.ts passes the Redis store when REDIS_URL is set. */
  rateLimitStore?: RateLimitStore;
  /** Default OWASP_ARGON2ID. Tests pass TEST_ONLY_FAST_ARGON2ID; production never overrides it. */
  passwordHashing?: PasswordHashingOptions;
  /** Fastify logger options (pino), or false (default). Redaction paths are added to an options object. */
  logger?: FastifyServerOptions["logger"];
  /** A ready pino logger (main.ts); it must carry the redaction of LOG_REDACT_PATHS itself (see createLogger). */
  loggerInstance?: FastifyBaseLogger;
  version?: string;
  /**
   * Device services shared with the mTLS device listener (main.ts creates them, with the device CA and the
   * signing key, and owns start/stop). Default: an owner-side-only runtime created and stopped with the app.
   */
  devices?: DeviceRuntime;
  /** The blocklist signing key for POST /api/v1/admin/blocklist/publish; without it that route answers 503. */
  blocklistSigningKey?: SigningKeyPair | null;
  /**
   * The loaded `[discovery]` section (main.ts passes ServerConfig.discovery). The review queue shows federated
   * reports from `minDistinctDevices` devices on, the k the worker's intake uses too. Default: the setting's default (3).
   */
  discovery?: Pick<DiscoveryConfig, "minDistinctDevices">;
  /**
   * Settings of POST /api/v1/admin/list-sources/{name}/fetch (the server's [list_sources] and operator alert
   * recipients, see server.ts); without them that route answers 503.
   */
  listSourceFetch?: FetchNowDeps["config"] | null;
  /** [alerts] account_webhooks_private_targets: the webhook test route may reach private addresses. */
  accountWebhooksPrivateTargets?: boolean;
}

/** Never written to logs, whatever logs a request, a header or a body by mistake. */
export const LOG_REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "res.headers['set-cookie']",
  "headers.authorization",
  "headers.cookie",
  "*.password",
  "*.token",
  "*.access_token",
  "*.refresh_token",
  "*.dev_verification_token",
  "body.password",
  "body.token",
  "body.refresh_token",
  // Account webhook signing secrets (only ever in the creation response).
  "*.secret",
];

export const API_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** The process logger of main.ts: JSON lines on stdout, with the same redaction as buildApp's. */
export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: LOG_REDACT_PATHS, censor: "[redacted]" } });
}

function loggerOptions(logger: BuildAppOptions["logger"]): FastifyServerOptions["logger"] {
  if (logger === undefined || logger === false) return false;
  const base = logger === true ? {} : logger;
  return { ...base, redact: { paths: LOG_REDACT_PATHS, censor: "[redacted]" } };
}

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const version = options.version ?? API_VERSION;
  const store = options.rateLimitStore ?? new MemoryRateLimitStore(clock);

  const app = Fastify({
    ...(options.loggerInstance
      ? { loggerInstance: options.loggerInstance }
      : { logger: loggerOptions(options.logger) }),
    bodyLimit: config.bodyLimitBytes,
    // Fastify accepts a hop count too (proxy-addr semantics); its types omit number.
    trustProxy: config.trustProxy as boolean | string,
    // Client-sent request ids are not trusted (log forging); ours are random.
    requestIdHeader: false,
    genReqId: () => crypto.randomUUID(),
    routerOptions: { maxParamLength: 200 },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const accessTokens = createAccessTokens(
    options.jwtKeys,
    { issuer: config.jwtIssuer, audience: config.jwtAudience, ttlSeconds: config.accessTokenTtlSeconds },
    clock,
  );
  const authService = createAuthService({
    hasher: createPasswordHasher(options.passwordHashing ?? OWASP_ARGON2ID),
    accessTokens,
    loginThrottle: new LoginThrottle(
      store,
      { perEmail: config.rateLimits.loginFailuresPerEmail, perIp: config.rateLimits.loginFailuresPerIp },
      clock,
    ),
    clock,
    settings: {
      refreshTokenTtlDays: config.refreshTokenTtlDays,
      emailVerificationTtlHours: config.emailVerificationTtlHours,
    },
  });

  await app.register(errorsPlugin);
  await app.register(authPlugin, { accessTokens });
  await app.register(rateLimitPlugin, { store, clock });
  await app.register(dbPlugin, { sql: options.sql });
  await app.register(cors, {
    // Exact origins only; no credentials (tokens travel in the Authorization header, not cookies).
    origin: config.corsOrigins.length > 0 ? config.corsOrigins : false,
    methods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
    allowedHeaders: ["Authorization", "Content-Type"],
    exposedHeaders: ["Retry-After"],
    maxAge: 600,
  });
  // Graceful shutdown: requests still in flight when close() starts get "Connection: close", so their
  // keep-alive sockets end with the response instead of holding server.close() open.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", async (_request, reply) => {
    reply.header("x-content-type-options", "nosniff");
    if (closing) reply.header("connection", "close");
  });
  await app.register(openApiPlugin, { version });

  await app.register(healthRoutes, { prefix: "/api", version });
  await app.register(authRoutes, { prefix: "/api/v1/auth", authService, config });
  await app.register(accountRoutes, { prefix: "/api/v1/accounts", authService });
  // Partners, organizations, enrollments and the unenrollment state machine (server clock only).
  const unenrollService = createUnenrollService({ clock });
  await app.register(partnerRoutes, {
    prefix: "/api/v1/partners",
    partnerService: createPartnerService({ clock }),
    config,
  });
  await app.register(organizationRoutes, {
    prefix: "/api/v1/organizations",
    organizationService: createOrganizationService({ clock }),
    config,
  });
  await app.register(enrollmentRoutes, {
    prefix: "/api/v1/enrollments",
    enrollmentService: createEnrollmentService({ clock }),
    unenrollService,
  });
  await app.register(unenrollRequestRoutes, { prefix: "/api/v1", unenrollService });
  const devices =
    options.devices ??
    createDeviceRuntime({ sql: options.sql, config: config.devices, clock, rateLimitStore: store });
  if (!options.devices) app.addHook("onClose", () => devices.stop());
  await app.register(devicesRoutes, { prefix: "/api/v1/devices", devices: devices.devices });
  await app.register(blocklistRoutes, { prefix: "/api/v1/blocklist" });
  await app.register(blocklistAdminRoutes, {
    prefix: "/api/v1/admin/blocklist",
    signingKey: options.blocklistSigningKey ?? null,
    sync: devices.sync,
  });
  await app.register(adminBlocklistRoutes, { prefix: "/api/v1/admin/blocklist" });
  await app.register(reviewQueueRoutes, {
    prefix: "/api/v1/admin/review-queue",
    minDistinctDevices: options.discovery?.minDistinctDevices ?? DEFAULT_MIN_DISTINCT_DEVICES,
  });
  await app.register(adminListSourceRoutes, {
    prefix: "/api/v1/admin/list-sources",
    fetchConfig: options.listSourceFetch ?? null,
  });
  await app.register(accountWebhookRoutes, {
    prefix: "/api/v1/accounts/me/webhooks",
    privateTargets: options.accountWebhooksPrivateTargets === true,
  });
  await app.register(reportRoutes, {
    prefix: "/api/v1/enrollments",
    reportsService: createReportsService({ clock }),
  });

  return app as unknown as FastifyInstance;
}
