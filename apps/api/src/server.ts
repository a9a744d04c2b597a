/**
 * startApiServer: the API and its mutual-TLS device listener on an already opened, migrated database. Used by
 * main.ts (`npm run start:api`) and by `npm start`, which runs the whole platform in one process.
 */
import { loadOrCreateJwtKeyPair } from "@betblocker/core/auth/jwt-keys";
import { MemoryRateLimitStore, type RateLimitStore } from "@betblocker/core/auth/rate-limit";
import { ensureSigningKeyPair } from "@betblocker/core/blocklist/signing-key";
import type { ServerConfig } from "@betblocker/core/config/config";
import { createDeviceRuntime, type DeviceRuntime } from "@betblocker/core/devices/device-runtime";
import { assertRestrictedRole, ensureAppRoleLogin } from "@betblocker/db/app-role";
import { createSql, redactUrl, type Sql } from "@betblocker/db/client";
import type { DatabaseConnection } from "@betblocker/db/open";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { buildApp } from "./app";
import { buildDeviceApp, DEVICE_API_PREFIX } from "./device-server/device-app";
import { loadDeviceTls } from "./device-server/device-tls";
import { RedisRateLimitStore } from "./rate-limit/redis-store";

export interface RunningApi {
  /** Base URL of the web/JSON API. */
  url: string;
  /** Base URL of the device API (mutual TLS), or null when disabled. */
  deviceUrl: string | null;
  /** Stops accepting, lets in-flight requests finish, flushes heartbeats, closes the pool and Redis. */
  stop(): Promise<void>;
}

export async function startApiServer(options: {
  config: ServerConfig;
  database: DatabaseConnection;
  log: Logger;
}): Promise<RunningApi> {
  const { config, database, log } = options;
  let sql: Sql | null = null;
  let redis: RedisRateLimitStore | null = null;
  let app: FastifyInstance | null = null;
  let deviceApp: FastifyInstance | null = null;
  let devices: DeviceRuntime | null = null;
  let deviceUrl: string | null = null;

  const closeServer = async (instance: FastifyInstance) => {
    // Sockets that turn idle after close() began (a keep-alive client between requests) would keep the server
    // open until their keep-alive timeout: close them as they appear.
    const server = instance.server;
    const sweep = setInterval(() => server.closeIdleConnections(), 250);
    try {
      await instance.close();
    } finally {
      clearInterval(sweep);
    }
  };
  const stop = async () => {
    if (deviceApp) await closeServer(deviceApp);
    if (app) await closeServer(app);
    await devices?.stop();
    await sql?.end({ timeout: 5 });
    await redis?.close();
  };

  try {
    const appUrl = config.database.appUrl ?? (await ensureAppRoleLogin(database.url, config.dataDir));
    sql = createSql(appUrl, { max: config.api.dbPoolSize, applicationName: "betblocker-api" });
    await assertRestrictedRole(sql);

    const { keys, created } = loadOrCreateJwtKeyPair(config.api.jwtPrivateKeyPath);
    log.info(`access-token key ${config.api.jwtPrivateKeyPath} (${created ? "created" : "existing"})`);

    let rateLimitStore: RateLimitStore;
    if (config.api.redisUrl) {
      redis = new RedisRateLimitStore({
        url: config.api.redisUrl,
        onError: (error) => log.error({ err: error }, "redis rate-limit store failed (requests allowed)"),
      });
      await redis.connect();
      rateLimitStore = redis;
      log.info(`rate limits in Redis ${redactUrl(config.api.redisUrl)}`);
    } else {
      rateLimitStore = new MemoryRateLimitStore();
    }
    if (config.api.exposeDevTokens)
      log.warn("api.expose_dev_tokens is on: development only, never in production");

    const signing = ensureSigningKeyPair(config.blocklist);
    log.info(
      `blocklist signing key ${signing.pair.privatePath} (${signing.created ? "created" : "existing"}, key id ${signing.pair.keyId})`,
    );
    const deviceTls = config.api.deviceTls.enabled ? await loadDeviceTls(config.api.deviceTls) : null;
    if (deviceTls) {
      log.info(
        `device CA ${config.api.deviceTls.caCertPath} (${deviceTls.created.ca ? "created" : "existing"}), server certificate ${config.api.deviceTls.serverCertPath} (${deviceTls.created.serverCertificate ? "created" : "existing"})`,
      );
    }
    devices = createDeviceRuntime({
      sql,
      config: config.api.devices,
      clock: () => new Date(),
      rateLimitStore,
      ca: deviceTls?.ca ?? null,
      blocklistPublicKey: signing.pair.publicKey,
      log,
    });
    devices.start();

    app = await buildApp({
      config: config.api,
      sql,
      jwtKeys: keys,
      rateLimitStore,
      loggerInstance: log as FastifyBaseLogger,
      devices,
      blocklistSigningKey: signing.pair,
      listSourceFetch: { listSources: config.listSources, alerts: config.alerts },
      discovery: config.discovery,
      accountWebhooksPrivateTargets: config.alerts.accountWebhooksPrivateTargets,
    });
    await app.listen({ host: config.api.host, port: config.api.port });
    if (deviceTls) {
      deviceApp = await buildDeviceApp({
        runtime: devices,
        tls: deviceTls.material,
        loggerInstance: log as FastifyBaseLogger,
      });
      const { host, port } = config.api.deviceTls;
      await deviceApp.listen({ host, port });
      const address = deviceApp.server.address();
      const boundPort = address && typeof address === "object" ? address.port : port;
      deviceUrl = `https://${host.includes(":") ? `[${host}]` : host}:${boundPort}${DEVICE_API_PREFIX}/`;
      log.info(`device API (mutual TLS) at ${deviceUrl} (clients trust ${config.api.deviceTls.caCertPath})`);
    }
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  const address = app.server.address();
  const port = address && typeof address === "object" ? address.port : config.api.port;
  const host = config.api.host.includes(":") ? `[${config.api.host}]` : config.api.host;
  return { url: `http://${host}:${port}`, deviceUrl, stop };
}
