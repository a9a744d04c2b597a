import { describe, expect, it } from "vitest";
import { type FieldError, formatZodError } from "./field-errors";
import {
  defaultReportingConfig,
  type ReportingConfig,
  reportingConfigSchema,
} from "./reporting-config.schema";

function fieldErrorsFor(value: unknown): FieldError[] {
  const result = reportingConfigSchema.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  return formatZodError(result.error, { input: value });
}

// Spec 003 section 9.2, written out by hand.
const SPEC_DEFAULT: ReportingConfig = {
  report_to_authority: {
    blocks: true,
    bypass_attempts: true,
    tamper_events: true,
    heartbeat_status: true,
    config_changes: true,
  },
  aggregation_level: "aggregated",
  federated_reporting: true,
  alerts: { on_bypass_attempt: true, on_tamper: true, on_missed_heartbeat: true, alert_channels: ["email"] },
};

describe("reporting_config schema", () => {
  it("parses {} to the spec's complete default", () => {
    expect(reportingConfigSchema.parse({})).toEqual(SPEC_DEFAULT);
    expect(defaultReportingConfig()).toEqual(SPEC_DEFAULT);
  });

  it("fills nested defaults around the given fields", () => {
    const config = reportingConfigSchema.parse({
      alerts: { on_tamper: false },
      aggregation_level: "detailed",
    });
    expect(config.alerts).toEqual({ ...SPEC_DEFAULT.alerts, on_tamper: false });
    expect(config.aggregation_level).toBe("detailed");
    expect(config.report_to_authority).toEqual(SPEC_DEFAULT.report_to_authority);
  });

  it("does not share the default alert_channels array between parses", () => {
    const first = defaultReportingConfig();
    first.alerts.alert_channels.push("push");
    expect(defaultReportingConfig().alerts.alert_channels).toEqual(["email"]);
  });

  it("rejects a wrong shape with an error naming the field", () => {
    expect(fieldErrorsFor({ report_to_authority: { blocks: "yes" } })).toEqual([
      { path: "report_to_authority.blocks", message: "Invalid input: expected boolean, received string" },
    ]);
    expect(fieldErrorsFor({ alerts: { alert_channels: "email" } })).toEqual([
      { path: "alerts.alert_channels", message: "Invalid input: expected array, received string" },
    ]);
  });

  it("rejects unknown keys, naming them", () => {
    expect(fieldErrorsFor({ report_to_authority: { blocks: true, dns_queries: true } })).toEqual([
      { path: "report_to_authority.dns_queries", message: "unknown field" },
    ]);
  });

  it("accepts only the spec's aggregation levels and alert channels", () => {
    expect(fieldErrorsFor({ aggregation_level: "full" })).toEqual([
      { path: "aggregation_level", message: 'Invalid option: expected one of "aggregated"|"detailed"' },
    ]);
    expect(fieldErrorsFor({ alerts: { alert_channels: ["email", "sms"] } })).toEqual([
      {
        path: "alerts.alert_channels[1]",
        message: 'Invalid option: expected one of "email"|"push"|"webhook"',
      },
    ]);
  });

  it("refuses a channel listed twice but allows an empty list", () => {
    expect(fieldErrorsFor({ alerts: { alert_channels: ["push", "push"] } })).toEqual([
      { path: "alerts.alert_channels", message: "must not list a channel more than once" },
    ]);
    expect(reportingConfigSchema.parse({ alerts: { alert_channels: [] } }).alerts.alert_channels).toEqual([]);
  });
});
