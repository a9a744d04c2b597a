/**
 * Heartbeats every protection_config.heartbeat_interval_seconds. The response's config is applied
 * live (DNS policy, aggregation level) and the next heartbeat is scheduled with the new interval; a
 * newer latest_blocklist_version triggers a sync. A failed heartbeat is retried at the next tick.
 */
import {
  type ProtectionConfig,
  protectionConfigSchema,
  type ReportingConfig,
  reportingConfigSchema,
} from "@betblocker/common";
import {
  type AgentConfig,
  AgentConfigSchema,
  findUnknownEnumValues,
  type HeartbeatResponse,
  jsonbFromAgentConfig,
  type TamperType,
  timestampFromMs,
} from "@betblocker/proto";
import type { DeviceApiClient } from "../api-client/api-client";

export interface AppliedConfig {
  protection: ProtectionConfig;
  reporting: Omit<ReportingConfig, "alerts">;
}

/** Validate an AgentConfig from the server; null when it cannot be applied (keep the current one). */
export function parseAgentConfig(config: AgentConfig): AppliedConfig | null {
  if (findUnknownEnumValues(AgentConfigSchema, config).length > 0) return null;
  const { protection, reporting } = jsonbFromAgentConfig(config);
  const parsedProtection = protectionConfigSchema.safeParse(protection);
  const parsedReporting = reportingConfigSchema.safeParse(reporting);
  if (!parsedProtection.success || !parsedReporting.success) return null;
  const { alerts: _alerts, ...reportingWithoutAlerts } = parsedReporting.data;
  return { protection: parsedProtection.data, reporting: reportingWithoutAlerts };
}

export interface HeartbeatSource {
  agentVersion: string;
  osVersion: string;
  blocklistVersion(): number;
  /** Monotonic count of blocked queries (forwarder counters.blocked). */
  blockedTotal(): number;
  queuedEvents(): number;
  /** Tamper types recorded since the last accepted heartbeat (cleared by `tamperReported`). */
  tamperTypes?(): readonly TamperType[];
  tamperReported?(count: number): void;
}

export interface HeartbeatLoopOptions {
  client: () => DeviceApiClient | null;
  source: HeartbeatSource;
  intervalSeconds: number;
  onConfig: (config: AppliedConfig) => void;
  onNewerBlocklist: (version: number) => void;
  onError?: (error: Error) => void;
  now?: () => number;
}

export class HeartbeatLoop {
  private timer: NodeJS.Timeout | null = null;
  private intervalSeconds: number;
  private readonly startedAt: number;
  private lastBlockedTotal = 0;
  private stopped = true;
  private readonly now: () => number;

  constructor(private readonly options: HeartbeatLoopOptions) {
    this.now = options.now ?? Date.now;
    this.intervalSeconds = options.intervalSeconds;
    this.startedAt = this.now();
  }

  get interval(): number {
    return this.intervalSeconds;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Send one heartbeat now; resolves with the response, or null on failure. */
  async beat(): Promise<HeartbeatResponse | null> {
    const client = this.options.client();
    if (!client) return null;
    const { source } = this.options;
    const blockedTotal = source.blockedTotal();
    const tamperTypes = [...(source.tamperTypes?.() ?? [])];
    try {
      const response = await client.heartbeat({
        agentVersion: source.agentVersion,
        osVersion: source.osVersion,
        blocklistVersion: source.blocklistVersion(),
        uptimeSeconds: Math.floor((this.now() - this.startedAt) / 1000),
        blocksSinceLast: Math.max(0, blockedTotal - this.lastBlockedTotal),
        queuedEvents: source.queuedEvents(),
        tamper: {
          integrityOk: tamperTypes.length === 0,
          tamperEventsSinceLast: tamperTypes.length,
          types: [...new Set(tamperTypes)],
        },
        sentAt: timestampFromMs(this.now()),
      });
      // Counted as reported only once the server has it.
      this.lastBlockedTotal = blockedTotal;
      source.tamperReported?.(tamperTypes.length);
      if (response.config) {
        const applied = parseAgentConfig(response.config);
        if (applied) {
          this.intervalSeconds = applied.protection.heartbeat_interval_seconds;
          this.options.onConfig(applied);
        }
      }
      if (response.latestBlocklistVersion > source.blocklistVersion()) {
        this.options.onNewerBlocklist(response.latestBlocklistVersion);
      }
      return response;
    } catch (error) {
      this.options.onError?.(error as Error);
      return null;
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      await this.beat();
      this.schedule(this.intervalSeconds * 1000);
    }, delayMs);
    this.timer.unref();
  }
}
