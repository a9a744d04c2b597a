import { reportingConfigSchema } from "@betblocker/common/config/reporting-config.schema";
import { EVENT_TYPE_VALUES } from "@betblocker/common/enums";
import { describe, expect, test } from "vitest";
import { ALERT_EVENT_TYPES, applyPrivacy, isVisibleToAuthority } from "./event-policy";

const block = { domain: "casino.example", category: "casino", layer: "dns", query_type: "A" };

describe("server-side privacy of events", () => {
  test("aggregated: block events lose the domain and keep counts and categories; detailed keeps it", () => {
    const aggregated = reportingConfigSchema.parse({ aggregation_level: "aggregated" });
    expect(applyPrivacy("block", block, aggregated)).toEqual({
      category: "casino",
      layer: "dns",
      query_type: "A",
    });
    expect(block.domain).toBe("casino.example");
    const detailed = reportingConfigSchema.parse({ aggregation_level: "detailed" });
    expect(applyPrivacy("block", block, detailed)).toEqual(block);
    const tamper = { type: "service_stopped", details: "x" };
    expect(applyPrivacy("tamper", tamper, aggregated)).toBe(tamper);
  });

  test("report_to_authority switches hide their kinds from the authority, as the read side does (one table)", () => {
    const config = reportingConfigSchema.parse({
      report_to_authority: {
        blocks: false,
        bypass_attempts: false,
        tamper_events: false,
        heartbeat_status: false,
        config_changes: false,
      },
    });
    for (const type of EVENT_TYPE_VALUES)
      expect([type, isVisibleToAuthority(type, config)]).toEqual([type, false]);
    const defaults = reportingConfigSchema.parse({});
    for (const type of EVENT_TYPE_VALUES) expect(isVisibleToAuthority(type, defaults)).toBe(true);
  });

  test("alert types are the attacks on protection itself", () => {
    expect([...ALERT_EVENT_TYPES].sort()).toEqual([
      "bypass_attempt",
      "extension_removed",
      "tamper",
      "vpn_detected",
    ]);
  });
});
