/**
 * Device heartbeats: record that the device is alive and tell it what to enforce.
 *
 * Writes are coalesced: each heartbeat replaces the device's entry in an in-memory buffer, and every
 * `flushIntervalMs` ONE statement (device_record_heartbeats, migration 0014) writes all buffered devices.
 * Staleness this allows: devices.last_heartbeat (and agent/os version) lag the newest heartbeat by at most
 * the flush interval plus the time a flush takes (default 1 s), far below the worker's stale threshold
 * (minutes). A flush that fails keeps its entries for the next one (a newer heartbeat of the same device wins);
 * `stop()` flushes what is left. The pending -> active (and stale -> active) transition is NOT deferred: the
 * first heartbeat of such a device updates its row at once, so the owner and partner see the device protected
 * as soon as the agent reports in.
 */
import { AppError } from "@betblocker/common/errors/app-error";
import type { Sql } from "@betblocker/db/client";
import {
  activateDevice,
  type HeartbeatWrite,
  recordHeartbeats,
  withDeviceActor,
} from "@betblocker/db/repositories/device.repository";
import type { Clock } from "../auth/clock";
import type { DeviceAuthenticator, DeviceSession } from "./device-auth";

/** devices.agent_version / os_version are VARCHAR(50). */
export const MAX_VERSION_LENGTH = 50;
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

export interface HeartbeatRecorderOptions {
  sql: Sql;
  flushIntervalMs: number;
  onFlushError?: (error: unknown, pending: number) => void;
}

export class HeartbeatRecorder {
  private pending = new Map<number, HeartbeatWrite>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<number> | null = null;

  constructor(private readonly options: HeartbeatRecorderOptions) {}

  /** Buffer a heartbeat; the newest one of a device wins, an empty version keeps the buffered one. */
  record(write: HeartbeatWrite): void {
    const previous = this.pending.get(write.deviceId);
    if (!previous) {
      this.pending.set(write.deviceId, write);
      return;
    }
    const newer = write.seenAt.getTime() >= previous.seenAt.getTime() ? write : previous;
    const older = newer === write ? previous : write;
    this.pending.set(write.deviceId, {
      deviceId: write.deviceId,
      seenAt: newer.seenAt,
      agentVersion: newer.agentVersion || older.agentVersion,
      osVersion: newer.osVersion || older.osVersion,
    });
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Write everything buffered in one statement; resolves with the rows updated. */
  flush(): Promise<number> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    if (this.pending.size === 0) return Promise.resolve(0);
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.flushing = recordHeartbeats(this.options.sql, batch)
      .catch((error: unknown) => {
        // Keep them for the next flush, unless a newer heartbeat arrived meanwhile.
        for (const write of batch) this.record(write);
        this.options.onFlushError?.(error, this.pending.size);
        return 0;
      })
      .finally(() => {
        this.flushing = null;
      });
    return this.flushing;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** Stop the timer and write what is buffered. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}

export interface HeartbeatInput {
  /** Empty: unchanged. */
  agentVersion: string;
  osVersion: string;
}

export interface HeartbeatOutcome {
  serverTime: Date;
  /** The session after the heartbeat (status active once a pending/stale device reported in). */
  session: DeviceSession;
}

export interface DeviceHeartbeatServiceOptions {
  sql: Sql;
  clock: Clock;
  recorder: HeartbeatRecorder;
  authenticator: DeviceAuthenticator;
}

export class DeviceHeartbeatService {
  private readonly activating = new Map<number, Promise<void>>();

  constructor(private readonly options: DeviceHeartbeatServiceOptions) {}

  async heartbeat(
    session: DeviceSession,
    input: HeartbeatInput,
    ip: string | null,
  ): Promise<HeartbeatOutcome> {
    checkVersion("agent_version", input.agentVersion);
    checkVersion("os_version", input.osVersion);
    const serverTime = this.options.clock();
    this.options.recorder.record({
      deviceId: session.deviceId,
      seenAt: serverTime,
      agentVersion: input.agentVersion,
      osVersion: input.osVersion,
    });
    let current = session;
    if (session.status === "pending" || session.status === "stale") {
      await this.activate(session, serverTime, ip);
      current = { ...session, status: "active" };
    }
    if (!current.config.protection) {
      // Recorded above; the agent keeps its last known good config (see device-config.ts).
      throw new AppError(
        "CONFIG_INVALID",
        `enrollment ${current.enrollment?.publicId} has an invalid protection_config`,
      );
    }
    return { serverTime, session: current };
  }

  /** pending/stale -> active now (single-flight per device), then the cached sessions follow. */
  private activate(session: DeviceSession, seenAt: Date, ip: string | null): Promise<void> {
    const running = this.activating.get(session.deviceId);
    if (running) return running;
    const promise = withDeviceActor(
      this.options.sql,
      { accountId: session.accountId, deviceId: session.deviceId },
      ip,
      (tx) => activateDevice(tx, session.deviceId, seenAt),
    )
      .then((status) => {
        // null: it was no longer pending/stale (already active, or disabled meanwhile): re-read it next time.
        if (status === null) this.options.authenticator.invalidateDevice(session.deviceId);
        else this.options.authenticator.updateStatus(session.deviceId, status);
      })
      .finally(() => this.activating.delete(session.deviceId));
    this.activating.set(session.deviceId, promise);
    return promise;
  }
}

function checkVersion(path: string, value: string): void {
  if (value.length > MAX_VERSION_LENGTH || CONTROL_CHARACTERS.test(value)) {
    const message = `must be at most ${MAX_VERSION_LENGTH} characters without control characters`;
    throw new AppError("VALIDATION_FAILED", `invalid heartbeat: ${path}: ${message}`, {
      fieldErrors: [{ path, message }],
    });
  }
}
