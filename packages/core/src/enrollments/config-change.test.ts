import { defaultProtectionConfig } from "@betblocker/common/config/protection-config.schema";
import { defaultReportingConfig } from "@betblocker/common/config/reporting-config.schema";
import { defaultUnenrollmentPolicy } from "@betblocker/common/config/unenrollment-policy.schema";
import { describe, expect, test } from "vitest";
import {
  type ChangeDirection,
  CONFIG_FIELD_RULES,
  classifyChange,
  configOfField,
  diffConfig,
  leafFields,
  mergeConfigPatch,
  setConfigField,
} from "./config-change";

/** The comparison table, one row per field and direction: [field, old, new, expected]. */
const TABLE: Array<[string, unknown, unknown, ChangeDirection]> = [
  ["protection_config.layers.application", false, true, "tightens"],
  ["protection_config.layers.application", true, false, "loosens"],
  ["protection_config.layers.browser", false, true, "tightens"],
  ["protection_config.layers.browser", true, false, "loosens"],
  ["protection_config.dns.block_response", "redirect", "nxdomain", "tightens"],
  ["protection_config.dns.block_response", "nxdomain", "redirect", "loosens"],
  ["protection_config.dns.redirect_url", null, "https://help.example/blocked", "loosens"],
  ["protection_config.dns.redirect_url", "https://a.example/", "https://b.example/", "loosens"],
  ["protection_config.dns.redirect_url", "https://a.example/", null, "tightens"],
  ["protection_config.dns.block_doh", true, false, "loosens"],
  ["protection_config.dns.block_doh", false, true, "tightens"],
  ["protection_config.dns.block_dot", true, false, "loosens"],
  ["protection_config.dns.block_dot", false, true, "tightens"],
  ["protection_config.dns.hosts_file_fallback", true, false, "loosens"],
  ["protection_config.dns.hosts_file_fallback", false, true, "tightens"],
  ["protection_config.bypass_detection.vpn_action", "alert", "log", "loosens"],
  ["protection_config.bypass_detection.vpn_action", "alert", "lockdown", "tightens"],
  ["protection_config.bypass_detection.proxy_action", "lockdown", "alert", "loosens"],
  ["protection_config.bypass_detection.proxy_action", "log", "alert", "tightens"],
  ["protection_config.bypass_detection.tor_action", "lockdown", "log", "loosens"],
  ["protection_config.bypass_detection.tor_action", "log", "lockdown", "tightens"],
  ["protection_config.heartbeat_interval_seconds", 300, 600, "loosens"],
  ["protection_config.heartbeat_interval_seconds", 300, 60, "tightens"],
  ["protection_config.tamper_sensitivity", "elevated", "standard", "loosens"],
  ["protection_config.tamper_sensitivity", "standard", "maximum", "tightens"],
  ["reporting_config.report_to_authority.blocks", true, false, "loosens"],
  ["reporting_config.report_to_authority.blocks", false, true, "tightens"],
  ["reporting_config.report_to_authority.bypass_attempts", true, false, "loosens"],
  ["reporting_config.report_to_authority.tamper_events", true, false, "loosens"],
  ["reporting_config.report_to_authority.heartbeat_status", true, false, "loosens"],
  ["reporting_config.report_to_authority.config_changes", true, false, "loosens"],
  ["reporting_config.report_to_authority.config_changes", false, true, "tightens"],
  ["reporting_config.aggregation_level", "detailed", "aggregated", "loosens"],
  ["reporting_config.aggregation_level", "aggregated", "detailed", "tightens"],
  ["reporting_config.federated_reporting", true, false, "neutral"],
  ["reporting_config.federated_reporting", false, true, "neutral"],
  ["reporting_config.alerts.on_bypass_attempt", true, false, "loosens"],
  ["reporting_config.alerts.on_tamper", true, false, "loosens"],
  ["reporting_config.alerts.on_missed_heartbeat", true, false, "loosens"],
  ["reporting_config.alerts.on_missed_heartbeat", false, true, "tightens"],
  ["reporting_config.alerts.alert_channels", ["email"], [], "loosens"],
  ["reporting_config.alerts.alert_channels", ["email"], ["push"], "loosens"],
  ["reporting_config.alerts.alert_channels", ["email"], ["email", "push"], "tightens"],
  ["reporting_config.alerts.alert_channels", ["email", "push"], ["push", "email"], "neutral"],
  ["unenrollment_policy.approval_required_by", "partner", "self", "loosens"],
  ["unenrollment_policy.delay_hours", 48, 24, "loosens"],
  ["unenrollment_policy.delay_hours", 48, 72, "tightens"],
  ["unenrollment_policy.notify_on_request", true, false, "loosens"],
  ["unenrollment_policy.notify_on_request", false, true, "tightens"],
  ["unenrollment_policy.user_can_request", false, true, "loosens"],
  ["unenrollment_policy.user_can_request", true, false, "tightens"],
  ["unenrollment_policy.minimum_enrollment_days", 30, 10, "loosens"],
  ["unenrollment_policy.minimum_enrollment_days", 30, null, "loosens"],
  ["unenrollment_policy.minimum_enrollment_days", null, 30, "tightens"],
  ["unenrollment_policy.minimum_enrollment_days", 10, 30, "tightens"],
  ["unenrollment_policy.notify_accounts", [42, 99], [42], "loosens"],
  ["unenrollment_policy.notify_accounts", [42], [42, 99], "tightens"],
];

describe("tighten/loosen comparison table", () => {
  test.each(TABLE)("%s: %j -> %j %s", (field, before, after, expected) => {
    expect(classifyChange(field, before, after)).toBe(expected);
  });

  test("every leaf field of the three configs has a rule (a new schema field must be classified)", () => {
    const leaves = [
      ...leafFields(defaultProtectionConfig(), "protection_config"),
      ...leafFields(defaultReportingConfig(), "reporting_config"),
      ...leafFields(defaultUnenrollmentPolicy(), "unenrollment_policy"),
    ].map(([field]) => field);
    expect(leaves.filter((field) => !(field in CONFIG_FIELD_RULES))).toEqual([]);
    expect(Object.keys(CONFIG_FIELD_RULES).filter((field) => !leaves.includes(field))).toEqual([]);
  });

  test("every field of the table is exercised in both directions where it has two", () => {
    const covered = new Set(TABLE.map(([field]) => field));
    const untested = Object.keys(CONFIG_FIELD_RULES).filter(
      (field) => !covered.has(field) && field !== "protection_config.layers.dns",
    );
    expect(untested).toEqual([]);
  });

  test("an unknown field loosens (fail safe); an unchanged value is neutral", () => {
    expect(classifyChange("protection_config.new_feature", true, false)).toBe("loosens");
    expect(classifyChange("protection_config.new_feature", false, true)).toBe("loosens");
    expect(classifyChange("protection_config.dns.block_doh", true, true)).toBe("neutral");
  });
});

describe("diffConfig / mergeConfigPatch", () => {
  test("a deep patch merges objects and replaces scalars and arrays; the diff lists each changed leaf", () => {
    const before = defaultProtectionConfig();
    const after = mergeConfigPatch(before, {
      dns: { block_doh: false },
      heartbeat_interval_seconds: 60,
      bypass_detection: { vpn_action: "alert" },
    });
    expect(after).toEqual({
      ...before,
      dns: { ...before.dns, block_doh: false },
      heartbeat_interval_seconds: 60,
    });
    expect(diffConfig("protection_config", before, after)).toEqual([
      {
        field: "protection_config.dns.block_doh",
        oldValue: true,
        newValue: false,
        direction: "loosens",
      },
      {
        field: "protection_config.heartbeat_interval_seconds",
        oldValue: 300,
        newValue: 60,
        direction: "tightens",
      },
    ]);
    // The base is not mutated.
    expect(before.dns.block_doh).toBe(true);
  });

  test("arrays are replaced, not merged; unknown keys survive the merge for validation to report", () => {
    const merged = mergeConfigPatch(defaultReportingConfig(), {
      alerts: { alert_channels: ["push"] },
      surprise: 1,
    }) as Record<string, unknown>;
    expect((merged.alerts as { alert_channels: string[] }).alert_channels).toEqual(["push"]);
    expect(merged.surprise).toBe(1);
  });

  test("setConfigField and configOfField address a leaf by its event path", () => {
    const updated = setConfigField(defaultProtectionConfig(), "protection_config.dns.block_dot", false) as {
      dns: { block_dot: boolean };
    };
    expect(updated.dns.block_dot).toBe(false);
    expect(configOfField("reporting_config.alerts.on_tamper")).toBe("reporting_config");
    expect(configOfField("devices.status")).toBeNull();
  });
});
