/**
 * events (agent batches) and device_event_batches (migration 0015). One statement stores a batch: the events
 * (INSERT ... ON CONFLICT (event_uid, created_at) DO NOTHING: an event already stored from an earlier batch is
 * a duplicate) and the batch's idempotency record with its outcome. A batch whose record exists already
 * inserts nothing; the caller then answers with the stored outcome. Runs as the device's owner (the batch
 * record is under row-level security; events has none, spec section 6).
 */
import type { Queryable, TransactionSql } from "../client";

export type EventTypeName =
  | "block"
  | "bypass_attempt"
  | "tamper"
  | "heartbeat"
  | "config_change"
  | "unenroll"
  | "app_block"
  | "install_block"
  | "vpn_detected"
  | "extension_removed";

export interface EventInsertRow {
  eventUid: string;
  eventType: EventTypeName;
  metadata: Record<string, unknown>;
  /** The partition key: the event's occurred_at (or the receive time for a clamped alert). */
  createdAt: Date;
  visibleToAuthority: boolean;
}

export interface RejectedItem {
  id: string;
  code: string;
  message: string;
}

export interface EventBatchWrite {
  deviceId: number;
  enrollmentId: number | null;
  batchId: string;
  /** Events in the batch, drop notices and rejected ones included. */
  eventCount: number;
  /** Unique by eventUid. */
  rows: readonly EventInsertRow[];
  /** Counted as accepted without a row (drop notices). */
  acceptedWithoutRow: number;
  /** Counted as duplicates without a row (an event_id repeated inside the batch). */
  duplicatesWithoutRow: number;
  rejected: readonly RejectedItem[];
  droppedEvents: number;
}

export interface EventBatchOutcome {
  accepted: number;
  duplicates: number;
  rejected: RejectedItem[];
}

export type EventBatchResult =
  | { kind: "stored"; outcome: EventBatchOutcome; inserted: number }
  | { kind: "replay"; outcome: EventBatchOutcome };

/**
 * Stores a batch and its idempotency record in one statement (see the file comment). `rows` travel as one
 * JSON parameter (jsonb_to_recordset): one value to bind and parse instead of seven arrays.
 */
export async function insertEventBatch(
  tx: TransactionSql,
  batch: EventBatchWrite,
): Promise<EventBatchResult> {
  const rowsJson = JSON.stringify(
    batch.rows.map((row) => ({
      u: row.eventUid,
      t: row.eventType,
      m: row.metadata,
      c: row.createdAt.toISOString(),
      v: row.visibleToAuthority,
    })),
  );
  const rejectedJson = JSON.stringify(batch.rejected);
  const [result] = await tx<{ inserted: number; accepted: number | null; duplicates: number | null }[]>`
    with ins as (
      insert into events (device_id, enrollment_id, event_type, metadata, created_at, event_uid, visible_to_authority)
      select ${batch.deviceId}, ${batch.enrollmentId}, r.t, r.m, r.c, r.u, r.v
        from jsonb_to_recordset(${rowsJson}::text::jsonb) as r(u uuid, t event_type, m jsonb, c timestamptz, v boolean)
       where not exists (select 1 from device_event_batches b
                          where b.device_id = ${batch.deviceId} and b.batch_id = ${batch.batchId}::uuid)
      on conflict (event_uid, created_at) do nothing
      returning 1
    ), rec as (
      insert into device_event_batches (device_id, batch_id, event_count, accepted, duplicates, rejected, dropped_events)
      select ${batch.deviceId}, ${batch.batchId}::uuid, ${batch.eventCount},
             (select count(*) from ins) + ${batch.acceptedWithoutRow},
             ${batch.rows.length} - (select count(*) from ins) + ${batch.duplicatesWithoutRow},
             ${rejectedJson}::text::jsonb, ${batch.droppedEvents}
      on conflict (device_id, batch_id) do nothing
      returning accepted, duplicates
    )
    select (select count(*)::int from ins) as inserted,
           (select accepted from rec) as accepted,
           (select duplicates from rec) as duplicates`;
  if (result && result.accepted !== null && result.duplicates !== null) {
    return {
      kind: "stored",
      inserted: result.inserted,
      outcome: { accepted: result.accepted, duplicates: result.duplicates, rejected: [...batch.rejected] },
    };
  }
  const stored = await findEventBatchOutcome(tx, batch.deviceId, batch.batchId);
  if (!stored) throw new Error("event batch neither stored nor found");
  return { kind: "replay", outcome: stored };
}

/** The outcome recorded for a batch, or null when the device never sent it. */
export async function findEventBatchOutcome(
  sql: Queryable,
  deviceId: number,
  batchId: string,
): Promise<EventBatchOutcome | null> {
  const [row] = await sql<{ accepted: number; duplicates: number; rejected: RejectedItem[] }[]>`
    select accepted, duplicates, rejected from device_event_batches
    where device_id = ${deviceId} and batch_id = ${batchId}::uuid`;
  return row ? { accepted: row.accepted, duplicates: row.duplicates, rejected: row.rejected } : null;
}

/** Creates (idempotently) the events partition of the UTC month containing `month`; returns its name. */
export async function ensureEventsPartition(sql: Queryable, month: Date): Promise<string> {
  const [row] = await sql<{ name: string }[]>`
    select ensure_events_partition(${month.toISOString().slice(0, 10)}::date) as name`;
  if (!row) throw new Error("ensure_events_partition returned no row");
  return row.name;
}

/** PostgreSQL's answer to a row for which no partition exists (a month never ensured, or detached). */
export function isMissingPartitionError(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return (
    e?.code === "23514" && typeof e.message === "string" && e.message.includes("no partition of relation")
  );
}
