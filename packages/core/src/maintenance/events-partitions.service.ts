/**
 * Events partition upkeep (job events.partitions, spec section 7): partitions exist for the current UTC month
 * through `events_months_ahead` months ahead, and partitions of months older than `events_retention_months`
 * are detached and dropped.
 *
 * - Creation goes through ensure_events_partitions() (SECURITY DEFINER, granted to the application role).
 * - Detach and drop need the tables' owner: DETACH ... CONCURRENTLY (PostgreSQL 14+, never inside a
 *   transaction) so inserts and dashboard reads are not blocked; a partition left "detach pending" by an
 *   interrupted run is finished with FINALIZE; a table left detached but not dropped is dropped next time.
 * - One run handles at most `maxPartitions` expired partitions; a session advisory lock keeps two replicas
 *   (or a manual run) from detaching the same partition at once.
 */
import type { Sql } from "@betblocker/db/client";
import { type ActorContext, withActor } from "@betblocker/db/context";
import {
  detachEventsPartition,
  dropDetachedEventsPartition,
  ensureEventsPartitions,
  listEventsPartitions,
} from "@betblocker/db/repositories/maintenance.repository";
import { type JobLogger, noopLogger } from "../jobs/job";
import type { MaintenanceConfig } from "../jobs/worker.config";

/** "BBEVPART" as a 63-bit advisory lock key. */
const PARTITION_LOCK_KEY = 0x4242455650415254n;

export interface EventsPartitionsDeps {
  app: Sql;
  owner: Sql;
  actor: ActorContext;
  config: Pick<MaintenanceConfig, "eventsRetentionMonths" | "eventsMonthsAhead">;
  now?: () => Date;
  maxPartitions?: number;
  signal?: AbortSignal;
  log?: JobLogger;
}

export interface EventsPartitionsReport {
  ensured: string[];
  dropped: string[];
  /** Another run held the lock: nothing was detached or dropped by this one. */
  skipped: boolean;
  /** Expired partitions left for the next run (batch limit or shutdown). */
  remaining: number;
}

export function utcMonthStart(date: Date, offsetMonths = 0): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + offsetMonths, 1));
}

export async function maintainEventsPartitions(deps: EventsPartitionsDeps): Promise<EventsPartitionsReport> {
  const now = (deps.now ?? (() => new Date()))();
  const log = deps.log ?? noopLogger;
  const thisMonth = utcMonthStart(now);
  const ensured = await withActor(deps.app, deps.actor, (tx) =>
    ensureEventsPartitions(tx, thisMonth, utcMonthStart(now, deps.config.eventsMonthsAhead)),
  );
  // Kept: the current month and the `retention` months before it.
  const cutoff = utcMonthStart(now, -deps.config.eventsRetentionMonths);
  const report: EventsPartitionsReport = { ensured, dropped: [], skipped: false, remaining: 0 };

  const session = await deps.owner.reserve();
  try {
    const [lock] = await session<{ locked: boolean }[]>`
      select pg_try_advisory_lock(${PARTITION_LOCK_KEY.toString()}::bigint) as locked`;
    if (!lock?.locked) {
      report.skipped = true;
      return report;
    }
    try {
      const expired = (await listEventsPartitions(session)).filter((p) => p.month < cutoff);
      const limit = deps.maxPartitions ?? 6;
      for (const partition of expired) {
        if (report.dropped.length >= limit || deps.signal?.aborted) break;
        if (partition.state === "attached") {
          await detachEventsPartition(deps.owner, partition.name, "concurrently");
        } else if (partition.state === "detach_pending") {
          await detachEventsPartition(deps.owner, partition.name, "finalize");
        }
        await dropDetachedEventsPartition(deps.owner, partition.name);
        report.dropped.push(partition.name);
        log.info(
          `events partition ${partition.name} detached and dropped (older than ${cutoff.toISOString().slice(0, 7)})`,
        );
      }
      report.remaining = expired.length - report.dropped.length;
    } finally {
      await session`select pg_advisory_unlock(${PARTITION_LOCK_KEY.toString()}::bigint)`;
    }
  } finally {
    session.release();
  }
  return report;
}
