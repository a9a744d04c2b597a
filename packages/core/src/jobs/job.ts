/**
 * The shape of a worker job (style item 8): an id, a zod payload schema and a handler, one file per job under
 * apps/worker/src/jobs. The handler gets a JobContext: pools, configuration, a logger, the clock and an
 * AbortSignal that fires on shutdown (finish the current batch, then return; the rest waits for the next run).
 *
 * Contracts every handler keeps:
 * - idempotent: running it twice, or on two replicas at once, has the effect of running it once
 *   (row locks with SKIP LOCKED, leases, advisory locks, unique keys);
 * - bounded: one run does at most a configured number of batches, each its own transaction, so a crash loses
 *   at most the batch in flight, which the next run redoes;
 * - data access as the application role with an explicit actor (SYSTEM_ACTOR), so row-level security and the
 *   audit trail apply; the owner pool is only for the queue's schema and partition DDL.
 */
import type { Sql } from "@betblocker/db/client";
import type { ActorContext } from "@betblocker/db/context";
import type { z } from "zod";
import type { ServerConfig } from "../config/config";
import type { ScheduleName } from "./worker.config";

/**
 * The worker's identity for row-level security and the audit trail: no account, role 'admin' (the policies
 * admit 'admin' for cross-tenant housekeeping such as token cleanup and the alert outbox), no client IP.
 */
export const SYSTEM_ACTOR: ActorContext = Object.freeze({ accountId: null, role: "admin", ip: null });

export interface JobLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface JobContext {
  /** Application-role pool (row-level security applies); open transactions with SYSTEM_ACTOR. */
  app: Sql;
  /** Migration-owner pool: partition DDL only. */
  owner: Sql;
  config: ServerConfig;
  log: JobLogger;
  /** Fires when the worker shuts down: stop between batches. */
  signal: AbortSignal;
  now: () => Date;
  /** Unique per worker process (leases). */
  workerId: string;
  /** Queues a job (e.g. the same job again when a run stopped at its batch limit with work left). */
  addJob(
    id: string,
    payload: Record<string, unknown>,
    options?: { jobKey?: string; runAt?: Date },
  ): Promise<void>;
}

export interface JobDefinition<Schema extends z.ZodType = z.ZodType> {
  /** Queue task identifier, "area.action". */
  id: string;
  payloadSchema: Schema;
  /** Config key of the cron schedule (worker.schedules); absent for jobs that are only queued. */
  schedule?: ScheduleName;
  /** Attempts before the queue gives up on one job (retries use the queue's exponential backoff). Default 5. */
  maxAttempts?: number;
  handler(payload: z.output<Schema>, ctx: JobContext): Promise<Record<string, unknown> | undefined>;
}

/** Declares a job with its payload type inferred from the schema. */
export function defineJob<Schema extends z.ZodType>(job: JobDefinition<Schema>): JobDefinition<Schema> {
  return job;
}

export const noopLogger: JobLogger = { info() {}, warn() {}, error() {} };
