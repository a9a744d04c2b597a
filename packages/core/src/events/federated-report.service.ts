/**
 * Federated reports (POST /api/v1/device/federated-reports): suspected gambling domains an agent's heuristics
 * found, for the admins' review queue.
 *
 * - Only when the device's reporting_config.federated_reporting is on (device-config.ts: an unenrolled-yet
 *   device uses the defaults, where it is on). Off: every report is rejected with FEATURE_DISABLED and nothing
 *   is stored, so the agent drops them.
 * - Limited per device (`batchesPerDevice`, RATE_LIMITED): a compromised agent cannot flood the queue.
 * - Domains are normalized (common/domain/normalize.ts); invalid ones and scores outside 0..1 (NaN included)
 *   are rejected one by one.
 * - Duplicates (not stored): repeated within the batch, already reported by this device today (UTC; unique
 *   index of migration 0016), already actively blocked, or an allowlisted help resource.
 * - FederatedReport.score and first_seen are not stored (federated_reports has no column for them); the
 *   queue's signal is how many devices report a domain.
 */
import { normalizeDomain } from "@betblocker/common/domain/normalize";
import type { Sql } from "@betblocker/db/client";
import { withDeviceActor } from "@betblocker/db/repositories/device.repository";
import type { RejectedItem } from "@betblocker/db/repositories/event.repository";
import {
  type FederatedReportInsert,
  findSettledDomains,
  insertFederatedReports,
} from "@betblocker/db/repositories/federated-report.repository";
import type { Clock } from "../auth/clock";
import { consumeRateLimit, type RateLimitRule, type RateLimitStore } from "../auth/rate-limit";
import type { DeviceSession } from "../devices/device-auth";

export interface IncomingFederatedReport {
  domain: string;
  /** "keyword" | "visual" | "dns_pattern", or null when not set. */
  heuristicMatchType: string | null;
  score: number;
}

export interface FederatedReportOutcome {
  accepted: number;
  duplicates: number;
  rejected: RejectedItem[];
}

export interface FederatedReportServiceOptions {
  sql: Sql;
  clock: Clock;
  rateLimitStore: RateLimitStore;
  batchesPerDevice: RateLimitRule;
}

export class FederatedReportService {
  constructor(private readonly options: FederatedReportServiceOptions) {}

  async submit(
    session: DeviceSession,
    reports: readonly IncomingFederatedReport[],
    ip: string | null,
  ): Promise<FederatedReportOutcome> {
    const { clock } = this.options;
    if (!session.config.reporting.federated_reporting) {
      return {
        accepted: 0,
        duplicates: 0,
        rejected: reports.map((report) => ({
          id: report.domain,
          code: "FEATURE_DISABLED",
          message: "federated reporting is off for this device's enrollment",
        })),
      };
    }
    await consumeRateLimit(
      this.options.rateLimitStore,
      `rl:federated-reports:device:${session.deviceId}`,
      this.options.batchesPerDevice,
      clock,
    );
    const rejected: RejectedItem[] = [];
    const candidates = new Map<string, FederatedReportInsert>();
    let duplicates = 0;
    for (const report of reports) {
      const normalized = normalizeDomain(report.domain);
      if (!normalized.ok) {
        rejected.push({ id: report.domain, code: "INVALID_DOMAIN", message: normalized.reason });
        continue;
      }
      if (!(report.score >= 0 && report.score <= 1)) {
        rejected.push({
          id: report.domain,
          code: "VALIDATION_FAILED",
          message: "score must be from 0.0 to 1.0",
        });
        continue;
      }
      if (candidates.has(normalized.domain)) {
        duplicates++;
        continue;
      }
      candidates.set(normalized.domain, {
        domain: normalized.domain,
        heuristicMatchType: report.heuristicMatchType,
      });
    }
    if (candidates.size === 0) return { accepted: 0, duplicates, rejected };
    const inserted = await withDeviceActor(
      this.options.sql,
      { accountId: session.accountId, deviceId: session.deviceId },
      ip,
      async (tx) => {
        const settled = await findSettledDomains(tx, [...candidates.keys()]);
        const fresh = [...candidates.values()].filter((candidate) => !settled.has(candidate.domain));
        return insertFederatedReports(tx, session.deviceId, fresh, clock());
      },
    );
    return { accepted: inserted.size, duplicates: duplicates + candidates.size - inserted.size, rejected };
  }
}
