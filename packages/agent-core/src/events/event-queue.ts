/**
 * Bounded on-disk event queue: one JSON file rewritten atomically on every change. Events wait here
 * until the server answered 2xx for the batch that carried them. A batch keeps its batch_id (and its
 * events their event_id) when resent, so the server deduplicates a batch whose answer was lost.
 * When full, the oldest unbatched events are dropped first; the drop count and time range become a
 * DropNotice in the next batch. A corrupt file is quarantined and reported; the queue starts empty.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { CorruptFileReport } from "../state/agent-state";
import { quarantineFile, writeFileAtomic } from "../state/atomic-file";

export const QUEUE_SCHEMA_VERSION = 1;

/** One event, stored as the base64 protobuf encoding of `Event`, plus its time for drop ranges. */
export interface QueuedEvent {
  eventId: string;
  /** Milliseconds since the epoch. */
  occurredAt: number;
  /** base64 of `encodeMessage(EventSchema, event)`. */
  encoded: string;
  /** Tamper and other alerts are dropped only after every ordinary event. */
  priority: "alert" | "normal";
}

export interface PendingBatch {
  batchId: string;
  events: QueuedEvent[];
  drop: DropRange | null;
}

export interface DropRange {
  count: number;
  oldest: number;
  newest: number;
}

interface QueueFile {
  schema_version: number;
  /** Batch sent but not acknowledged: resent as is. */
  inflight: PendingBatch | null;
  events: QueuedEvent[];
  drop: DropRange | null;
}

export interface EventQueueOptions {
  path: string;
  maxEvents?: number;
  maxBytes?: number;
  onCorrupt?: (report: CorruptFileReport) => void;
  /** Delay before ordinary (non-alert) events are written; default 1000 ms. */
  persistDelayMs?: number;
}

function eventBytes(event: QueuedEvent): number {
  // JSON overhead of the fixed fields is about 100 bytes; `encoded` dominates.
  return event.encoded.length + event.eventId.length + 100;
}

export class EventQueue {
  private data: QueueFile;
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly persistDelayMs: number;
  private saveTimer: NodeJS.Timeout | null = null;
  /** Approximate serialized size of `data.events`, kept incrementally (no stringify per event). */
  private eventBytes = 0;

  constructor(private readonly options: EventQueueOptions) {
    this.maxEvents = options.maxEvents ?? 10_000;
    this.maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
    this.persistDelayMs = options.persistDelayMs ?? 1000;
    this.data = this.load();
    // Counts the unacknowledged batch too: it is part of the file until the server took it.
    for (const event of [...this.data.events, ...(this.data.inflight?.events ?? [])]) {
      this.eventBytes += eventBytes(event);
    }
  }

  /** Events waiting (including an unacknowledged batch). */
  get size(): number {
    return this.data.events.length + (this.data.inflight?.events.length ?? 0);
  }

  get pendingDrop(): DropRange | null {
    return this.data.drop;
  }

  /**
   * Add an event. Alerts are written to disk before this returns; ordinary events (blocks, called on
   * the DNS query path) are written within `persistDelayMs` so a burst costs one write, not one each:
   * a crash can lose at most that window of ordinary events, never an alert.
   */
  enqueue(event: QueuedEvent): void {
    this.data.events.push(event);
    this.eventBytes += eventBytes(event);
    this.enforceBounds();
    if (event.priority === "alert") this.save();
    else this.saveSoon();
  }

  /** Write pending changes now (call on shutdown). */
  persist(): void {
    if (this.saveTimer) this.save();
  }

  /**
   * The batch to send: the unacknowledged one if any (same batch_id), else a new one of up to
   * `maxBatch` events plus the pending drop notice. Null when there is nothing to send.
   */
  nextBatch(maxBatch: number): PendingBatch | null {
    if (this.data.inflight) return this.data.inflight;
    if (this.data.events.length === 0 && !this.data.drop) return null;
    const room = this.data.drop ? maxBatch - 1 : maxBatch;
    const batch: PendingBatch = {
      batchId: randomUUID(),
      events: this.data.events.slice(0, room),
      drop: this.data.drop,
    };
    this.data.events = this.data.events.slice(batch.events.length);
    this.data.drop = null;
    this.data.inflight = batch;
    this.save();
    return batch;
  }

  /** The server answered 2xx for this batch: its events are delivered. */
  acknowledge(batchId: string): void {
    const batch = this.data.inflight;
    if (batch?.batchId !== batchId) return;
    this.data.inflight = null;
    for (const event of batch.events) this.eventBytes -= eventBytes(event);
    this.save();
  }

  /**
   * The server refused the batch for good (4xx): resending it would loop forever, so its events are
   * counted as dropped and reported by the next batch's DropNotice.
   */
  discard(batchId: string): void {
    const batch = this.data.inflight;
    if (batch?.batchId !== batchId) return;
    this.data.inflight = null;
    for (const event of batch.events) {
      this.eventBytes -= eventBytes(event);
      this.noteDrop(event);
    }
    this.save();
  }

  private enforceBounds(): void {
    while (this.data.events.length > 0 && (this.size > this.maxEvents || this.eventBytes > this.maxBytes)) {
      const index = this.data.events.findIndex((event) => event.priority === "normal");
      const [dropped] = this.data.events.splice(index === -1 ? 0 : index, 1);
      if (!dropped) break;
      this.eventBytes -= eventBytes(dropped);
      this.noteDrop(dropped);
    }
  }

  private noteDrop(event: QueuedEvent): void {
    const drop = this.data.drop;
    this.data.drop = drop
      ? {
          count: drop.count + 1,
          oldest: Math.min(drop.oldest, event.occurredAt),
          newest: Math.max(drop.newest, event.occurredAt),
        }
      : { count: 1, oldest: event.occurredAt, newest: event.occurredAt };
  }

  private load(): QueueFile {
    const empty: QueueFile = { schema_version: QUEUE_SCHEMA_VERSION, inflight: null, events: [], drop: null };
    const { path } = this.options;
    if (!existsSync(path)) return empty;
    try {
      const raw = JSON.parse(readFileSync(path, "utf8")) as QueueFile;
      if (raw?.schema_version !== QUEUE_SCHEMA_VERSION || !Array.isArray(raw.events)) {
        throw new Error(`unsupported queue file (schema_version ${String(raw?.schema_version)})`);
      }
      return { ...empty, ...raw };
    } catch (error) {
      const quarantinedTo = quarantineFile(path);
      this.options.onCorrupt?.({ path, quarantinedTo, error: (error as Error).message });
      return empty;
    }
  }

  private saveSoon(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => this.save(), this.persistDelayMs);
    this.saveTimer.unref();
  }

  private save(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    writeFileAtomic(this.options.path, JSON.stringify(this.data), 0o600);
  }
}
