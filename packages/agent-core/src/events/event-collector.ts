/**
 * Turns agent happenings into `Event`s, applies the privacy filter AT THE SOURCE (with
 * aggregation_level "aggregated" a block event loses its domain before it is queued, so no domain
 * name is ever written to disk or sent), queues them, and delivers them in batches.
 *
 * Delivery is exactly-once as the server sees it: a batch stays in the queue until a 2xx, is resent
 * with the same batch_id and event_ids after any failure, and the server deduplicates by both.
 */
import { randomUUID } from "node:crypto";
import {
  BlockingLayer,
  BlockReason,
  type BypassMethod,
  create,
  decodeMessage,
  type Event,
  EventSchema,
  EventType,
  encodeMessage,
  MAX_EVENTS_PER_BATCH,
  type MessageInitShape,
  type TamperType,
  timestampFromMs,
} from "@betblocker/proto";
import type { DeviceApiClient } from "../api-client/api-client";
import { DeviceApiError } from "../api-client/api-client";
import type { BlockEvent as DnsBlockEvent } from "../dns/query";
import type { EventQueue, PendingBatch } from "./event-queue";

export type AggregationLevel = "aggregated" | "detailed";

const REASONS: Partial<Record<DnsBlockEvent["reason"], BlockReason>> = {
  exact: BlockReason.EXACT,
  parent: BlockReason.PARENT,
  wildcard: BlockReason.WILDCARD,
  pattern: BlockReason.PATTERN,
  "doh-provider": BlockReason.DOH_PROVIDER,
};

const QTYPES: Readonly<Record<number, string>> = { 1: "A", 5: "CNAME", 28: "AAAA", 65: "HTTPS", 64: "SVCB" };

export type FlushResult =
  | { kind: "idle" }
  /** `rejected`: events the server refused one by one (answered 2xx for the batch; not resent). */
  | { kind: "delivered"; batches: number; events: number; rejected: number }
  | { kind: "failed"; error: DeviceApiError; delivered: number };

export interface EventCollectorOptions {
  queue: EventQueue;
  aggregation?: AggregationLevel;
  now?: () => number;
  maxBatch?: number;
}

export class EventCollector {
  private aggregation: AggregationLevel;
  private readonly now: () => number;
  private readonly maxBatch: number;
  private flushing: Promise<FlushResult> | null = null;
  private tamperTypes: TamperType[] = [];

  constructor(private readonly options: EventCollectorOptions) {
    this.aggregation = options.aggregation ?? "aggregated";
    this.now = options.now ?? Date.now;
    this.maxBatch = Math.min(options.maxBatch ?? 500, MAX_EVENTS_PER_BATCH);
  }

  /** reporting_config.aggregation_level; applies to events recorded from now on. */
  setAggregation(level: AggregationLevel): void {
    this.aggregation = level;
  }

  get queued(): number {
    return this.options.queue.size;
  }

  /** For heartbeats: tamper types recorded since the last acknowledged heartbeat. */
  tamperSinceHeartbeat(): readonly TamperType[] {
    return this.tamperTypes;
  }

  /** The heartbeat carrying the first `count` tamper types was accepted. */
  acknowledgeTamperSummary(count: number): void {
    this.tamperTypes = this.tamperTypes.slice(count);
  }

  /** Write queued events to disk now (shutdown). */
  persist(): void {
    this.options.queue.persist();
  }

  /** A DNS block (the forwarder's `onBlock` sink): cheap, synchronous. */
  recordBlock = (block: DnsBlockEvent): void => {
    this.record(
      {
        eventType: EventType.BLOCK,
        payload: {
          case: "block",
          value: {
            // Privacy filter: aggregated reporting never lets the name leave the device.
            domain: this.aggregation === "detailed" ? block.name : "",
            category: block.category ?? "",
            layer: BlockingLayer.DNS,
            queryType: QTYPES[block.qtype] ?? String(block.qtype),
            reason: REASONS[block.reason] ?? BlockReason.UNSPECIFIED,
          },
        },
      },
      block.at,
    );
  };

  recordTamper(type: TamperType, details: string, expectedHash = "", actualHash = ""): void {
    this.tamperTypes.push(type);
    this.record(
      {
        eventType: EventType.TAMPER,
        payload: {
          case: "tamper",
          value: { type, details, integrityHashExpected: expectedHash, integrityHashActual: actualHash },
        },
      },
      this.now(),
      "alert",
    );
  }

  /**
   * A bypass attempt (VPN up, DoT blocked, hosts-file override...). `details` is for a person and must
   * hold no domain name: it is sent as is whatever the aggregation level (counts and interface names are fine).
   */
  recordBypass(method: BypassMethod, details: string): void {
    this.record(
      { eventType: EventType.BYPASS_ATTEMPT, payload: { case: "bypassAttempt", value: { method, details } } },
      this.now(),
      "alert",
    );
  }

  record(
    event: Omit<MessageInitShape<typeof EventSchema>, "eventId" | "occurredAt">,
    at = this.now(),
    priority: "alert" | "normal" = "normal",
  ): string {
    const eventId = randomUUID();
    const message = create(EventSchema, {
      ...event,
      eventId,
      occurredAt: timestampFromMs(at),
    } as MessageInitShape<typeof EventSchema>);
    const encoded = Buffer.from(encodeMessage(EventSchema, message)).toString("base64");
    this.options.queue.enqueue({ eventId, occurredAt: at, encoded, priority });
    return eventId;
  }

  /** Send queued batches until the queue is empty or a request fails (the batch stays queued). */
  flush(client: DeviceApiClient): Promise<FlushResult> {
    if (!this.flushing) {
      this.flushing = this.flushNow(client).finally(() => {
        this.flushing = null;
      });
    }
    return this.flushing;
  }

  private async flushNow(client: DeviceApiClient): Promise<FlushResult> {
    let batches = 0;
    let events = 0;
    let rejected = 0;
    for (;;) {
      const batch = this.options.queue.nextBatch(this.maxBatch);
      if (!batch) return batches === 0 ? { kind: "idle" } : { kind: "delivered", batches, events, rejected };
      try {
        const response = await client.sendEvents({
          batchId: batch.batchId,
          events: this.eventsOf(batch),
          sentAt: timestampFromMs(this.now()),
        });
        this.options.queue.acknowledge(batch.batchId);
        rejected += response.rejected.length;
        batches += 1;
        events += batch.events.length;
      } catch (error) {
        const apiError =
          error instanceof DeviceApiError ? error : new DeviceApiError("protocol", (error as Error).message);
        // 4xx other than 408/429: the server will never take this batch; drop it (counted) instead of looping.
        if (apiError.kind === "client" && apiError.status !== 408 && apiError.status !== 429) {
          this.options.queue.discard(batch.batchId);
        }
        return { kind: "failed", error: apiError, delivered: events };
      }
    }
  }

  private eventsOf(batch: PendingBatch): Event[] {
    const events = batch.events.map((queued) =>
      decodeMessage(EventSchema, new Uint8Array(Buffer.from(queued.encoded, "base64"))),
    );
    if (batch.drop) {
      events.push(
        create(EventSchema, {
          // Derived from the batch id so a resend carries the same event id.
          eventId: batch.batchId,
          eventType: EventType.UNSPECIFIED,
          occurredAt: timestampFromMs(batch.drop.newest),
          payload: {
            case: "dropNotice",
            value: {
              droppedCount: batch.drop.count,
              oldestDroppedAt: timestampFromMs(batch.drop.oldest),
              newestDroppedAt: timestampFromMs(batch.drop.newest),
            },
          },
        }),
      );
    }
    return events;
  }
}
