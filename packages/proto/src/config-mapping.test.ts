import {
  BLOCK_RESPONSE_VALUES,
  BYPASS_ACTION_VALUES,
  defaultProtectionConfig,
  defaultReportingConfig,
  type ProtectionConfig,
  protectionConfigSchema,
  TAMPER_SENSITIVITY_VALUES,
} from "@betblocker/common/config/index";
import {
  type ReportingConfig,
  reportingConfigSchema,
} from "@betblocker/common/config/reporting-config.schema";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { decodeMessage, encodeMessage } from "./codec";
import { agentConfigFromJsonb, jsonbFromAgentConfig } from "./config-mapping";
import {
  AgentConfigSchema,
  AggregationLevel,
  BlockResponse,
  BypassAction,
  TamperSensitivity,
} from "./gen/betblocker/agent/v1/config_pb";

const protectionArbitrary: fc.Arbitrary<ProtectionConfig> = fc
  .record({
    application: fc.boolean(),
    browser: fc.boolean(),
    blockResponse: fc.constantFrom(...BLOCK_RESPONSE_VALUES),
    blockDoh: fc.boolean(),
    blockDot: fc.boolean(),
    hostsFileFallback: fc.boolean(),
    vpn: fc.constantFrom(...BYPASS_ACTION_VALUES),
    proxy: fc.constantFrom(...BYPASS_ACTION_VALUES),
    tor: fc.constantFrom(...BYPASS_ACTION_VALUES),
    interval: fc.integer({ min: 30, max: 86_400 }),
    sensitivity: fc.constantFrom(...TAMPER_SENSITIVITY_VALUES),
  })
  .map((r) =>
    protectionConfigSchema.parse({
      layers: { dns: true, application: r.application, browser: r.browser },
      dns: {
        block_response: r.blockResponse,
        redirect_url: r.blockResponse === "redirect" ? "https://blocked.example.org/page" : null,
        block_doh: r.blockDoh,
        block_dot: r.blockDot,
        hosts_file_fallback: r.hostsFileFallback,
      },
      bypass_detection: { vpn_action: r.vpn, proxy_action: r.proxy, tor_action: r.tor },
      heartbeat_interval_seconds: r.interval,
      tamper_sensitivity: r.sensitivity,
    }),
  );

const reportingArbitrary: fc.Arbitrary<ReportingConfig> = fc
  .record({
    flags: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
    detailed: fc.boolean(),
    federated: fc.boolean(),
  })
  .map(({ flags, detailed, federated }) =>
    reportingConfigSchema.parse({
      report_to_authority: {
        blocks: flags[0],
        bypass_attempts: flags[1],
        tamper_events: flags[2],
        heartbeat_status: flags[3],
        config_changes: flags[4],
      },
      aggregation_level: detailed ? "detailed" : "aggregated",
      federated_reporting: federated,
    }),
  );

describe("AgentConfig <-> protection_config / reporting_config", () => {
  test("the defaults map field by field", () => {
    const config = agentConfigFromJsonb(defaultProtectionConfig(), defaultReportingConfig());
    expect(config.layers).toMatchObject({ dns: true, application: false, browser: false });
    expect(config.dns).toMatchObject({
      blockResponse: BlockResponse.NXDOMAIN,
      redirectUrl: "",
      blockDoh: true,
      blockDot: true,
      hostsFileFallback: true,
    });
    expect(config.bypassDetection).toMatchObject({
      vpnAction: BypassAction.ALERT,
      proxyAction: BypassAction.ALERT,
      torAction: BypassAction.LOCKDOWN,
    });
    expect(config.heartbeatIntervalSeconds).toBe(300);
    expect(config.tamperSensitivity).toBe(TamperSensitivity.STANDARD);
    expect(config.reporting?.aggregationLevel).toBe(AggregationLevel.AGGREGATED);
    expect(config.reporting?.federatedReporting).toBe(true);
  });

  test("any valid config survives JSONB -> wire -> bytes -> wire -> JSONB (alerts excepted)", () => {
    fc.assert(
      fc.property(protectionArbitrary, reportingArbitrary, (protection, reporting) => {
        const bytes = encodeMessage(AgentConfigSchema, agentConfigFromJsonb(protection, reporting));
        const back = jsonbFromAgentConfig(decodeMessage(AgentConfigSchema, bytes));
        expect(protectionConfigSchema.parse(back.protection)).toEqual(protection);
        const { alerts: _alerts, ...reportingWithoutAlerts } = reporting;
        expect(back.reporting).toEqual(reportingWithoutAlerts);
      }),
      { numRuns: 200 },
    );
  });

  test("an UNSPECIFIED or unknown enum is left out rather than guessed; aggregation defaults to aggregated", () => {
    const config = agentConfigFromJsonb(defaultProtectionConfig(), defaultReportingConfig());
    config.tamperSensitivity = TamperSensitivity.UNSPECIFIED;
    config.bypassDetection!.torAction = 9 as BypassAction;
    config.reporting!.aggregationLevel = 7 as AggregationLevel;
    const back = jsonbFromAgentConfig(config);
    expect(back.protection).not.toHaveProperty("tamper_sensitivity");
    expect(back.protection.bypass_detection).not.toHaveProperty("tor_action");
    expect(back.reporting.aggregation_level).toBe("aggregated");
  });
});
