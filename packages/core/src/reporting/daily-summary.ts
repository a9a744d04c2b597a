/**
 * The daily summary of one enrollment (spec 9.5 reporting_snapshots.summary): the one aggregation used both by
 * the worker that writes reporting_snapshots and by the API when a day has no snapshot yet.
 *
 * Contract of computeDailySummary(sql, enrollmentId, date):
 * - `date` is a UTC calendar day (YYYY-MM-DD); only events with created_at in [date 00:00Z, next day 00:00Z)
 *   are read, so exactly one monthly events partition is scanned.
 * - `sql` must be able to see the enrollment: a request transaction of its owner or enrolling account, an
 *   admin context, or a connection that bypasses row-level security (the worker). NOT_FOUND otherwise.
 * - total_blocks counts block, app_block and install_block events; blocks_by_layer adds up to it (app and
 *   install blocks are the application layer; a block without a known layer counts as dns);
 *   blocks_by_category counts blocks whose category is a valid category. total_bypass_attempts counts
 *   bypass_attempt and vpn_detected, total_tamper_events tamper and extension_removed (the same grouping as
 *   the privacy rules, privacy.ts REPORT_CATEGORY_BY_EVENT_TYPE).
 * - top_blocked_domains: the TOP_BLOCKED_DOMAINS_LIMIT most blocked (valid, normalized) domains, most blocked
 *   first, ties by name; always empty when the enrollment's reporting_config.aggregation_level is not
 *   "detailed" (an invalid reporting_config counts as aggregated: fail closed).
 * - missed_heartbeats: heartbeats expected in the part of the day the enrollment existed and that has passed
 *   (one per protection_config.heartbeat_interval_seconds, default 300) minus those received, never negative.
 * - device_status_at_end_of_day: the device's status at the end of the day (or now, for today) from the
 *   devices audit trail (migration 0021).
 * - options.audience "enrolling_account" counts only events stored visible to the partner/authority.
 * The result is validated with reportingSummarySchema: a summary that does not add up is a bug, never stored.
 */
import { protectionConfigSchema } from "@betblocker/common/config/protection-config.schema";
import { reportingConfigSchema } from "@betblocker/common/config/reporting-config.schema";
import {
  type ReportingSummary,
  reportingSummarySchema,
} from "@betblocker/common/config/reporting-summary.schema";
import { CATEGORY_PATTERN } from "@betblocker/common/domain/category";
import { isNormalizedDomain } from "@betblocker/common/domain/normalize";
import { deviceStatusSchema } from "@betblocker/common/enums";
import { AppError } from "@betblocker/common/errors/app-error";
import type { Queryable } from "@betblocker/db/client";
import {
  blockBreakdown,
  countEventsByType,
  deviceStatusAt,
  findEnrollmentById,
  topBlockedDomains,
} from "@betblocker/db/repositories/reporting.repository";
import { addDays, startOfUtcDay } from "./date-range";

export const TOP_BLOCKED_DOMAINS_LIMIT = 20;
const DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 300;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export interface ComputeDailySummaryOptions {
  /** The current time (default: the system clock): bounds the expected heartbeats of today. */
  now?: Date;
  /**
   * "all" (default, what the worker stores): every event. "enrolling_account": only events stored with
   * visible_to_authority (migration 0015), for a partner/authority reading a day on which some events were
   * recorded while their kind was not reported to them.
   */
  audience?: "all" | "enrolling_account";
}

/** A real calendar day in YYYY-MM-DD form (not 2026-02-30). */
function isCalendarDate(date: string): boolean {
  if (!ISO_DATE.test(date)) return false;
  const start = startOfUtcDay(date);
  return !Number.isNaN(start.getTime()) && start.toISOString().startsWith(date);
}

export async function computeDailySummary(
  sql: Queryable,
  enrollmentId: number,
  date: string,
  options: ComputeDailySummaryOptions = {},
): Promise<ReportingSummary> {
  if (!isCalendarDate(date)) {
    throw new AppError("VALIDATION_FAILED", `invalid date ${JSON.stringify(date)} (expected YYYY-MM-DD)`, {
      fieldErrors: [{ path: "date", message: "must be a date (YYYY-MM-DD)" }],
    });
  }
  const enrollment = await findEnrollmentById(sql, enrollmentId);
  if (!enrollment) throw new AppError("NOT_FOUND", "enrollment not found");
  const now = options.now ?? new Date();
  const range = {
    enrollmentId,
    from: startOfUtcDay(date),
    to: startOfUtcDay(addDays(date, 1)),
    onlyVisibleToAuthority: options.audience === "enrolling_account",
  };

  const reportingConfig = reportingConfigSchema.safeParse(enrollment.reportingConfig ?? {});
  const detailed = reportingConfig.success && reportingConfig.data.aggregation_level === "detailed";
  const protectionConfig = protectionConfigSchema.safeParse(enrollment.protectionConfig ?? {});
  const heartbeatInterval = protectionConfig.success
    ? protectionConfig.data.heartbeat_interval_seconds
    : DEFAULT_HEARTBEAT_INTERVAL_SECONDS;

  const counts = await countEventsByType(sql, range);
  const count = (type: string) => counts.get(type) ?? 0;

  const blocksByLayer = { dns: 0, application: 0, browser: 0 };
  const blocksByCategory: Record<string, number> = {};
  for (const row of await blockBreakdown(sql, range)) {
    blocksByLayer[row.layer] += row.count;
    if (row.category !== null && CATEGORY_PATTERN.test(row.category)) {
      blocksByCategory[row.category] = (blocksByCategory[row.category] ?? 0) + row.count;
    }
  }
  const totalBlocks = blocksByLayer.dns + blocksByLayer.application + blocksByLayer.browser;

  const topDomains = detailed
    ? (await topBlockedDomains(sql, range, TOP_BLOCKED_DOMAINS_LIMIT)).filter(
        (row) => typeof row.domain === "string" && isNormalizedDomain(row.domain),
      )
    : [];

  const coveredFrom = Math.max(range.from.getTime(), enrollment.createdAt.getTime());
  const coveredTo = Math.min(range.to.getTime(), now.getTime());
  const expectedHeartbeats =
    coveredTo > coveredFrom ? Math.floor((coveredTo - coveredFrom) / (heartbeatInterval * 1000)) : 0;
  const totalHeartbeats = count("heartbeat");

  const statusAt = new Date(Math.min(range.to.getTime(), now.getTime()));
  const status = deviceStatusSchema.safeParse(await deviceStatusAt(sql, enrollmentId, statusAt));
  if (!status.success) throw new AppError("INTERNAL", "the enrollment's device status is not readable");

  const summary = {
    total_blocks: totalBlocks,
    total_bypass_attempts: count("bypass_attempt") + count("vpn_detected"),
    total_tamper_events: count("tamper") + count("extension_removed"),
    total_heartbeats: totalHeartbeats,
    missed_heartbeats: Math.max(0, expectedHeartbeats - totalHeartbeats),
    top_blocked_domains: topDomains.map((row) => ({ domain: row.domain, count: row.count })),
    blocks_by_category: blocksByCategory,
    blocks_by_layer: blocksByLayer,
    device_status_at_end_of_day: status.data,
  };
  const validated = reportingSummarySchema.safeParse(summary);
  if (!validated.success) {
    throw new AppError("INTERNAL", "computed daily summary failed its schema", undefined, {
      cause: validated.error,
    });
  }
  return validated.data;
}
