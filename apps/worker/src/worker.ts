/**
 * Starting the worker against a migrated database: the application-role pool (refused if it could bypass
 * row-level security), a small owner pool, and the job runner with every job of the registry. Used by
 * main.ts (`npm run start:worker`) and by `npm start`, which runs it in-process beside the rest.
 */
import type { ServerConfig } from "@betblocker/core/config/config";
import type { JobDefinition } from "@betblocker/core/jobs/job";
import { assertRestrictedRole, ensureAppRoleLogin } from "@betblocker/db/app-role";
import { createSql, type Sql } from "@betblocker/db/client";
import type { WorkerLogger } from "./logger";
import { JOBS } from "./registry";
import { type JobRunner, startJobRunner } from "./runner";

export interface StartWorkerOptions {
  config: ServerConfig;
  /** Migration-owner URL of the (migrated) database. */
  ownerUrl: string;
  log: WorkerLogger;
  jobs?: readonly JobDefinition[];
  /** false: no cron schedules. Default true. */
  schedules?: boolean;
  workerId?: string;
}

export interface RunningWorker {
  runner: JobRunner;
  jobs: readonly JobDefinition[];
  /** Graceful stop: running jobs finish their current batch, then the pools close. */
  stop(): Promise<void>;
}

export async function startWorker(options: StartWorkerOptions): Promise<RunningWorker> {
  const { config } = options;
  const jobs = options.jobs ?? JOBS;
  let app: Sql | null = null;
  let owner: Sql | null = null;
  try {
    const appUrl = config.database.appUrl ?? (await ensureAppRoleLogin(options.ownerUrl, config.dataDir));
    app = createSql(appUrl, { max: config.worker.concurrency + 2, applicationName: "betblocker-worker" });
    await assertRestrictedRole(app);
    owner = createSql(options.ownerUrl, { max: 2, applicationName: "betblocker-worker-ddl" });
    const runner = await startJobRunner({
      ownerUrl: options.ownerUrl,
      app,
      owner,
      config,
      jobs,
      log: options.log,
      ...(options.schedules === false ? { schedules: false } : {}),
      ...(options.workerId ? { workerId: options.workerId } : {}),
    });
    const pools = [app, owner];
    let stopped: Promise<void> | null = null;
    return {
      runner,
      jobs,
      stop() {
        stopped ??= (async () => {
          await runner.stop();
          await Promise.all(pools.map((pool) => pool.end({ timeout: 5 })));
        })();
        return stopped;
      },
    };
  } catch (error) {
    await app?.end({ timeout: 5 });
    await owner?.end({ timeout: 5 });
    throw error;
  }
}

/** One line per job for start-up logs: "list-sources.import (7 * * * *)". */
export function describeJobs(jobs: readonly JobDefinition[], config: ServerConfig): string {
  return jobs
    .map((job) => (job.schedule ? `${job.id} (${config.worker.schedules[job.schedule]})` : job.id))
    .join(", ");
}
