/**
 * reporting_snapshots writes of the worker (job reporting.snapshots): which enrollments a day covers and the
 * idempotent upsert of one day's summary. Callers pass a transaction opened as the worker (SYSTEM_ACTOR,
 * role 'admin', which the reporting_snapshots and enrollments policies admit). No events are read here:
 * the summary itself (core reporting/daily-summary) reads only the day's range, hence one partition.
 */
import type { TransactionSql } from "../client";

/**
 * Enrollments active at some time in [dayStart, dayEnd), by id after `afterId` (keyset), at most `limit`:
 * created before the day ends and not unenrolled before it began (an unenrolled enrollment's updated_at is
 * when it ended: 'unenrolled' is final, the guard trigger refuses later changes of it).
 */
export async function listEnrollmentsActiveOn(
  tx: TransactionSql,
  range: { dayStart: Date; dayEnd: Date },
  afterId: number,
  limit: number,
): Promise<number[]> {
  const rows = await tx<{ id: number }[]>`
    select id from enrollments
    where id > ${afterId}
      and created_at < ${range.dayEnd}
      and (status <> 'unenrolled' or updated_at >= ${range.dayStart})
    order by id
    limit ${limit}`;
  return rows.map((row) => Number(row.id));
}

/** Inserts or replaces the snapshot of (enrollment, date). */
export async function upsertReportingSnapshot(
  tx: TransactionSql,
  snapshot: { enrollmentId: number; date: string; summary: Record<string, unknown>; computedAt: Date },
): Promise<void> {
  await tx`
    insert into reporting_snapshots (enrollment_id, snapshot_date, summary, computed_at)
    values (${snapshot.enrollmentId}, ${snapshot.date}::date, ${tx.json(snapshot.summary as never)}, ${snapshot.computedAt})
    on conflict (enrollment_id, snapshot_date) do update
      set summary = excluded.summary, computed_at = excluded.computed_at`;
}
