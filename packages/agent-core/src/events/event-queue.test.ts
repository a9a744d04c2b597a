import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { CorruptFileReport } from "../state/agent-state";
import { EventQueue, type QueuedEvent } from "./event-queue";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bb-queue-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function event(id: string, at: number, priority: QueuedEvent["priority"] = "normal"): QueuedEvent {
  return { eventId: id, occurredAt: at, encoded: "", priority };
}

describe("EventQueue", () => {
  test("keeps an unacknowledged batch with the same batch id across a restart", () => {
    const path = join(dir, "q.json");
    const queue = new EventQueue({ path });
    queue.enqueue(event("a", 1));
    queue.enqueue(event("b", 2));
    const batch = queue.nextBatch(10);
    const reopened = new EventQueue({ path });
    expect(reopened.nextBatch(10)?.batchId).toBe(batch?.batchId);
    expect(reopened.nextBatch(10)?.events.map((e) => e.eventId)).toEqual(["a", "b"]);
    reopened.acknowledge(batch?.batchId as string);
    expect(reopened.size).toBe(0);
    expect(new EventQueue({ path }).nextBatch(10)).toBeNull();
  });

  test("when full drops the oldest ordinary events first (alerts last) and reports the drop range", () => {
    const queue = new EventQueue({ path: join(dir, "q.json"), maxEvents: 3 });
    queue.enqueue(event("alert", 1, "alert"));
    queue.enqueue(event("b", 2));
    queue.enqueue(event("c", 3));
    queue.enqueue(event("d", 4));
    queue.enqueue(event("e", 5));
    expect(queue.size).toBe(3);
    expect(queue.pendingDrop).toEqual({ count: 2, oldest: 2, newest: 3 });
    const batch = queue.nextBatch(10);
    expect(batch?.events.map((e) => e.eventId)).toEqual(["alert", "d", "e"]);
    expect(batch?.drop).toEqual({ count: 2, oldest: 2, newest: 3 });
    expect(queue.pendingDrop).toBeNull();
  });

  test("a corrupt queue file is quarantined and reported; the queue starts empty", () => {
    const path = join(dir, "q.json");
    writeFileSync(path, "\u0000garbage");
    const reports: CorruptFileReport[] = [];
    const queue = new EventQueue({ path, onCorrupt: (report) => reports.push(report) });
    expect(queue.size).toBe(0);
    expect(reports).toHaveLength(1);
    expect(readdirSync(dir).some((name) => name.startsWith("q.json.corrupt-"))).toBe(true);
  });

  test("bounded by bytes as well as by count", () => {
    const queue = new EventQueue({ path: join(dir, "q.json"), maxBytes: 2000 });
    for (let i = 0; i < 50; i++) queue.enqueue({ ...event(`e${i}`, i), encoded: "x".repeat(100) });
    expect(queue.size).toBeLessThan(20);
    expect(queue.pendingDrop?.count).toBe(50 - queue.size);
    expect(queue.pendingDrop?.oldest).toBe(0);
  });
});

describe("EventQueue persistence", () => {
  test("alerts are on disk at once; ordinary events after the short delay or on persist()", () => {
    const path = join(dir, "q.json");
    const queue = new EventQueue({ path, persistDelayMs: 60_000 });
    queue.enqueue(event("block", 1));
    expect(new EventQueue({ path: join(dir, "q.json") }).size).toBe(0);
    queue.enqueue(event("tamper", 2, "alert"));
    expect(new EventQueue({ path }).size).toBe(2);
    queue.enqueue(event("block-2", 3));
    queue.persist();
    expect(new EventQueue({ path }).size).toBe(3);
  });
});
