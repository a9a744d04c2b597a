/**
 * `npm run start:api -w @betblocker/api`: the API server.
 *
 * 1. configuration (TOML + env, validated; every violation printed, exit 1);
 * 2. database: DATABASE_URL or the embedded cluster under <data_dir>/db (started here, or shared with a
 *    running `npm start`), migrated as the owner;
 * 3. the application role: database.app_url / BETBLOCKER_APP_DATABASE_URL, else betblocker_api on the owner's
 *    server with a generated password (<data_dir>/db/app-secret.json); the pool refuses to start as a role
 *    that could bypass row-level security;
 * 4. the access-token key pair (<data_dir>/keys/jwt-ed25519.key, created 0600 on first start);
 * 5. rate-limit counters in Redis when REDIS_URL is set, else in memory;
 * 6. listen; SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close the pool, Redis and the
 *    embedded database if this process started it.
 * Devices: the blocklist signing key (<data_dir>/keys/blocklist-signing.key, created on first start) and, unless
 * api.device_tls.enabled is false, the mutual-TLS device listener (/api/v1/device/*, default 127.0.0.1:8443) with
 * its device CA and server certificate (created on first start); its URL is logged at start. On shutdown the
 * buffered heartbeats are flushed before the pool closes.
 */
import {
  ConfigError,
  describeConfig,
  loadServerConfig,
  type ServerConfig,
} from "@betblocker/core/config/config";
import { redactUrl } from "@betblocker/db/client";
import { migrate } from "@betblocker/db/migrate";
import { type DatabaseConnection, openDatabase } from "@betblocker/db/open";
import { migrationsDir } from "@betblocker/db/paths";
import { createLogger } from "./app";
import { type RunningApi, startApiServer } from "./server";

/** In-flight requests get this long after SIGTERM before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 25_000;

export async function main(): Promise<number> {
  let config: ServerConfig;
  try {
    config = loadServerConfig();
  } catch (error) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    return 1;
  }
  const log = createLogger(config.logging.level);
  // pino writes asynchronously: flush before the caller exits the process.
  const exitCode = (code: number) => new Promise<number>((resolve) => log.flush(() => resolve(code)));
  log.debug({ config: describeConfig(config) }, "configuration");

  let database: DatabaseConnection | null = null;
  let api: RunningApi | null = null;
  const release = async () => {
    await api?.stop();
    await database?.close();
  };

  try {
    database = await openDatabase({
      url: config.database.url,
      dataDir: config.dataDir,
      embeddedPort: config.database.embeddedPort,
      log: (line) => log.info(`database: ${line}`),
    });
    log.info(`database ${redactUrl(database.url)} (${database.mode})`);
    const migrated = await migrate(database.url, migrationsDir(), (line) => log.info(`migrations: ${line}`));
    log.info(`migrations: ${migrated.applied.length} applied, ${migrated.alreadyApplied} already applied`);
    api = await startApiServer({ config, database, log });
  } catch (error) {
    log.fatal({ err: error }, "API failed to start");
    await release().catch(() => {});
    return exitCode(1);
  }
  const code = await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info(`${signal}: shutting down`);
      const force = setTimeout(() => {
        log.error("shutdown grace period over, exiting");
        resolve(1);
      }, SHUTDOWN_GRACE_MS);
      force.unref();
      release().then(
        () => {
          clearTimeout(force);
          log.info("stopped");
          resolve(0);
        },
        (error: unknown) => {
          clearTimeout(force);
          log.error({ err: error }, "shutdown failed");
          resolve(1);
        },
      );
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  return exitCode(code);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
