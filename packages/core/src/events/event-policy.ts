/**
 * The enrollment's reporting_config applied server-side to events from a device. The agent applies it at the
 * source already; the API applies it AGAIN, because a tampered, outdated or buggy agent must not be able to
 * put what the owner opted out of into the database.
 *
 * - aggregation_level "aggregated": block events lose metadata.domain (counts and categories remain).
 * - report_to_authority.<kind> false: the event is still stored (the owner's own history; a tamper event is
 *   never thrown away) with visible_to_authority = false, which partner/authority views must filter on.
 *   Kinds: blocks (block, app_block, install_block), bypass_attempts (bypass_attempt, vpn_detected),
 *   tamper_events (tamper, extension_removed), heartbeat_status (heartbeat), config_changes (config_change).
 *   unenroll events are always visible: the unenrollment process is the authority's business.
 */
import type { ReportingConfig } from "@betblocker/common/config/reporting-config.schema";
import type { EventType } from "@betblocker/common/enums";

/** Event types whose loss would hide an attack on the protection itself: never dropped (event-ingest.service.ts). */
export const ALERT_EVENT_TYPES: ReadonlySet<EventType> = new Set([
  "tamper",
  "bypass_attempt",
  "vpn_detected",
  "extension_removed",
]);

type ReportKind = keyof ReportingConfig["report_to_authority"];

const REPORT_KIND: Readonly<Record<EventType, ReportKind | null>> = {
  block: "blocks",
  app_block: "blocks",
  install_block: "blocks",
  bypass_attempt: "bypass_attempts",
  vpn_detected: "bypass_attempts",
  tamper: "tamper_events",
  extension_removed: "tamper_events",
  heartbeat: "heartbeat_status",
  config_change: "config_changes",
  unenroll: null,
};

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
  const kind = REPORT_KIND[eventType];
  return kind === null ? true : reporting.report_to_authority[kind];
}
