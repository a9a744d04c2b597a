/**
 * The admin review queue: pending federated_reports grouped by domain, together with blocklist_entries in
 * status 'review' (found by discovery), and the review decisions on them. All SQL for that lives here.
 *
 * Order contract: most distinct reporting devices first (several devices agreeing is the strongest signal),
 * then the longest waiting (oldest first report, or the review entry's added_at), then domain. The order is
 * total, so keyset pages are stable.
 */
import type { Queryable, TransactionSql } from "../client";
import type { BlocklistEntryStatus, BlocklistSource } from "./blocklist.repository";

export interface ReviewQueuePosition {
  distinctDevices: number;
  /** waiting_since with microseconds, UTC. */
  waitingSince: string;
  domain: string;
}

export interface ReviewQueueItem {
  domain: string;
  pendingReports: number;
  distinctDevices: number;
  firstReportedAt: Date | null;
  lastReportedAt: Date | null;
  heuristicTypes: string[];
  /** The blocklist entry of this domain, whatever its status (a 'review' entry is what discovery filed). */
  entry: {
    id: number;
    status: BlocklistEntryStatus;
    source: BlocklistSource;
    category: string | null;
    confidenceScore: number;
    addedAt: Date;
  } | null;
  waitingSince: Date;
  position: ReviewQueuePosition;
}

interface QueueRow {
  domain: string;
  pending_reports: number;
  distinct_devices: number;
  first_reported_at: Date | null;
  last_reported_at: Date | null;
  heuristic_types: string[];
  entry_id: number | null;
  entry_status: BlocklistEntryStatus | null;
  entry_source: BlocklistSource | null;
  entry_category: string | null;
  entry_confidence: number | null;
  entry_added_at: Date | null;
  waiting_since: Date;
  waiting_since_text: string;
}

export async function listReviewQueue(
  sql: Queryable,
  page: { after: ReviewQueuePosition | null; limit: number; minDistinctDevices: number },
): Promise<ReviewQueueItem[]> {
  const params: unknown[] = [page.limit];
  let after = "";
  if (page.after) {
    params.push(page.after.distinctDevices, page.after.waitingSince, page.after.domain);
    after = `where q.distinct_devices < $2
                or (q.distinct_devices = $2 and (q.waiting_since > $3::timestamptz
                    or (q.waiting_since = $3::timestamptz and q.domain > $4::text)))`;
  }
  params.push(page.minDistinctDevices);
  const kParam = params.length;
  const rows = await sql.unsafe<QueueRow[]>(
    `with reports as (
       select domain,
              count(*)::int as pending_reports,
              count(distinct device_id)::int as distinct_devices,
              min(reported_at) as first_reported_at,
              max(reported_at) as last_reported_at,
              coalesce(array_agg(distinct heuristic_match_type) filter (where heuristic_match_type is not null),
                       '{}')::text[] as heuristic_types
         from federated_reports
        where review_status = 'pending'
        group by domain
        -- k-anonymity: a domain reported by fewer than k distinct devices is not shown to reviewers.
       having count(distinct device_id) >= $${kParam}
     ), candidates as (
       select domain from reports
       union
       select domain from blocklist_entries where status = 'review'
     ), queue as (
       select c.domain,
              coalesce(r.pending_reports, 0) as pending_reports,
              coalesce(r.distinct_devices, 0) as distinct_devices,
              r.first_reported_at, r.last_reported_at,
              coalesce(r.heuristic_types, '{}') as heuristic_types,
              e.id as entry_id, e.status::text as entry_status, e.source::text as entry_source,
              e.category as entry_category, e.confidence_score as entry_confidence, e.added_at as entry_added_at,
              least(r.first_reported_at, case when e.status = 'review' then e.added_at end) as waiting_since
         from candidates c
         left join reports r on r.domain = c.domain
         left join blocklist_entries e on e.domain = c.domain
     )
     select q.*, to_char(q.waiting_since at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as waiting_since_text
       from queue q
       ${after}
      order by q.distinct_devices desc, q.waiting_since asc, q.domain asc
      limit $1::int`,
    params as never[],
  );
  return rows.map((row) => ({
    domain: row.domain,
    pendingReports: row.pending_reports,
    distinctDevices: row.distinct_devices,
    firstReportedAt: row.first_reported_at,
    lastReportedAt: row.last_reported_at,
    heuristicTypes: row.heuristic_types,
    entry:
      row.entry_id === null
        ? null
        : {
            id: row.entry_id,
            status: row.entry_status as BlocklistEntryStatus,
            source: row.entry_source as BlocklistSource,
            category: row.entry_category,
            confidenceScore: row.entry_confidence ?? 0,
            addedAt: row.entry_added_at as Date,
          },
    waitingSince: row.waiting_since,
    position: {
      distinctDevices: row.distinct_devices,
      waitingSince: row.waiting_since_text,
      domain: row.domain,
    },
  }));
}

/** Locks the domain's pending reports FOR UPDATE and returns how many there are. */
export async function lockPendingReports(tx: TransactionSql, domain: string): Promise<number> {
  const rows = await tx<{ id: number }[]>`
    select id from federated_reports where domain = ${domain} and review_status = 'pending' for update`;
  return rows.length;
}

export type ReviewOutcome = "confirmed" | "rejected" | "duplicate";

/**
 * Resolves every pending report of the domain: review_status, the reviewing admin, and the entry it was
 * resolved to (null for rejections). Returns how many reports changed.
 */
export async function resolvePendingReports(
  tx: TransactionSql,
  domain: string,
  resolution: { outcome: ReviewOutcome; reviewedByAccountId: number; entryId: number | null },
): Promise<number> {
  const rows = await tx<{ id: number }[]>`
    update federated_reports
       set review_status = ${resolution.outcome}::federated_report_status,
           reviewed_by_account_id = ${resolution.reviewedByAccountId},
           resolved_to_entry_id = ${resolution.entryId}
     where domain = ${domain} and review_status = 'pending'
     returning id`;
  return rows.length;
}
