/**
 * The device services of one API process, wired together. One instance is shared by the owner-side API
 * (revocation must drop the device-side cache at once) and the mTLS device listener. Its owner calls
 * `start()` (heartbeat flush timer) and `stop()` (final flush) exactly once.
 */
import type { KeyObject } from "node:crypto";
import type { Sql } from "@betblocker/db/client";
import type { Clock } from "../auth/clock";
import type { RateLimitStore } from "../auth/rate-limit";
import type { DevicesConfig } from "../config/config";
import { EventIngestService } from "../events/event-ingest.service";
import { FederatedReportService } from "../events/federated-report.service";
import { BlocklistSyncService } from "./blocklist-sync.service";
import { DeviceAuthenticator } from "./device-auth";
import type { DeviceCa } from "./device-ca";
import { DevicesService } from "./devices.service";
import { DeviceHeartbeatService, HeartbeatRecorder } from "./heartbeat.service";
import { DeviceRegistrationService } from "./registration.service";

export interface DeviceRuntimeLogger {
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export interface DeviceRuntimeOptions {
  sql: Sql;
  config: DevicesConfig;
  clock: Clock;
  rateLimitStore: RateLimitStore;
  /** The device CA; without it registration and renewal are unavailable (owner-side-only processes). */
  ca?: DeviceCa | null;
  /** The blocklist signing public key; without it sync is unavailable. */
  blocklistPublicKey?: KeyObject | null;
  log?: DeviceRuntimeLogger;
}

export interface DeviceRuntime {
  readonly authenticator: DeviceAuthenticator;
  readonly heartbeats: HeartbeatRecorder;
  readonly heartbeatService: DeviceHeartbeatService;
  readonly devices: DevicesService;
  readonly events: EventIngestService;
  readonly federatedReports: FederatedReportService;
  readonly registration: DeviceRegistrationService | null;
  readonly sync: BlocklistSyncService | null;
  readonly ca: DeviceCa | null;
  readonly blocklistPublicKey: KeyObject | null;
  start(): void;
  stop(): Promise<void>;
}

export function createDeviceRuntime(options: DeviceRuntimeOptions): DeviceRuntime {
  const { sql, config, clock, rateLimitStore, log } = options;
  const authenticator = new DeviceAuthenticator({
    sql,
    clock,
    ttlMs: config.authCacheTtlSeconds * 1000,
    onInvalidConfig: (enrollmentId, problem) =>
      log?.error({ enrollmentId, problem }, "enrollment config does not validate"),
  });
  const heartbeats = new HeartbeatRecorder({
    sql,
    flushIntervalMs: config.heartbeatFlushIntervalMs,
    onFlushError: (error, pending) =>
      log?.error({ err: error, pending }, "heartbeat flush failed; kept for the next flush"),
  });
  const ca = options.ca ?? null;
  const blocklistPublicKey = options.blocklistPublicKey ?? null;
  let started = false;
  return {
    authenticator,
    heartbeats,
    heartbeatService: new DeviceHeartbeatService({ sql, clock, recorder: heartbeats, authenticator }),
    devices: new DevicesService({
      clock,
      enrollmentCodeTtlMinutes: config.enrollmentCodeTtlMinutes,
      rateLimitStore,
      enrollmentCodesPerAccount: config.enrollmentCodesPerAccount,
      authenticator,
    }),
    events: new EventIngestService({ sql, clock }),
    federatedReports: new FederatedReportService({
      sql,
      clock,
      rateLimitStore,
      batchesPerDevice: config.federatedReportBatchesPerDevice,
    }),
    registration: ca
      ? new DeviceRegistrationService({
          sql,
          ca,
          clock,
          certificateValidityDays: config.certificateValidityDays,
          rateLimitStore,
          limits: { registerPerIp: config.registerPerIp, renewalsPerDevice: config.renewalsPerDevice },
        })
      : null,
    sync: blocklistPublicKey
      ? new BlocklistSyncService({
          sql,
          publicKey: blocklistPublicKey,
          onRefreshError: (error) => log?.error({ err: error }, "blocklist version refresh failed"),
        })
      : null,
    ca,
    blocklistPublicKey,
    start() {
      if (started) return;
      started = true;
      heartbeats.start();
    },
    async stop() {
      await heartbeats.stop();
    },
  };
}
