/**
 * enrollments.protection_config / reporting_config (validated JSONB, @betblocker/common) <->
 * AgentConfig on the wire.
 *
 * The API builds the AgentConfig with `agentConfigFromJsonb` from configs that went through the zod
 * schemas (so every default is filled in) and the agent reads it back with `jsonbFromAgentConfig`
 * and validates the result with the same zod schemas: an UNSPECIFIED or unknown enum then shows up
 * as a missing field (config.proto: the agent keeps its current setting) instead of a guess.
 * reporting_config.alerts is the server's business and does not travel.
 */
import type {
  ProtectionConfig,
  ProtectionConfigInput,
} from "@betblocker/common/config/protection-config.schema";
import type {
  ReportingConfig,
  ReportingConfigInput,
} from "@betblocker/common/config/reporting-config.schema";
import { create } from "@bufbuild/protobuf";
import { enumFromString, enumToString } from "./enums";
import {
  type AgentConfig,
  AgentConfigSchema,
  AggregationLevelSchema,
  BlockResponseSchema,
  BypassActionSchema,
  TamperSensitivitySchema,
} from "./gen/betblocker/agent/v1/config_pb";

/** The wire form of an enrollment's validated protection_config and reporting_config. */
export function agentConfigFromJsonb(protection: ProtectionConfig, reporting: ReportingConfig): AgentConfig {
  return create(AgentConfigSchema, {
    layers: { ...protection.layers },
    dns: {
      blockResponse: enumFromString(BlockResponseSchema, protection.dns.block_response),
      redirectUrl: protection.dns.redirect_url ?? "",
      blockDoh: protection.dns.block_doh,
      blockDot: protection.dns.block_dot,
      hostsFileFallback: protection.dns.hosts_file_fallback,
    },
    bypassDetection: {
      vpnAction: enumFromString(BypassActionSchema, protection.bypass_detection.vpn_action),
      proxyAction: enumFromString(BypassActionSchema, protection.bypass_detection.proxy_action),
      torAction: enumFromString(BypassActionSchema, protection.bypass_detection.tor_action),
    },
    heartbeatIntervalSeconds: protection.heartbeat_interval_seconds,
    tamperSensitivity: enumFromString(TamperSensitivitySchema, protection.tamper_sensitivity),
    reporting: {
      reportToAuthority: {
        blocks: reporting.report_to_authority.blocks,
        bypassAttempts: reporting.report_to_authority.bypass_attempts,
        tamperEvents: reporting.report_to_authority.tamper_events,
        heartbeatStatus: reporting.report_to_authority.heartbeat_status,
        configChanges: reporting.report_to_authority.config_changes,
      },
      aggregationLevel: enumFromString(AggregationLevelSchema, reporting.aggregation_level),
      federatedReporting: reporting.federated_reporting,
    },
  });
}

/** What an agent reads out of an AgentConfig; validate each half with the common zod schema. */
export interface AgentConfigAsJsonb {
  protection: ProtectionConfigInput;
  /** reporting_config without `alerts` (not sent to devices). */
  reporting: Omit<ReportingConfigInput, "alerts">;
}

/**
 * The JSONB shapes of an AgentConfig. An UNSPECIFIED or unknown enum and an unset sub-message leave
 * their fields out, so `protectionConfigSchema.parse` would fill in the default: an agent that
 * wants "keep the current value" instead checks `findUnknownEnumValues` first.
 */
export function jsonbFromAgentConfig(config: AgentConfig): AgentConfigAsJsonb {
  const protection: Record<string, unknown> = {
    heartbeat_interval_seconds: config.heartbeatIntervalSeconds,
    ...defined("tamper_sensitivity", enumToString(TamperSensitivitySchema, config.tamperSensitivity)),
  };
  if (config.layers !== undefined) {
    const { dns, application, browser } = config.layers;
    protection.layers = { dns, application, browser };
  }
  if (config.dns !== undefined) {
    protection.dns = {
      ...defined("block_response", enumToString(BlockResponseSchema, config.dns.blockResponse)),
      redirect_url: config.dns.redirectUrl === "" ? null : config.dns.redirectUrl,
      block_doh: config.dns.blockDoh,
      block_dot: config.dns.blockDot,
      hosts_file_fallback: config.dns.hostsFileFallback,
    };
  }
  if (config.bypassDetection !== undefined) {
    protection.bypass_detection = {
      ...defined("vpn_action", enumToString(BypassActionSchema, config.bypassDetection.vpnAction)),
      ...defined("proxy_action", enumToString(BypassActionSchema, config.bypassDetection.proxyAction)),
      ...defined("tor_action", enumToString(BypassActionSchema, config.bypassDetection.torAction)),
    };
  }
  const reporting: Record<string, unknown> = {};
  if (config.reporting !== undefined) {
    const policy = config.reporting;
    if (policy.reportToAuthority !== undefined) {
      reporting.report_to_authority = {
        blocks: policy.reportToAuthority.blocks,
        bypass_attempts: policy.reportToAuthority.bypassAttempts,
        tamper_events: policy.reportToAuthority.tamperEvents,
        heartbeat_status: policy.reportToAuthority.heartbeatStatus,
        config_changes: policy.reportToAuthority.configChanges,
      };
    }
    // An unset aggregation level means aggregated (config.proto): never reveal domains by accident.
    reporting.aggregation_level =
      enumToString(AggregationLevelSchema, policy.aggregationLevel) ?? "aggregated";
    reporting.federated_reporting = policy.federatedReporting;
  }
  return {
    protection: protection as ProtectionConfigInput,
    reporting: reporting as Omit<ReportingConfigInput, "alerts">,
  };
}

function defined(key: string, value: string | undefined): Record<string, string> {
  return value === undefined ? {} : { [key]: value };
}
