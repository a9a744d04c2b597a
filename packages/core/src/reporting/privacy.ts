/**
 * Who may see what of an enrollment's reports. Pure functions: the reports service applies them to every
 * event and summary before it leaves the server, and they are unit-tested on their own.
 *
 * Rules (architecture.md "Who uses it"; spec 9.2 reporting_config):
 * - The device OWNER sees everything, domain names included (it is their own device and their own data).
 *   That includes a self-tier enrollment, where the owner also enrolled the device.
 * - The ENROLLING account (partner or authority: enrollments.enrolled_by_account_id, when it is not the
 *   owner) sees only the event kinds reporting_config.report_to_authority allows, and with
 *   aggregation_level "aggregated" never a domain name or any other free text that could carry one: events
 *   keep only the fields listed in AGGREGATED_METADATA_FIELDS, summaries lose top_blocked_domains.
 * - Anyone else, admins included, is not a reader: the service answers NOT_FOUND, exactly as for an
 *   enrollment that does not exist (operators run the service, they do not read people's reports).
 * - A stored reporting_config that fails validation fails closed: the enrolling account sees nothing.
 */
import {
  type AggregationLevel,
  type ReportingConfig,
  reportingConfigSchema,
} from "@betblocker/common/config/reporting-config.schema";
import type { ReportingSummary } from "@betblocker/common/config/reporting-summary.schema";
import { EVENT_TYPE_VALUES, type EventType } from "@betblocker/common/enums";

/** The five switches of reporting_config.report_to_authority. */
export type ReportCategory = keyof ReportingConfig["report_to_authority"];

export const REPORT_CATEGORIES: readonly ReportCategory[] = [
  "blocks",
  "bypass_attempts",
  "tamper_events",
  "heartbeat_status",
  "config_changes",
];

/**
 * Which switch governs each event type: ONE table, used when reports are read and at ingestion
 * (events.visible_to_authority, events/event-policy.ts). The spec names five kinds; the others belong to the
 * closest one: application/install blocks are blocks, a VPN is a bypass attempt, a removed browser extension
 * is tampering, and an unenrollment step is a change of the enrollment's configuration.
 */
export const REPORT_CATEGORY_BY_EVENT_TYPE: Readonly<Record<EventType, ReportCategory>> = {
  block: "blocks",
  app_block: "blocks",
  install_block: "blocks",
  bypass_attempt: "bypass_attempts",
  vpn_detected: "bypass_attempts",
  tamper: "tamper_events",
  extension_removed: "tamper_events",
  heartbeat: "heartbeat_status",
  config_change: "config_changes",
  unenroll: "config_changes",
};

/**
 * Metadata fields an enrolling account sees when aggregation_level is "aggregated": counts-and-categories
 * fields only. Everything else (domain, application ids and names, free-text details) is dropped. An allowlist,
 * so a field added to an event later stays hidden until someone decides it is safe.
 */
export const AGGREGATED_METADATA_FIELDS: Readonly<Record<EventType, readonly string[]>> = {
  block: ["category", "layer", "query_type"],
  app_block: ["category"],
  install_block: ["category", "install_source"],
  bypass_attempt: ["method"],
  vpn_detected: ["vpn_protocol", "action_taken"],
  tamper: ["type"],
  extension_removed: ["browser"],
  heartbeat: ["agent_version", "blocklist_version", "uptime_seconds", "blocked_count_since_last"],
  config_change: ["field", "old_value", "new_value"],
  unenroll: ["stage", "delay_until"],
};

export type ReaderView =
  | { reader: "owner" }
  | {
      reader: "enrolling_account";
      aggregationLevel: AggregationLevel;
      allowed: Readonly<Record<ReportCategory, boolean>>;
    };

export interface ReaderFacts {
  readerAccountId: number;
  /** The reader owns the enrollment's device. */
  readerOwnsDevice: boolean;
  enrolledByAccountId: number;
  /** enrollments.reporting_config as stored (unvalidated). */
  reportingConfig: unknown;
}

const NOTHING_ALLOWED: Readonly<Record<ReportCategory, boolean>> = {
  blocks: false,
  bypass_attempts: false,
  tamper_events: false,
  heartbeat_status: false,
  config_changes: false,
};

/** The reader's view of an enrollment, or null when the reader may not see its reports at all. */
export function readerViewFor(facts: ReaderFacts): ReaderView | null {
  if (facts.readerOwnsDevice) return { reader: "owner" };
  if (facts.enrolledByAccountId !== facts.readerAccountId) return null;
  const config = reportingConfigSchema.safeParse(facts.reportingConfig ?? {});
  if (!config.success) {
    return { reader: "enrolling_account", aggregationLevel: "aggregated", allowed: NOTHING_ALLOWED };
  }
  return {
    reader: "enrolling_account",
    aggregationLevel: config.data.aggregation_level,
    allowed: { ...config.data.report_to_authority },
  };
}

export function mayDisclose(view: ReaderView, category: ReportCategory): boolean {
  return view.reader === "owner" || view.allowed[category];
}

/** Whether domain names (and other identifying free text) may be shown. */
export function mayDiscloseDomains(view: ReaderView): boolean {
  return view.reader === "owner" || view.aggregationLevel === "detailed";
}

/** The event types the reader may see, in enum order (intersected with `requested` when given). */
export function visibleEventTypes(view: ReaderView, requested?: EventType): EventType[] {
  return EVENT_TYPE_VALUES.filter(
    (type) =>
      (requested === undefined || type === requested) &&
      mayDisclose(view, REPORT_CATEGORY_BY_EVENT_TYPE[type]),
  );
}

export interface ReportEvent {
  eventType: EventType;
  metadata: Record<string, unknown>;
  createdAt: Date;
}

/** The event as the reader may see it, or null when its kind is not reported to the reader. */
export function filterEventForReader(view: ReaderView, event: ReportEvent): ReportEvent | null {
  if (!mayDisclose(view, REPORT_CATEGORY_BY_EVENT_TYPE[event.eventType])) return null;
  if (mayDiscloseDomains(view)) return event;
  const kept: Record<string, unknown> = {};
  for (const field of AGGREGATED_METADATA_FIELDS[event.eventType]) {
    if (Object.hasOwn(event.metadata, field)) kept[field] = event.metadata[field];
  }
  return { ...event, metadata: kept };
}

/**
 * A daily summary as a reader sees it: a field is null when its kind is not reported to the reader (null means
 * "not shared", 0 means "none happened"). top_blocked_domains is [] when blocks are shared but domain names
 * are not.
 */
export interface ReaderSummary {
  total_blocks: number | null;
  total_bypass_attempts: number | null;
  total_tamper_events: number | null;
  total_heartbeats: number | null;
  missed_heartbeats: number | null;
  top_blocked_domains: { domain: string; count: number }[] | null;
  blocks_by_category: Record<string, number> | null;
  blocks_by_layer: ReportingSummary["blocks_by_layer"] | null;
  device_status_at_end_of_day: ReportingSummary["device_status_at_end_of_day"] | null;
}

export function filterSummaryForReader(view: ReaderView, summary: ReportingSummary): ReaderSummary {
  const blocks = mayDisclose(view, "blocks");
  const heartbeats = mayDisclose(view, "heartbeat_status");
  return {
    total_blocks: blocks ? summary.total_blocks : null,
    total_bypass_attempts: mayDisclose(view, "bypass_attempts") ? summary.total_bypass_attempts : null,
    total_tamper_events: mayDisclose(view, "tamper_events") ? summary.total_tamper_events : null,
    total_heartbeats: heartbeats ? summary.total_heartbeats : null,
    missed_heartbeats: heartbeats ? summary.missed_heartbeats : null,
    top_blocked_domains: !blocks
      ? null
      : mayDiscloseDomains(view)
        ? summary.top_blocked_domains.map((entry) => ({ ...entry }))
        : [],
    blocks_by_category: blocks ? { ...summary.blocks_by_category } : null,
    blocks_by_layer: blocks ? { ...summary.blocks_by_layer } : null,
    device_status_at_end_of_day: heartbeats ? summary.device_status_at_end_of_day : null,
  };
}

/** What the reader is shown about their own view (so a dashboard can say "not shared" instead of "0"). */
export function describeView(view: ReaderView): {
  reader: "owner" | "enrolling_account";
  domains_visible: boolean;
  shared: Record<ReportCategory, boolean>;
} {
  const shared = Object.fromEntries(
    REPORT_CATEGORIES.map((category) => [category, mayDisclose(view, category)]),
  ) as Record<ReportCategory, boolean>;
  return { reader: view.reader, domains_visible: mayDiscloseDomains(view), shared };
}
