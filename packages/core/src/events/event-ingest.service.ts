/**
 * Ingestion of agent event batches (POST /api/v1/device/events) into the partitioned events table.
 *
 * Per batch, in order:
 * 1. Check every event (nothing is written when one fails): a lower-case UUID event_id; metadata that passes
 *    @betblocker/common's event metadata schema AFTER the enrollment's privacy rules (event-policy.ts) were
 *    applied. A failure answers VALIDATION_FAILED naming each event ("events[3].metadata.layer"); the agent
 *    drops those and resends the rest (events.proto). Alert events (tamper, bypass_attempt, vpn_detected,
 *    extension_removed) are salvaged instead when only optional fields are wrong: those fields are dropped
 *    and the event is stored, because an alert must never be lost to a formatting problem.
 * 2. Time: created_at = occurred_at. An event more than `maxClockSkewMs` in the future or older than
 *    `maxEventAgeDays` is refused one by one (EventBatchResponse.rejected), except alert events, which are
 *    stored at the receive time instead (a device clock set to 1999 must not make a tamper event vanish;
 *    such an event may be stored twice if its batch is resent with new ids, which beats losing it).
 * 3. Drop notices (the agent's bounded offline queue lost events) are not rows: they are logged, summed into
 *    device_event_batches.dropped_events for reports, and counted as accepted.
 * 4. Partitions: ensure_events_partition for every month present that this process has not ensured yet (it
 *    takes a lock, so it is not called per batch); a partition that vanished (detached) is re-ensured once.
 * 5. One statement stores the events (ON CONFLICT (event_uid, created_at) DO NOTHING: duplicates across
 *    batches) and the batch record (device_event_batches): a batch_id seen before stores nothing and answers
 *    the original outcome. Runs as the device's owner.
 *
 * Outcome invariant: accepted + duplicates + rejected.length = number of events in the batch.
 * enrollment_id: the device's binding enrollment (device-config.ts), or NULL when it has none.
 */
import { safeParseEventMetadata } from "@betblocker/common/config/event-metadata.schema";
import type { FieldError } from "@betblocker/common/config/field-errors";
import type { EventType } from "@betblocker/common/enums";
import { AppError } from "@betblocker/common/errors/app-error";
import type { Sql } from "@betblocker/db/client";
import { withDeviceActor } from "@betblocker/db/repositories/device.repository";
import {
  type EventInsertRow,
  ensureEventsPartition,
  insertEventBatch,
  isMissingPartitionError,
  type RejectedItem,
} from "@betblocker/db/repositories/event.repository";
import type { Clock } from "../auth/clock";
import type { DeviceSession } from "../devices/device-auth";
import { ALERT_EVENT_TYPES, applyPrivacy, isVisibleToAuthority } from "./event-policy";

export type IncomingEvent =
  | {
      kind: "event";
      eventId: string;
      eventType: EventType;
      occurredAt: Date;
      metadata: Record<string, unknown>;
    }
  | { kind: "drop_notice"; eventId: string; occurredAt: Date; droppedCount: number };

export interface IncomingEventBatch {
  batchId: string;
  events: readonly IncomingEvent[];
}

export interface IngestOutcome {
  accepted: number;
  duplicates: number;
  rejected: RejectedItem[];
  /** True when the batch_id was seen before: nothing was written, the original outcome is returned. */
  replay: boolean;
}

export interface IngestLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

export interface EventIngestServiceOptions {
  sql: Sql;
  clock: Clock;
  /** Default 400 days (monthly partitions are kept 12 months, spec section 7). */
  maxEventAgeDays?: number;
  /** Default 24 hours. */
  maxClockSkewMs?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DAY_MS = 86_400_000;

export class EventIngestService {
  private readonly ensuredMonths = new Set<string>();
  private readonly maxAgeMs: number;
  private readonly maxSkewMs: number;

  constructor(private readonly options: EventIngestServiceOptions) {
    this.maxAgeMs = (options.maxEventAgeDays ?? 400) * DAY_MS;
    this.maxSkewMs = options.maxClockSkewMs ?? DAY_MS;
  }

  async ingest(
    session: DeviceSession,
    batch: IncomingEventBatch,
    ip: string | null,
    log?: IngestLogger,
  ): Promise<IngestOutcome> {
    if (!UUID.test(batch.batchId)) {
      throw invalid([{ path: "batch_id", message: "must be a UUID in lower-case canonical form" }]);
    }
    const now = this.options.clock();
    const nowMs = now.getTime();
    const { reporting } = session.config;
    const rows: EventInsertRow[] = [];
    const rejected: RejectedItem[] = [];
    const fieldErrors: FieldError[] = [];
    const seen = new Set<string>();
    let duplicatesInBatch = 0;
    let dropNotices = 0;
    let droppedEvents = 0;
    let clampedAlerts = 0;
    let salvagedAlerts = 0;
    const refusedAlerts: string[] = [];

    for (let index = 0; index < batch.events.length; index++) {
      const event = batch.events[index] as IncomingEvent;
      if (!UUID.test(event.eventId)) {
        fieldErrors.push({
          path: `events[${index}].event_id`,
          message: "must be a UUID in lower-case canonical form",
        });
        continue;
      }
      if (seen.has(event.eventId)) {
        duplicatesInBatch++;
        continue;
      }
      seen.add(event.eventId);
      if (event.kind === "drop_notice") {
        dropNotices++;
        droppedEvents += event.droppedCount;
        continue;
      }
      const isAlert = ALERT_EVENT_TYPES.has(event.eventType);
      let createdAt = event.occurredAt;
      const occurredMs = event.occurredAt.getTime();
      if (!(occurredMs <= nowMs + this.maxSkewMs && occurredMs >= nowMs - this.maxAgeMs)) {
        if (!isAlert) {
          rejected.push({
            id: event.eventId,
            code: "VALIDATION_FAILED",
            message: `occurred_at ${Number.isNaN(occurredMs) ? "is invalid" : event.occurredAt.toISOString()} is outside the accepted window (server time ${now.toISOString()})`,
          });
          continue;
        }
        createdAt = now;
        clampedAlerts++;
      }
      const metadata = applyPrivacy(event.eventType, event.metadata, reporting);
      let parsed = safeParseEventMetadata(event.eventType, metadata);
      if (!parsed.success && isAlert) {
        const salvaged = salvage(event.eventType, metadata, parsed.error.issues);
        if (salvaged) {
          parsed = salvaged;
          salvagedAlerts++;
        }
      }
      if (!parsed.success) {
        if (isAlert) refusedAlerts.push(event.eventId);
        for (const issue of parsed.error.issues) {
          const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
          fieldErrors.push({ path: `events[${index}].metadata${path}`, message: issue.message });
        }
        continue;
      }
      rows.push({
        eventUid: event.eventId,
        eventType: event.eventType,
        metadata: parsed.data as Record<string, unknown>,
        createdAt,
        visibleToAuthority: isVisibleToAuthority(event.eventType, reporting),
      });
    }
    if (fieldErrors.length > 0) {
      // An alert that cannot be stored is worth an operator's attention even though the agent is told (400).
      if (refusedAlerts.length > 0) {
        log?.warn(
          { deviceId: session.devicePublicId, batchId: batch.batchId, eventIds: refusedAlerts, fieldErrors },
          "alert events refused: their required fields are invalid",
        );
      }
      throw invalid(fieldErrors);
    }

    if (dropNotices > 0 || clampedAlerts > 0 || salvagedAlerts > 0) {
      log?.warn(
        {
          deviceId: session.devicePublicId,
          batchId: batch.batchId,
          dropNotices,
          droppedEvents,
          clampedAlerts,
          salvagedAlerts,
        },
        dropNotices > 0
          ? "device reports events lost by its offline queue"
          : "alert events stored after correction",
      );
    }

    const write = {
      deviceId: session.deviceId,
      enrollmentId: session.config.eventEnrollmentId,
      batchId: batch.batchId,
      eventCount: batch.events.length,
      rows,
      acceptedWithoutRow: dropNotices,
      duplicatesWithoutRow: duplicatesInBatch,
      rejected,
      droppedEvents,
    };
    await this.ensurePartitions(rows);
    const store = () =>
      withDeviceActor(
        this.options.sql,
        { accountId: session.accountId, deviceId: session.deviceId },
        ip,
        (tx) => insertEventBatch(tx, write),
      );
    let result: Awaited<ReturnType<typeof store>>;
    try {
      result = await store();
    } catch (error) {
      if (!isMissingPartitionError(error)) throw error;
      this.ensuredMonths.clear();
      await this.ensurePartitions(rows);
      result = await store();
    }
    return { ...result.outcome, replay: result.kind === "replay" };
  }

  private async ensurePartitions(rows: readonly EventInsertRow[]): Promise<void> {
    const missing = new Map<string, Date>();
    for (const row of rows) {
      const month = row.createdAt.toISOString().slice(0, 7);
      if (!this.ensuredMonths.has(month) && !missing.has(month)) missing.set(month, row.createdAt);
    }
    // Outside the insert's transaction: ensure_events_partition holds an advisory lock until commit.
    for (const [month, date] of missing) {
      await ensureEventsPartition(this.options.sql, date);
      this.ensuredMonths.add(month);
    }
  }
}

/**
 * For an alert event whose metadata fails: drop the top-level fields the problems point at and parse again.
 * Succeeds only when those were optional (details too long, a malformed hash); a missing or wrong required
 * field (the tamper type) still fails.
 */
function salvage(
  eventType: EventType,
  metadata: Record<string, unknown>,
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey> }>,
): ReturnType<typeof safeParseEventMetadata> | null {
  const keys = new Set(
    issues.map((issue) => issue.path[0]).filter((key): key is string => typeof key === "string"),
  );
  if (keys.size === 0) return null;
  const reduced = Object.fromEntries(Object.entries(metadata).filter(([key]) => !keys.has(key)));
  const parsed = safeParseEventMetadata(eventType, reduced);
  return parsed.success ? parsed : null;
}

function invalid(fieldErrors: FieldError[]): AppError {
  const first = fieldErrors[0];
  const more = fieldErrors.length > 1 ? ` (and ${fieldErrors.length - 1} more)` : "";
  return new AppError("VALIDATION_FAILED", `invalid event batch: ${first?.path}: ${first?.message}${more}`, {
    fieldErrors,
  });
}
