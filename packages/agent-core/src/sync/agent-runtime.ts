/**
 * AgentRuntime: the platform-independent agent behind the DNS forwarder. Construction reads only the
 * disk (state, identity, last known good list, event queue); `start()` begins the network loops
 * (sync with jitter, heartbeat at the configured interval, event delivery).
 *
 *   const runtime = AgentRuntime.open({ stateDir, apiUrl, pinnedPublicKey, agentVersion, osVersion });
 *   const forwarder = await startDnsForwarder({
 *     matcher: () => runtime.waitForMatcher(), upstreams, onBlock: runtime.events.recordBlock,
 *   });
 *   runtime.attachForwarder(forwarder);
 *   runtime.start();
 */
import type { KeyObject } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import {
  type BlocklistMatcher,
  protectionConfigSchema,
  publicKeyFromRaw,
  reportingConfigSchema,
} from "@betblocker/common";
import { TamperType } from "@betblocker/proto";
import { DeviceApiClient } from "../api-client/api-client";
import { BlocklistStore } from "../blocklist/blocklist-store";
import type { DnsProtectionConfig } from "../dns/policy";
import { EventCollector, type FlushResult } from "../events/event-collector";
import { EventQueue } from "../events/event-queue";
import { FederatedReporter } from "../events/federated-reporter";
import { type AppliedConfig, HeartbeatLoop } from "../heartbeat/heartbeat";
import { AgentStateStore, type CorruptFileReport, statePaths } from "../state/agent-state";
import { SyncLoop, type SyncResult } from "./sync-loop";

/** What the runtime drives on the forwarder (`DnsForwarder` satisfies it). */
export interface ForwarderControl {
  setMatcher(matcher: BlocklistMatcher): void;
  setProtection(config: DnsProtectionConfig): void;
  readonly counters: { readonly blocked: number };
}

export interface AgentRuntimeOptions {
  stateDir: string;
  /** Device listener base URL, "https://host:port". */
  apiUrl: string;
  /** Blocklist signing key; default: the one stored at registration (blocklist-signing.pub). */
  pinnedPublicKey?: KeyObject;
  agentVersion: string;
  osVersion: string;
  syncIntervalSeconds?: number;
  syncJitter?: number;
  /** How often queued events are sent (default 30 s). */
  eventFlushSeconds?: number;
  requestTimeoutMs?: number;
  queue?: { maxEvents?: number; maxBytes?: number };
  /** Diagnostics for the service log (never contains domain names). */
  log?: (message: string) => void;
}

export class AgentRuntime {
  readonly state: AgentStateStore;
  readonly blocklist: BlocklistStore;
  readonly events: EventCollector;
  /** Suspected gambling names for the federated review queue (feed it the names the forwarder resolves). */
  readonly federated = new FederatedReporter();
  readonly syncLoop: SyncLoop;
  readonly heartbeatLoop: HeartbeatLoop;
  private client: DeviceApiClient | null = null;
  private forwarder: ForwarderControl | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private matcherWaiters: ((matcher: BlocklistMatcher) => void)[] = [];
  private readonly log: (message: string) => void;
  private started = false;

  private constructor(private readonly options: AgentRuntimeOptions) {
    this.log = options.log ?? (() => {});
    const paths = statePaths(options.stateDir);
    const corrupt: CorruptFileReport[] = [];
    this.state = AgentStateStore.open(options.stateDir, (report) => corrupt.push(report));
    const queue = new EventQueue({
      path: paths.eventQueue,
      ...options.queue,
      onCorrupt: (report) => corrupt.push(report),
    });
    const aggregation = this.state.state.config?.reporting.aggregation_level;
    this.events = new EventCollector({
      queue,
      aggregation: aggregation === "detailed" ? "detailed" : "aggregated",
    });
    for (const report of corrupt) this.reportCorrupt(report);
    this.federated.setEnabled(this.state.state.config?.reporting.federated_reporting === true);
    const pinnedPublicKey = options.pinnedPublicKey ?? loadStoredSigningKey(paths.signingKey);
    this.blocklist = new BlocklistStore({
      path: paths.blocklist,
      pinnedPublicKey,
      target: { setMatcher: (matcher) => this.onMatcher(matcher) },
      minimumVersion: () => this.state.state.blocklist_version,
      onTamper: (report) => {
        this.log(`blocklist tamper: ${report.details}`);
        this.events.recordTamper(
          TamperType.LIST_SIGNATURE_INVALID,
          report.details,
          report.expectedSha256,
          report.actualSha256,
        );
        // Alerts go out at once, but `open()` itself never touches the network.
        if (this.started) void this.flushEvents();
      },
    });
    // Last known good, from disk, before any network.
    const listFilePresent = existsSync(paths.blocklist);
    const loaded = this.blocklist.loadFromDisk();
    const recorded = this.state.state.blocklist_version;
    // A file that failed verification was already reported (and quarantined) by the store.
    if ((loaded || !listFilePresent) && this.blocklist.version < recorded) {
      // A signed but older list (or none) where a newer one was installed: replaced or deleted on disk.
      const details = `blocklist on disk is version ${this.blocklist.version}, but version ${recorded} was installed`;
      this.log(`blocklist tamper: ${details}`);
      this.events.recordTamper(TamperType.LIST_SIGNATURE_INVALID, details);
    }
    this.syncLoop = new SyncLoop({
      store: this.blocklist,
      client: () => this.apiClient(),
      intervalSeconds: options.syncIntervalSeconds ?? 3600,
      jitter: options.syncJitter ?? 0.1,
      onResult: (result) => this.onSyncResult(result),
    });
    const saved = this.state.state.config;
    this.heartbeatLoop = new HeartbeatLoop({
      client: () => this.apiClient(),
      intervalSeconds:
        typeof saved?.protection.heartbeat_interval_seconds === "number"
          ? saved.protection.heartbeat_interval_seconds
          : 300,
      source: {
        agentVersion: options.agentVersion,
        osVersion: options.osVersion,
        blocklistVersion: () => this.blocklist.version,
        blockedTotal: () => this.forwarder?.counters.blocked ?? 0,
        queuedEvents: () => this.events.queued,
        tamperTypes: () => this.events.tamperSinceHeartbeat(),
        tamperReported: (count) => this.events.acknowledgeTamperSummary(count),
      },
      onConfig: (config) => this.applyConfig(config),
      onNewerBlocklist: () => void this.syncLoop.sync(),
      onError: (error) => this.log(`heartbeat failed: ${error.message}`),
    });
  }

  /** Read state, identity, list and queue from disk. No network. */
  static open(options: AgentRuntimeOptions): AgentRuntime {
    return new AgentRuntime(options);
  }

  /** The current matcher, or a promise for the first one (for the forwarder's gate). */
  waitForMatcher(): BlocklistMatcher | Promise<BlocklistMatcher> {
    const current = this.blocklist.matcher;
    if (current) return current;
    return new Promise((resolve) => this.matcherWaiters.push(resolve));
  }

  attachForwarder(forwarder: ForwarderControl): void {
    this.forwarder = forwarder;
    const current = this.blocklist.matcher;
    if (current) forwarder.setMatcher(current);
    const saved = this.state.state.config;
    if (saved) {
      const parsed = parseStoredConfig(saved);
      if (parsed) forwarder.setProtection(parsed.protection.dns);
    }
  }

  start(): void {
    this.started = true;
    this.syncLoop.start();
    this.heartbeatLoop.start();
    const every = (this.options.eventFlushSeconds ?? 30) * 1000;
    this.flushTimer = setInterval(() => void this.flushEvents(), every);
    this.flushTimer.unref();
    // Anything queued while offline or while opening (tamper found on disk) goes out now.
    void this.flushEvents();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.syncLoop.stop();
    this.heartbeatLoop.stop();
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    this.events.persist();
    this.client?.close();
    this.client = null;
  }

  sync(): Promise<SyncResult> {
    return this.syncLoop.sync();
  }

  flushEvents(): Promise<FlushResult> {
    const client = this.apiClient();
    if (!client) return Promise.resolve({ kind: "idle" });
    if (this.federated.queued > 0) {
      void this.federated.flush(client).then((result) => {
        if ("error" in result) this.log(`federated reports not sent: ${result.error.message}`);
      });
    }
    return this.events.flush(client).then((result) => {
      if (result.kind === "failed") this.log(`event delivery failed: ${result.error.message}`);
      if (result.kind === "delivered" && result.rejected > 0) {
        this.log(`the server refused ${result.rejected} event(s) of the batches delivered`);
      }
      return result;
    });
  }

  heartbeat() {
    return this.heartbeatLoop.beat();
  }

  private apiClient(): DeviceApiClient | null {
    if (!this.client) {
      this.client = DeviceApiClient.fromStateDir(
        this.options.stateDir,
        this.options.apiUrl,
        this.options.requestTimeoutMs,
      );
    }
    return this.client;
  }

  private onMatcher(matcher: BlocklistMatcher): void {
    this.forwarder?.setMatcher(matcher);
    const waiters = this.matcherWaiters;
    this.matcherWaiters = [];
    for (const resolve of waiters) resolve(matcher);
  }

  private onSyncResult(result: SyncResult): void {
    if (result.kind === "updated") {
      this.state.update({ blocklist_version: result.to, last_sync_at: new Date().toISOString() });
      this.log(`blocklist ${result.from} -> ${result.to} (${result.via})`);
    } else if (result.kind === "up-to-date") {
      this.state.update({ last_sync_at: new Date().toISOString() });
    } else if (result.kind === "refused") {
      this.log(`blocklist update refused: ${result.reason}`);
    } else if (result.kind === "unreachable") {
      this.log(`sync failed (${result.error.kind}): ${result.error.message}`);
    }
  }

  private applyConfig(config: AppliedConfig): void {
    this.forwarder?.setProtection(config.protection.dns);
    this.events.setAggregation(config.reporting.aggregation_level);
    this.federated.setEnabled(config.reporting.federated_reporting);
    this.state.update({
      config: {
        protection: config.protection as unknown as Record<string, unknown>,
        reporting: config.reporting as unknown as Record<string, unknown>,
      },
    });
  }

  private reportCorrupt(report: CorruptFileReport): void {
    this.log(`corrupt file quarantined: ${report.path} -> ${report.quarantinedTo}: ${report.error}`);
    this.events.recordTamper(
      TamperType.CONFIG_ALTERED,
      `unreadable agent file ${report.path} quarantined to ${report.quarantinedTo}: ${report.error}`,
    );
  }
}

function loadStoredSigningKey(path: string): KeyObject {
  if (!existsSync(path)) {
    throw new Error(`no pinned blocklist signing key (${path}); register the device or pass pinnedPublicKey`);
  }
  return publicKeyFromRaw(new Uint8Array(readFileSync(path)));
}

function parseStoredConfig(saved: {
  protection: Record<string, unknown>;
  reporting: Record<string, unknown>;
}): AppliedConfig | null {
  const protection = protectionConfigSchema.safeParse(saved.protection);
  const reporting = reportingConfigSchema.safeParse(saved.reporting);
  if (!protection.success || !reporting.success) return null;
  const { alerts: _alerts, ...rest } = reporting.data;
  return { protection: protection.data, reporting: rest };
}
