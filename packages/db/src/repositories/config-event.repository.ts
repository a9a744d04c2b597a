/**
 * Lifecycle events of enrollments written by the API and the worker themselves (not by agents): config_change
 * (one row per changed field, spec 9.4) and unenroll (one row per step of an unenrollment). events is
 * partitioned by UTC month without a default partition (migration 0007), so the month's partition is ensured
 * first; the existence check avoids ensure_events_partition's transaction-scoped advisory lock (which would
 * serialize every writing transaction) when the partition is there, which is always but at a month's start.
 */
import type { TransactionSql } from "../client";

export interface EnrollmentEventInput {
  deviceId: number;
  enrollmentId: number;
  eventType: "config_change" | "unenroll";
  metadata: Record<string, unknown>;
  createdAt: Date;
  /**
   * Whether the enrollment's partner/authority may see the event (events.visible_to_authority, migration
   * 0015): false for a config_change when reporting_config.report_to_authority.config_changes was off.
   */
  visibleToAuthority: boolean;
}

function partitionName(at: Date): string {
  return `events_y${at.getUTCFullYear()}m${String(at.getUTCMonth() + 1).padStart(2, "0")}`;
}

export async function ensureEventPartitions(tx: TransactionSql, instants: readonly Date[]): Promise<void> {
  const months = new Map<string, Date>();
  for (const at of instants) months.set(partitionName(at), at);
  for (const [name, at] of months) {
    const [present] = await tx<{ present: boolean }[]>`
      select to_regclass(${`public.${name}`}) is not null as present`;
    if (!present?.present) {
      const month = `${at.getUTCFullYear()}-${String(at.getUTCMonth() + 1).padStart(2, "0")}-01`;
      await tx`select ensure_events_partition(${month}::date)`;
    }
  }
}

export async function insertEnrollmentEvents(
  tx: TransactionSql,
  events: readonly EnrollmentEventInput[],
): Promise<void> {
  if (events.length === 0) return;
  await ensureEventPartitions(
    tx,
    events.map((event) => event.createdAt),
  );
  const rows = JSON.stringify(
    events.map((e) => ({
      d: e.deviceId,
      e: e.enrollmentId,
      t: e.eventType,
      m: e.metadata,
      c: e.createdAt.toISOString(),
      v: e.visibleToAuthority,
    })),
  );
  await tx`
    insert into events (device_id, enrollment_id, event_type, metadata, created_at, visible_to_authority)
    select x.d, x.e, x.t::event_type, x.m, x.c, x.v
    from jsonb_to_recordset(${rows}::text::jsonb) as x(d bigint, e bigint, t text, m jsonb, c timestamptz, v boolean)`;
}
