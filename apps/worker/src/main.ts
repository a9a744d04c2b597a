/**
 * `npm run start:worker`: the background worker.
 *
 * 1. configuration (TOML + env, validated; every violation printed, exit 1);
 * 2. database: DATABASE_URL or the embedded cluster (started here, or shared with a running `npm start`),
 *    migrated as the owner;
 * 3. the job queue's schema (graphile_worker, created by the library as the owner), the application-role
 *    pool for the jobs' data (row-level security applies), the job runner with every job and its schedule;
 * 4. SIGTERM/SIGINT: no new jobs; running jobs see their AbortSignal, finish the batch in hand and return;
 *    after worker.shutdown_grace_seconds the process exits anyway (unfinished batches are redone by the next
 *    run: every job is idempotent).
 */
import { existsSync } from "node:fs";
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
import { createWorkerLogger } from "./logger";
import { describeJobs, type RunningWorker, startWorker } from "./worker";

export async function main(): Promise<number> {
  let config: ServerConfig;
  try {
    config = loadServerConfig();
  } catch (error) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    return 1;
  }
  const log = createWorkerLogger({ level: config.logging.level, format: config.logging.format });
  log.debug("configuration", { config: describeConfig(config) });

  let database: DatabaseConnection | null = null;
  let worker: RunningWorker | null = null;
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
    if (!existsSync(config.blocklist.signingKeyPath))
      log.warn(
        `no signing key at ${config.blocklist.signingKeyPath}: blocklist.compile fails until \`betblocker keys generate\``,
      );
    if (config.alerts.operatorEmails.length === 0 && config.alerts.operatorWebhooks.length === 0)
      log.warn(
        "no operator alert recipients (alerts.operator_emails / operator_webhooks): failing sources alert nobody",
      );
    worker = await startWorker({ config, ownerUrl: database.url, log });
    log.info(`worker ${worker.runner.workerId} running: ${describeJobs(worker.jobs, config)}`);
  } catch (error) {
    log.error(`worker failed to start: ${error instanceof Error ? error.message : String(error)}`);
    await worker?.stop().catch(() => {});
    await database?.close().catch(() => {});
    return 1;
  }

  const running = worker;
  const db = database;
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info(`${signal}: finishing running jobs (at most ${config.worker.shutdownGraceSeconds} s)`);
      const force = setTimeout(() => {
        log.error(
          "shutdown grace period over, exiting with jobs still running (they are redone by the next run)",
        );
        resolve(1);
      }, config.worker.shutdownGraceSeconds * 1000);
      force.unref();
      running
        .stop()
        .then(() => db.close())
        .then(
          () => {
            clearTimeout(force);
            log.info("stopped");
            resolve(0);
          },
          (error: unknown) => {
            clearTimeout(force);
            log.error(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
            resolve(1);
          },
        );
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
