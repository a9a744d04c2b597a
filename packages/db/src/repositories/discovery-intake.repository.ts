/**
 * Federated intake (migration 0030): pending federated_reports aggregated by domain, the candidates that
 * reached k distinct devices, and the automated blocklist entries discovery files. federated_reports,
 * discovery_candidates, blocklist_entries and allowlist_entries are global (no row-level security); callers
 * still use a transaction opened as the worker (SYSTEM_ACTOR) for the audit trail.
 */
import type { TransactionSql } from "../client";

export interface DomainReportStats {
  domain: string;
  distinctDevices: number;
  firstReportedAt: Date;
  lastReportedAt: Date;
}

/**
 * Domains with pending reports from at least `minDevices` distinct devices that are not candidates yet,
 * longest waiting first.
 */
export async function findNewCandidateDomains(
  tx: TransactionSql,
  minDevices: number,
  limit: number,
): Promise<DomainReportStats[]> {
  const rows = await tx<{ domain: string; distinct_devices: number; first_at: Date; last_at: Date }[]>`
    select r.domain, count(distinct r.device_id)::int as distinct_devices,
           min(r.reported_at) as first_at, max(r.reported_at) as last_at
    from federated_reports r
    where r.review_status = 'pending'
      and not exists (select 1 from discovery_candidates c where c.domain = r.domain)
    group by r.domain
    having count(distinct r.device_id) >= ${minDevices}
    order by min(r.reported_at), r.domain
    limit ${limit}`;
  return rows.map((row) => ({
    domain: row.domain,
    distinctDevices: row.distinct_devices,
    firstReportedAt: row.first_at,
    lastReportedAt: row.last_at,
  }));
}

/** Brings the device counts of existing candidates up to date with their pending reports. */
export async function refreshCandidateCounts(tx: TransactionSql): Promise<number> {
  const result = await tx`
    update discovery_candidates c
    set distinct_devices = x.n, last_reported_at = greatest(c.last_reported_at, x.last_at)
    from (select domain, count(distinct device_id)::int as n, max(reported_at) as last_at
            from federated_reports where review_status = 'pending' group by domain) x
    where x.domain = c.domain and (c.distinct_devices <> x.n or c.last_reported_at < x.last_at)`;
  return result.count;
}

export interface DomainState {
  allowlisted: boolean;
  entry: { id: number; status: string } | null;
}

export async function domainState(tx: TransactionSql, domain: string): Promise<DomainState> {
  const [row] = await tx<{ allowlisted: boolean; entry_id: number | null; entry_status: string | null }[]>`
    select exists (select 1 from allowlist_entries a
                   where a.domain = ${domain} or right(${domain}::text, length(a.domain) + 1) = '.' || a.domain) as allowlisted,
           (select id from blocklist_entries where domain = ${domain}) as entry_id,
           (select status::text from blocklist_entries where domain = ${domain}) as entry_status`;
  return {
    allowlisted: row?.allowlisted ?? false,
    entry:
      row?.entry_id === null || row?.entry_id === undefined
        ? null
        : { id: Number(row.entry_id), status: row.entry_status ?? "" },
  };
}

export type CandidateOutcome = "auto_added" | "review" | "queued" | "allowlisted" | "existing";

/** Records the candidate; false when another run recorded it first (then it does nothing more). */
export async function insertCandidate(
  tx: TransactionSql,
  candidate: DomainReportStats & {
    score: number;
    signals: readonly string[];
    outcome: CandidateOutcome;
    entryId: number | null;
    at: Date;
  },
): Promise<boolean> {
  const rows = await tx<{ domain: string }[]>`
    insert into discovery_candidates (domain, distinct_devices, first_reported_at, last_reported_at,
                                      confidence_score, signals, outcome, blocklist_entry_id, queued_at)
    values (${candidate.domain}, ${candidate.distinctDevices}, ${candidate.firstReportedAt},
            ${candidate.lastReportedAt}, ${candidate.score}, ${candidate.signals as string[]}::text[],
            ${candidate.outcome}, ${candidate.entryId}, ${candidate.at})
    on conflict (domain) do nothing
    returning domain`;
  return rows.length === 1;
}

export async function setCandidateEntry(
  tx: TransactionSql,
  domain: string,
  outcome: CandidateOutcome,
  entryId: number | null,
): Promise<void> {
  await tx`
    update discovery_candidates set outcome = ${outcome}, blocklist_entry_id = ${entryId} where domain = ${domain}`;
}

/**
 * Files an automated blocklist entry, unless the domain already has one or is allowlisted, itself or a parent
 * domain (checked in the same statement). Returns its id, or null when nothing was inserted.
 */
export async function insertAutomatedEntry(
  tx: TransactionSql,
  entry: { domain: string; status: "active" | "review"; confidenceScore: number },
): Promise<number | null> {
  const rows = await tx<{ id: number }[]>`
    insert into blocklist_entries (domain, source, status, confidence_score)
    select ${entry.domain}, 'automated', ${entry.status}::blocklist_entry_status, ${entry.confidenceScore}
    where not exists (select 1 from allowlist_entries a
                      where a.domain = ${entry.domain} or right(${entry.domain}::text, length(a.domain) + 1) = '.' || a.domain)
    on conflict (domain) do nothing
    returning id`;
  return rows[0] ? Number(rows[0].id) : null;
}

/** Marks the domain's pending reports confirmed by an automated entry (they leave the review queue). */
export async function confirmPendingReports(
  tx: TransactionSql,
  domain: string,
  entryId: number,
): Promise<number> {
  const result = await tx`
    update federated_reports set review_status = 'confirmed', resolved_to_entry_id = ${entryId}
    where domain = ${domain} and review_status = 'pending'`;
  return result.count;
}
