/**
 * Federated intake and discovery (worker job discovery.federated-intake, every 10 minutes).
 *
 * Pending federated_reports are aggregated by domain. A domain becomes a candidate (discovery_candidates,
 * migration 0030) only once `minDistinctDevices` (k, default 3) distinct devices reported it; below k
 * nothing is recorded about it. Each new candidate is classified by name (classifyDomain):
 * - allowlisted (the domain or a parent): never an entry, outcome 'allowlisted';
 * - already in the blocklist (any status, e.g. a reviewer's 'rejected'): left alone, outcome 'existing';
 * - score >= DISCOVERY_DEFAULTS.autoAddThreshold: an active blocklist entry (source 'automated',
 *   confidence_score = score); its pending reports are confirmed against it;
 * - score >= reviewThreshold: a 'review' entry (source 'automated', confidence_score = score) for the admins;
 * - lower: outcome 'queued' (the reports wait for a reviewer).
 *
 * Idempotent and safe on two workers: the candidate row is inserted first (ON CONFLICT DO NOTHING) and only
 * the transaction that inserted it files an entry; the entry insert itself is ON CONFLICT DO NOTHING and
 * re-checks the allowlist in the same statement.
 */
import { classifyDomain, DISCOVERY_DEFAULTS } from "@betblocker/common/discovery/classify";
import type { Sql, TransactionSql } from "@betblocker/db/client";
import { withActor } from "@betblocker/db/context";
import {
  type CandidateOutcome,
  confirmPendingReports,
  type DomainReportStats,
  domainState,
  findNewCandidateDomains,
  insertAutomatedEntry,
  insertCandidate,
  refreshCandidateCounts,
  setCandidateEntry,
} from "@betblocker/db/repositories/discovery-intake.repository";
import { SYSTEM_ACTOR } from "../jobs/job";

export const DEFAULT_MIN_DISTINCT_DEVICES = 3;

export interface FederatedIntakeOptions {
  now: Date;
  /** k: distinct devices a domain needs before it is a candidate. Default 3. */
  minDistinctDevices?: number;
  thresholds?: { autoAddThreshold: number; reviewThreshold: number };
  batchSize?: number;
  maxBatches?: number;
  signal?: AbortSignal;
}

export type FederatedIntakeReport = Record<CandidateOutcome, number> & { refreshed: number; more: boolean };

function decide(
  score: number,
  thresholds: { autoAddThreshold: number; reviewThreshold: number },
): "auto_added" | "review" | "queued" {
  if (score >= thresholds.autoAddThreshold) return "auto_added";
  if (score >= thresholds.reviewThreshold) return "review";
  return "queued";
}

async function intakeOne(
  tx: TransactionSql,
  stats: DomainReportStats,
  thresholds: { autoAddThreshold: number; reviewThreshold: number },
  now: Date,
): Promise<CandidateOutcome | null> {
  const { score, signals } = classifyDomain(stats.domain);
  const state = await domainState(tx, stats.domain);
  let outcome: CandidateOutcome = state.allowlisted
    ? "allowlisted"
    : state.entry
      ? "existing"
      : decide(score, thresholds);
  const inserted = await insertCandidate(tx, {
    ...stats,
    score,
    signals: signals.slice(0, 20),
    outcome,
    entryId: state.entry?.id ?? null,
    at: now,
  });
  if (!inserted) return null;
  if (outcome === "auto_added" || outcome === "review") {
    const entryId = await insertAutomatedEntry(tx, {
      domain: stats.domain,
      status: outcome === "auto_added" ? "active" : "review",
      confidenceScore: score,
    });
    if (entryId === null) {
      // Allowlisted or filed by someone else since domainState: re-read and record what is there.
      const again = await domainState(tx, stats.domain);
      outcome = again.allowlisted ? "allowlisted" : "existing";
      await setCandidateEntry(tx, stats.domain, outcome, again.entry?.id ?? null);
      return outcome;
    }
    await setCandidateEntry(tx, stats.domain, outcome, entryId);
    if (outcome === "auto_added") await confirmPendingReports(tx, stats.domain, entryId);
  }
  return outcome;
}

export async function runFederatedIntake(
  sql: Sql,
  options: FederatedIntakeOptions,
): Promise<FederatedIntakeReport> {
  const k = options.minDistinctDevices ?? DEFAULT_MIN_DISTINCT_DEVICES;
  if (!Number.isInteger(k) || k < 1) throw new Error("minDistinctDevices must be a positive integer");
  const thresholds = options.thresholds ?? DISCOVERY_DEFAULTS;
  const batchSize = options.batchSize ?? 200;
  const maxBatches = options.maxBatches ?? 10;
  const report: FederatedIntakeReport = {
    auto_added: 0,
    review: 0,
    queued: 0,
    allowlisted: 0,
    existing: 0,
    refreshed: 0,
    more: false,
  };
  report.refreshed = await withActor(sql, SYSTEM_ACTOR, (tx) => refreshCandidateCounts(tx));
  for (let batch = 0; ; batch += 1) {
    if (batch >= maxBatches) {
      report.more = true;
      break;
    }
    if (options.signal?.aborted) break;
    const seen = await withActor(sql, SYSTEM_ACTOR, async (tx) => {
      const domains = await findNewCandidateDomains(tx, k, batchSize);
      for (const stats of domains) {
        const outcome = await intakeOne(tx, stats, thresholds, options.now);
        if (outcome) report[outcome] += 1;
      }
      return domains.length;
    });
    if (seen < batchSize) break;
  }
  return report;
}
