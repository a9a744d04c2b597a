/**
 * enrollments.reporting_config (spec 003 section 9.2): what the device reports and to whom.
 *
 * Contract: strict objects, every field defaulted as in the spec, so `parse({})` yields the full
 * default config. The agent applies this at the source: with aggregation_level "aggregated" no
 * domain name leaves the device.
 */
import { z } from "zod";

export const AGGREGATION_LEVEL_VALUES = ["aggregated", "detailed"] as const;
/** "aggregated": counts and categories only; "detailed": individual domain names are visible. */
export const aggregationLevelSchema = z.enum(AGGREGATION_LEVEL_VALUES);
export type AggregationLevel = z.infer<typeof aggregationLevelSchema>;

export const ALERT_CHANNEL_VALUES = ["email", "push", "webhook"] as const;
export const alertChannelSchema = z.enum(ALERT_CHANNEL_VALUES);
export type AlertChannel = z.infer<typeof alertChannelSchema>;

/** Which event kinds reach the enrollment's authority (partner or institution). */
export const reportToAuthoritySchema = z.strictObject({
  blocks: z.boolean().default(true),
  bypass_attempts: z.boolean().default(true),
  tamper_events: z.boolean().default(true),
  heartbeat_status: z.boolean().default(true),
  config_changes: z.boolean().default(true),
});

export const alertSettingsSchema = z.strictObject({
  on_bypass_attempt: z.boolean().default(true),
  on_tamper: z.boolean().default(true),
  on_missed_heartbeat: z.boolean().default(true),
  /**
   * Where real-time alerts go. May be empty (alerts then only show in the dashboard); a channel
   * listed twice is refused because it would mean two identical alerts.
   */
  alert_channels: z
    .array(alertChannelSchema)
    .refine((channels) => new Set(channels).size === channels.length, {
      error: "must not list a channel more than once",
    })
    .default((): AlertChannel[] => ["email"]),
});

export const reportingConfigSchema = z.strictObject({
  report_to_authority: reportToAuthoritySchema.prefault({}),
  aggregation_level: aggregationLevelSchema.default("aggregated"),
  /** Whether this device contributes suspected gambling domains to the federated review queue. */
  federated_reporting: z.boolean().default(true),
  alerts: alertSettingsSchema.prefault({}),
});

/** A validated reporting_config with every default filled in. */
export type ReportingConfig = z.output<typeof reportingConfigSchema>;
/** What may be stored or submitted: any subset of the fields. */
export type ReportingConfigInput = z.input<typeof reportingConfigSchema>;

/** A fresh copy of the default reporting_config (safe to mutate). */
export function defaultReportingConfig(): ReportingConfig {
  return reportingConfigSchema.parse({});
}
