/**
 * Daily reporting snapshots (worker job reporting.snapshots): for each UTC day of a range and each
 * enrollment active on that day, computeDailySummary is upserted into reporting_snapshots
 * (enrollment_id, snapshot_date). The scheduled run does yesterday; a queued run with { from, to }
 * recomputes a range (e.g. after a fix or late events).
 *
 * Bounded: batches of batchSize enrollments, each its own transaction, at most maxBatches per run; when the
 * limit is reached the run returns a cursor (day + last enrollment id) and the job queues the rest.
 * Idempotent: an upsert per (enrollment, day), so a rerun or two workers at once end with one row each.
 * Each summary reads only its own day of events (one monthly partition).
 */
import { AppError } from "@betblocker/common/errors/app-error";
import type { Sql } from "@betblocker/db/client";
import { withActor } from "@betblocker/db/context";
import {
  listEnrollmentsActiveOn,
  upsertReportingSnapshot,
} from "@betblocker/db/repositories/snapshot.repository";
import { SYSTEM_ACTOR } from "../jobs/job";
import { computeDailySummary } from "../reporting/daily-summary";
import { addDays, daysInRange, MAX_RANGE_DAYS, startOfUtcDay, utcDay } from "../reporting/date-range";

export interface SnapshotCursor {
  /** YYYY-MM-DD: the day being processed. */
  date: string;
  /** Enrollments up to this id are done for `date`. */
  afterId: number;
}

export interface ReportingSnapshotsOptions {
  /** YYYY-MM-DD, inclusive. */
  from: string;
  /** YYYY-MM-DD, inclusive. */
  to: string;
  /** Resume point of an earlier run of the same range. */
  cursor?: SnapshotCursor | null;
  now: Date;
  batchSize?: number;
  maxBatches?: number;
  signal?: AbortSignal;
}

export interface ReportingSnapshotsReport {
  snapshots: number;
  /** Where to resume (batch limit or shutdown), or null when the range is done. */
  next: SnapshotCursor | null;
}

/** Yesterday (UTC) of `now`. */
export function yesterdayUtc(now: Date): string {
  return addDays(utcDay(now), -1);
}

function checkRange(from: string, to: string, now: Date): void {
  const valid = (d: string) => /^\d{4}-\d{2}-\d{2}$/.test(d) && utcDay(startOfUtcDay(d)) === d;
  if (!valid(from) || !valid(to))
    throw new AppError("VALIDATION_FAILED", "from and to must be dates (YYYY-MM-DD)");
  if (from > to) throw new AppError("VALIDATION_FAILED", "from must not be after to");
  if (daysInRange(from, to) > MAX_RANGE_DAYS)
    throw new AppError("VALIDATION_FAILED", `at most ${MAX_RANGE_DAYS} days per range`);
  if (to > utcDay(now)) throw new AppError("VALIDATION_FAILED", "to must not be in the future");
}

export async function runReportingSnapshots(
  sql: Sql,
  options: ReportingSnapshotsOptions,
): Promise<ReportingSnapshotsReport> {
  checkRange(options.from, options.to, options.now);
  const batchSize = options.batchSize ?? 200;
  const maxBatches = options.maxBatches ?? 50;
  let date = options.cursor?.date ?? options.from;
  if (date < options.from || date > options.to) date = options.from;
  let afterId = options.cursor?.date === date ? options.cursor.afterId : 0;
  let snapshots = 0;

  for (let batch = 0; ; batch += 1) {
    if (batch >= maxBatches || options.signal?.aborted) return { snapshots, next: { date, afterId } };
    const day = date;
    const dayStart = startOfUtcDay(day);
    const dayEnd = startOfUtcDay(addDays(day, 1));
    const done = await withActor(sql, SYSTEM_ACTOR, async (tx) => {
      const ids = await listEnrollmentsActiveOn(tx, { dayStart, dayEnd }, afterId, batchSize);
      for (const enrollmentId of ids) {
        const summary = await computeDailySummary(tx, enrollmentId, day, { now: options.now });
        await upsertReportingSnapshot(tx, {
          enrollmentId,
          date: day,
          summary: summary as unknown as Record<string, unknown>,
          computedAt: options.now,
        });
      }
      return ids;
    });
    snapshots += done.length;
    const last = done.at(-1);
    if (done.length === batchSize && last !== undefined) {
      afterId = last;
      continue;
    }
    if (date >= options.to) return { snapshots, next: null };
    date = addDays(date, 1);
    afterId = 0;
  }
}
