/**
 * Reporting reads: an enrollment as its reader sees it, the enrollment's events (keyset pages), its daily
 * reporting_snapshots, and the per-day aggregates the daily summary is made of. All SQL for reporting lives
 * here; privacy decisions do not (packages/core/src/reporting/privacy.ts).
 *
 * Partition pruning: every events query bounds created_at by a half-open UTC range [from, to), so PostgreSQL
 * only opens the monthly partitions that range touches (one, for a day). The day aggregates are kept as SQL
 * text (DAY_*_SQL) so a test can EXPLAIN exactly what runs.
 */
import type { Queryable } from "../client";

export interface ReaderEnrollment {
  id: number;
  publicId: string;
  deviceId: number;
  enrolledByAccountId: number;
  /** True when the transaction's account owns the enrollment's device (rls_owns_device). */
  readerOwnsDevice: boolean;
  tier: string;
  status: string;
  /** Raw JSONB: callers validate it (reportingConfigSchema) and fail closed when it is invalid. */
  reportingConfig: unknown;
  protectionConfig: unknown;
  createdAt: Date;
}

interface ReaderEnrollmentRow {
  id: number;
  public_id: string;
  device_id: number;
  enrolled_by_account_id: number;
  reader_owns_device: boolean;
  tier: string;
  status: string;
  reporting_config: unknown;
  protection_config: unknown;
  created_at: Date;
}

function toReaderEnrollment(row: ReaderEnrollmentRow): ReaderEnrollment {
  return {
    id: row.id,
    publicId: row.public_id,
    deviceId: row.device_id,
    enrolledByAccountId: row.enrolled_by_account_id,
    readerOwnsDevice: row.reader_owns_device,
    tier: row.tier,
    status: row.status,
    reportingConfig: row.reporting_config,
    protectionConfig: row.protection_config,
    createdAt: row.created_at,
  };
}

const ENROLLMENT_COLUMNS = `e.id, e.public_id, e.device_id, e.enrolled_by_account_id,
  coalesce(rls_owns_device(e.device_id), false) as reader_owns_device, e.tier::text as tier,
  e.status::text as status, e.reporting_config, e.protection_config, e.created_at`;

/**
 * The enrollment with this public id, if the transaction's account may see it under row-level security
 * (it enrolled the device, owns it, or is an admin). Null otherwise: callers answer NOT_FOUND either way.
 */
export async function findEnrollmentByPublicId(
  sql: Queryable,
  publicId: string,
): Promise<ReaderEnrollment | null> {
  const [row] = await sql.unsafe<ReaderEnrollmentRow[]>(
    `select ${ENROLLMENT_COLUMNS} from enrollments e where e.public_id = $1`,
    [publicId],
  );
  return row ? toReaderEnrollment(row) : null;
}

/** The enrollment with this internal id, as far as row-level security lets the transaction see it. */
export async function findEnrollmentById(sql: Queryable, id: number): Promise<ReaderEnrollment | null> {
  const [row] = await sql.unsafe<ReaderEnrollmentRow[]>(
    `select ${ENROLLMENT_COLUMNS} from enrollments e where e.id = $1`,
    [id],
  );
  return row ? toReaderEnrollment(row) : null;
}

/** A position in the (created_at desc, id desc) order of an enrollment's events. */
export interface EventPosition {
  /** created_at with microseconds, UTC ("2026-03-01T10:00:00.123456Z"): exact, unlike a JS Date. */
  createdAt: string;
  id: number;
}

export interface EventPageQuery {
  enrollmentId: number;
  /** Inclusive lower bound. */
  from: Date;
  /** Exclusive upper bound. */
  to: Date;
  /** Only these event types; must not be empty (a reader who may see nothing gets no query at all). */
  eventTypes: readonly string[];
  /** Only events stored with visible_to_authority (migration 0015): the partner/authority view. */
  onlyVisibleToAuthority: boolean;
  /** Rows strictly after this position in the order. */
  after: EventPosition | null;
  limit: number;
}

export interface EventRow {
  id: number;
  eventType: string;
  metadata: unknown;
  createdAt: Date;
  position: EventPosition;
}

/**
 * One page of an enrollment's events, newest first, in a stable total order (created_at desc, id desc):
 * rows inserted while a client pages never make it skip or repeat a row. Served by
 * idx_events_enrollment_created within the partitions of [from, to).
 */
export async function listEventsPage(sql: Queryable, query: EventPageQuery): Promise<EventRow[]> {
  if (query.eventTypes.length === 0) return [];
  const params: unknown[] = [
    query.enrollmentId,
    query.from.toISOString(),
    query.to.toISOString(),
    query.eventTypes,
    query.limit,
  ];
  let after = "";
  if (query.after) {
    params.push(query.after.createdAt, query.after.id);
    after = "and (created_at, id) < ($6::timestamptz, $7::bigint)";
  }
  const rows = await sql.unsafe<
    { id: number; event_type: string; metadata: unknown; created_at: Date; position_at: string }[]
  >(
    `select id, event_type::text as event_type, metadata, created_at,
            to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as position_at
       from events
      where enrollment_id = $1
        and created_at >= $2::timestamptz and created_at < $3::timestamptz
        and event_type = any($4::event_type[])
        ${query.onlyVisibleToAuthority ? "and visible_to_authority" : ""}
        ${after}
      order by created_at desc, id desc
      limit $5`,
    params as never[],
  );
  return rows.map((row) => ({
    id: row.id,
    eventType: row.event_type,
    metadata: row.metadata,
    createdAt: row.created_at,
    position: { createdAt: row.position_at, id: row.id },
  }));
}

export interface SnapshotRow {
  /** YYYY-MM-DD */
  date: string;
  summary: unknown;
  computedAt: Date;
}

/** The stored daily snapshots of an enrollment between two dates (inclusive), oldest first. */
export async function listSnapshots(
  sql: Queryable,
  enrollmentId: number,
  fromDate: string,
  toDate: string,
): Promise<SnapshotRow[]> {
  const rows = await sql<{ date: string; summary: unknown; computed_at: Date }[]>`
    select to_char(snapshot_date, 'YYYY-MM-DD') as date, summary, computed_at
      from reporting_snapshots
     where enrollment_id = ${enrollmentId} and snapshot_date between ${fromDate}::date and ${toDate}::date
     order by snapshot_date`;
  return rows.map((row) => ({ date: row.date, summary: row.summary, computedAt: row.computed_at }));
}

/**
 * The day aggregates below share their first four parameters: enrollment id, [$2, $3) the UTC day, and $4
 * "only events visible to the enrolling account" (events.visible_to_authority, migration 0015).
 */
const DAY_FILTER = `enrollment_id = $1 and created_at >= $2::timestamptz and created_at < $3::timestamptz
     and (not $4::boolean or visible_to_authority)`;

/** Event counts per type of one enrollment in [$2, $3). */
export const DAY_EVENT_COUNTS_SQL = `
  select event_type::text as event_type, count(*)::int as count
    from events
   where ${DAY_FILTER}
   group by event_type`;

/**
 * Blocks of one enrollment in [$2, $3) by layer and category. 'block' events carry their layer; app_block
 * and install_block are application-layer blocks by definition. A block whose stored layer is missing or
 * unknown counts as dns (the layer that is always on), so the layers always add up to the total.
 */
export const DAY_BLOCK_BREAKDOWN_SQL = `
  select case
           when event_type <> 'block' then 'application'
           when metadata ->> 'layer' in ('dns', 'application', 'browser') then metadata ->> 'layer'
           else 'dns'
         end as layer,
         metadata ->> 'category' as category,
         count(*)::int as count
    from events
   where ${DAY_FILTER}
     and event_type in ('block', 'app_block', 'install_block')
   group by 1, 2`;

/** The most blocked domains of one enrollment in [$2, $3), most blocked first, ties by name; at most $5. */
export const DAY_TOP_DOMAINS_SQL = `
  select metadata ->> 'domain' as domain, count(*)::int as count
    from events
   where ${DAY_FILTER}
     and event_type = 'block' and metadata ? 'domain'
   group by 1
   order by 2 desc, 1 asc
   limit $5`;

export interface DayRange {
  enrollmentId: number;
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  /** Count only events with visible_to_authority (what the enrolling partner/authority may see). */
  onlyVisibleToAuthority: boolean;
}

function dayParams(range: DayRange): [number, string, string, boolean] {
  return [range.enrollmentId, range.from.toISOString(), range.to.toISOString(), range.onlyVisibleToAuthority];
}

export async function countEventsByType(sql: Queryable, range: DayRange): Promise<Map<string, number>> {
  const rows = await sql.unsafe<{ event_type: string; count: number }[]>(
    DAY_EVENT_COUNTS_SQL,
    dayParams(range),
  );
  return new Map(rows.map((row) => [row.event_type, row.count]));
}

export interface BlockBreakdownRow {
  layer: "dns" | "application" | "browser";
  category: string | null;
  count: number;
}

export async function blockBreakdown(sql: Queryable, range: DayRange): Promise<BlockBreakdownRow[]> {
  return await sql.unsafe<BlockBreakdownRow[]>(DAY_BLOCK_BREAKDOWN_SQL, dayParams(range));
}

export async function topBlockedDomains(
  sql: Queryable,
  range: DayRange,
  limit: number,
): Promise<{ domain: string; count: number }[]> {
  return await sql.unsafe<{ domain: string; count: number }[]>(DAY_TOP_DOMAINS_SQL, [
    ...dayParams(range),
    limit,
  ]);
}

/**
 * The UTC days in [from, to) on which the enrollment has events hidden from its enrolling account
 * (visible_to_authority false). A stored snapshot counts every event, so on these days the partner's or
 * authority's summary must be computed from the visible events instead.
 */
export async function daysWithEventsHiddenFromAuthority(
  sql: Queryable,
  enrollmentId: number,
  from: Date,
  to: Date,
): Promise<Set<string>> {
  const rows = await sql<{ day: string }[]>`
    select distinct to_char(created_at at time zone 'UTC', 'YYYY-MM-DD') as day
      from events
     where enrollment_id = ${enrollmentId}
       and created_at >= ${from.toISOString()}::timestamptz and created_at < ${to.toISOString()}::timestamptz
       and not visible_to_authority`;
  return new Set(rows.map((row) => row.day));
}

/**
 * The enrollment's device status at an instant (migration 0021: from the devices audit trail, else the current
 * status). Null when the transaction may not see the enrollment.
 */
export async function deviceStatusAt(sql: Queryable, enrollmentId: number, at: Date): Promise<string | null> {
  const [row] = await sql<{ status: string | null }[]>`
    select reporting_device_status_at(${enrollmentId}, ${at.toISOString()}::timestamptz)::text as status`;
  return row?.status ?? null;
}
