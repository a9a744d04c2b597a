/**
 * The job runner: graphile-worker (PostgreSQL-backed queue, pinned 0.17.3) running the job registry.
 *
 * Why graphile-worker: jobs live in the same PostgreSQL as the data (no Redis to run), workers take jobs
 * with FOR UPDATE SKIP LOCKED and are woken by LISTEN/NOTIFY; cron is built in and safe with several
 * replicas (each tick is recorded in known_crontabs, so exactly one replica queues it); job keys dedupe
 * queued jobs; named queues run the jobs of one queue serially across replicas; retries back off
 * exponentially; graceful shutdown waits for running jobs and signals them through an AbortSignal.
 *
 * Roles: the queue's schema (graphile_worker) is created and migrated by the library, so the runner connects
 * as the migration OWNER (who may CREATE SCHEMA). Job handlers never use that connection for data: they get
 * the application-role pool (row-level security on) and act as SYSTEM_ACTOR; only partition DDL uses the
 * owner pool.
 */
import { randomBytes } from "node:crypto";
import type { ServerConfig } from "@betblocker/core/config/config";
import type { JobContext, JobDefinition } from "@betblocker/core/jobs/job";
import type { Sql } from "@betblocker/db/client";
import { parseCronItems, type Runner, run, runMigrations, type TaskList } from "graphile-worker";
import { queueLogger, type WorkerLogger } from "./logger";

/** "BBQUEUEM": serialises the queue library's own migrations between replicas starting at once. */
const QUEUE_MIGRATION_LOCK_KEY = 0x4242515545554d00n;

export interface JobRunnerOptions {
  /** Migration-owner URL: the queue's connection. */
  ownerUrl: string;
  /** Application-role pool handed to jobs. */
  app: Sql;
  /** Owner pool handed to jobs (partition DDL). */
  owner: Sql;
  config: ServerConfig;
  jobs: readonly JobDefinition[];
  log: WorkerLogger;
  workerId?: string;
  /** false: no cron (tests queue jobs themselves). Default true. */
  schedules?: boolean;
  concurrency?: number;
  pollIntervalMs?: number;
  now?: () => Date;
}

export interface JobRunner {
  workerId: string;
  /** Queues a job (serial per job id across replicas; `jobKey` replaces a queued job with the same key). */
  addJob(
    id: string,
    payload?: Record<string, unknown>,
    options?: { jobKey?: string; runAt?: Date },
  ): Promise<void>;
  /** Graceful: no new jobs; running jobs see their AbortSignal, finish their batch, and are awaited. */
  stop(): Promise<void>;
  /** Settles when the runner stopped. */
  promise: Promise<void>;
}

/** Creates or upgrades the queue's schema, one replica at a time. */
export async function migrateQueue(ownerUrl: string, owner: Sql, log: WorkerLogger): Promise<void> {
  const session = await owner.reserve();
  try {
    await session`select pg_advisory_lock(${QUEUE_MIGRATION_LOCK_KEY.toString()}::bigint)`;
    try {
      await runMigrations({ connectionString: ownerUrl, logger: queueLogger(log.child("queue")) });
    } finally {
      await session`select pg_advisory_unlock(${QUEUE_MIGRATION_LOCK_KEY.toString()}::bigint)`;
    }
  } finally {
    session.release();
  }
}

export async function startJobRunner(options: JobRunnerOptions): Promise<JobRunner> {
  const workerId = options.workerId ?? `worker-${process.pid}-${randomBytes(4).toString("hex")}`;
  const log = options.log;
  const now = options.now ?? (() => new Date());
  const byId = new Map(options.jobs.map((job) => [job.id, job]));
  if (byId.size !== options.jobs.length) throw new Error("two jobs share an id");

  await migrateQueue(options.ownerUrl, options.owner, log);

  const taskList: TaskList = {};
  for (const job of options.jobs) {
    const jobLog = log.child(job.id);
    taskList[job.id] = async (payload, helpers) => {
      const parsed = job.payloadSchema.safeParse(payload ?? {});
      if (!parsed.success) {
        // A malformed payload never becomes valid: report it and drop the job instead of retrying it.
        jobLog.error(`invalid payload, job ${helpers.job.id} dropped: ${parsed.error.message}`);
        return;
      }
      const ctx: JobContext = {
        app: options.app,
        owner: options.owner,
        config: options.config,
        log: jobLog,
        signal: helpers.abortSignal,
        now,
        workerId,
        addJob: async (id, jobPayload, addOptions) => {
          await helpers.addJob(id, jobPayload, {
            queueName: id,
            maxAttempts: byId.get(id)?.maxAttempts ?? 5,
            ...(addOptions?.jobKey ? { jobKey: addOptions.jobKey } : {}),
            ...(addOptions?.runAt ? { runAt: addOptions.runAt } : {}),
          });
        },
      };
      const started = Date.now();
      const result = await job.handler(parsed.data, ctx);
      jobLog.debug(`done in ${Date.now() - started} ms`, result ?? {});
    };
  }

  const cronJobs = options.schedules === false ? [] : options.jobs.filter((job) => job.schedule);
  const parsedCronItems = parseCronItems(
    cronJobs.map((job) => ({
      task: job.id,
      match: options.config.worker.schedules[job.schedule as keyof ServerConfig["worker"]["schedules"]],
      identifier: job.id,
      options: {
        // A tick missed while no worker ran is not replayed: every job catches up on its next run anyway.
        backfillPeriod: 0,
        // At most one queued run per job: a tick while the previous run still waits replaces it.
        jobKey: `cron:${job.id}`,
        queueName: job.id,
        maxAttempts: job.maxAttempts ?? 5,
      },
    })),
  );

  const runner: Runner = await run({
    connectionString: options.ownerUrl,
    concurrency: options.concurrency ?? options.config.worker.concurrency,
    pollInterval: options.pollIntervalMs ?? options.config.worker.pollIntervalMs,
    noHandleSignals: true,
    // Handlers see the AbortSignal as soon as shutdown starts, stop between batches, and are awaited.
    gracefulShutdownAbortTimeout: 0,
    maxPoolSize: Math.max(4, (options.concurrency ?? options.config.worker.concurrency) + 2),
    logger: queueLogger(log.child("queue")),
    taskList,
    parsedCronItems,
  });

  return {
    workerId,
    async addJob(id, payload = {}, addOptions = {}) {
      if (!byId.has(id)) throw new Error(`unknown job ${id}`);
      await runner.addJob(id, payload, {
        queueName: id,
        maxAttempts: byId.get(id)?.maxAttempts ?? 5,
        ...(addOptions.jobKey ? { jobKey: addOptions.jobKey } : {}),
        ...(addOptions.runAt ? { runAt: addOptions.runAt } : {}),
      });
    },
    stop: () => runner.stop(),
    promise: runner.promise,
  };
}
