/**
 * federated_reports filed by agents (FederatedReportBatch). One row per device, domain and UTC day
 * (uq_federated_reports_device_domain_day, migration 0016): a repeat is a duplicate, never a second row.
 * federated_reports is global (admin review queue, no row-level security).
 */
import type { Queryable } from "../client";

export interface FederatedReportInsert {
  /** Normalized domain. */
  domain: string;
  /** federated_reports.heuristic_match_type ("keyword", ...), or null when the agent did not say. */
  heuristicMatchType: string | null;
}

/** Inserts the reports that are new for the device today; returns the domains inserted. */
export async function insertFederatedReports(
  sql: Queryable,
  deviceId: number,
  reports: readonly FederatedReportInsert[],
  reportedAt: Date,
): Promise<Set<string>> {
  if (reports.length === 0) return new Set();
  const rows = await sql<{ domain: string }[]>`
    insert into federated_reports (device_id, domain, heuristic_match_type, reported_at)
    select ${deviceId}, r.domain, r.heuristic, ${reportedAt}
      from unnest(${reports.map((r) => r.domain)}::text[], ${reports.map((r) => r.heuristicMatchType)}::text[])
           as r(domain, heuristic)
    on conflict (device_id, domain, ((reported_at at time zone 'UTC')::date)) do nothing
    returning domain`;
  return new Set(rows.map((row) => row.domain));
}

/** Which of `domains` need no review: already actively blocked, or allowlisted help resources. */
export async function findSettledDomains(sql: Queryable, domains: readonly string[]): Promise<Set<string>> {
  if (domains.length === 0) return new Set();
  const rows = await sql<{ domain: string }[]>`
    select domain from blocklist_entries where domain = any(${domains}::text[]) and status = 'active'
    union
    select domain from allowlist_entries where domain = any(${domains}::text[])`;
  return new Set(rows.map((row) => row.domain));
}
