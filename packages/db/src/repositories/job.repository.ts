/**
 * Read-only views of the job queue's own schema (graphile_worker, created and owned by the queue library
 * when the worker starts; readable by the migration owner only). Used by `betblocker health` and tests to
 * tell whether the worker runs and whether jobs fail.
 */
import type { Queryable } from "../client";

export const JOB_QUEUE_SCHEMA = "graphile_worker";

export interface JobQueueStatus {
  /** Jobs waiting or being retried. */
  queued: number;
  /** Jobs that exhausted their attempts (kept for inspection). */
  failed: number;
  /** Jobs currently locked by a worker. */
  running: number;
  /** Last execution of each cron identifier (null: scheduled but never run). */
  cron: { identifier: string; lastExecution: Date | null }[];
}

/** null when the worker never started against this database (no queue schema yet). */
export async function jobQueueStatus(sql: Queryable): Promise<JobQueueStatus | null> {
  const [exists] = await sql<{ present: boolean }[]>`
    select to_regclass('graphile_worker._private_jobs') is not null as present`;
  if (!exists?.present) return null;
  const [counts] = await sql<{ queued: number; failed: number; running: number }[]>`
    select count(*) filter (where attempts < max_attempts and locked_at is null)::int as queued,
           count(*) filter (where attempts >= max_attempts)::int as failed,
           count(*) filter (where locked_at is not null)::int as running
    from graphile_worker._private_jobs`;
  const cron = await sql<{ identifier: string; lastExecution: Date | null }[]>`
    select identifier, last_execution as "lastExecution" from graphile_worker._private_known_crontabs order by identifier`;
  return { queued: counts?.queued ?? 0, failed: counts?.failed ?? 0, running: counts?.running ?? 0, cron };
}

export interface FailedJob {
  id: string;
  task: string;
  attempts: number;
  lastError: string | null;
  updatedAt: Date;
}

export async function listFailedJobs(sql: Queryable, limit = 20): Promise<FailedJob[]> {
  return await sql<FailedJob[]>`
    select j.id::text as id, t.identifier as task, j.attempts, j.last_error as "lastError", j.updated_at as "updatedAt"
    from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
    where j.attempts >= j.max_attempts
    order by j.updated_at desc limit ${limit}`;
}
