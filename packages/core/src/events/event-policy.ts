/**
 * The enrollment's reporting_config applied server-side to events from a device. The agent applies it at the
 * source already; the API applies it AGAIN, because a tampered, outdated or buggy agent must not be able to
 * put what the owner opted out of into the database.
 *
 * - aggregation_level "aggregated": block events lose metadata.domain (counts and categories remain).
 * - report_to_authority.<kind> false: the event is still stored (the owner's own history; a tamper event is
 *   never thrown away) with visible_to_authority = false, which partner/authority views must filter on.
 *   Which switch governs which event type is one table, shared with the read side:
 *   reporting/privacy.ts REPORT_CATEGORY_BY_EVENT_TYPE (unenroll steps follow config_changes).
 */
import type { ReportingConfig } from "@betblocker/common/config/reporting-config.schema";
import type { EventType } from "@betblocker/common/enums";
import { REPORT_CATEGORY_BY_EVENT_TYPE } from "../reporting/privacy";

/** Event types whose loss would hide an attack on the protection itself: never dropped (event-ingest.service.ts). */
export const ALERT_EVENT_TYPES: ReadonlySet<EventType> = new Set([
  "tamper",
  "bypass_attempt",
  "vpn_detected",
  "extension_removed",
]);

/** Strips what the reporting config keeps private from `metadata` (a new object when something is removed). */
export function applyPrivacy(
  eventType: EventType,
  metadata: Record<string, unknown>,
  reporting: ReportingConfig,
): Record<string, unknown> {
  if (eventType === "block" && reporting.aggregation_level === "aggregated" && "domain" in metadata) {
    const { domain: _domain, ...rest } = metadata;
    return rest;
  }
  return metadata;
}

/** Whether the enrollment's partner/authority may see events of this type. */
export function isVisibleToAuthority(eventType: EventType, reporting: ReportingConfig): boolean {
  return reporting.report_to_authority[REPORT_CATEGORY_BY_EVENT_TYPE[eventType]];
}
