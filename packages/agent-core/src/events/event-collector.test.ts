import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BypassMethod, decodeMessage, EventSchema, EventType, eventMetadataOf } from "@betblocker/proto";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { BlockEvent } from "../dns/query";
import { EventCollector } from "./event-collector";
import { EventQueue } from "./event-queue";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bb-collector-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const block: BlockEvent = {
  name: "secret-casino.example",
  qtype: 28,
  reason: "parent",
  category: "casino",
  via: null,
  transport: "udp",
  at: 1_700_000_000_000,
};

describe("EventCollector privacy filter", () => {
  test("aggregated (the default): the domain is stripped before the event reaches the on-disk queue", () => {
    const path = join(dir, "q.json");
    const collector = new EventCollector({ queue: new EventQueue({ path }) });
    collector.recordBlock(block);
    collector.persist();
    expect(collector.queued).toBe(1);
    const onDisk = readFileSync(path, "utf8");
    const decoded = JSON.parse(onDisk).events.map((event: { encoded: string }) =>
      Buffer.from(event.encoded, "base64").toString("latin1"),
    );
    expect(onDisk).not.toContain("secret-casino");
    expect(decoded.join("")).not.toContain("secret-casino");
    expect(decoded.join("")).toContain("casino");
  });

  test("detailed: the domain is kept", () => {
    const path = join(dir, "q.json");
    const collector = new EventCollector({ queue: new EventQueue({ path }), aggregation: "detailed" });
    collector.recordBlock(block);
    collector.persist();
    const encoded = JSON.parse(readFileSync(path, "utf8")).events[0].encoded as string;
    expect(Buffer.from(encoded, "base64").toString("latin1")).toContain("secret-casino.example");
  });
});

describe("EventCollector.recordBypass", () => {
  test("queues a bypass_attempt event as an alert (saved to disk at once) with method and details", () => {
    const path = join(dir, "q.json");
    const collector = new EventCollector({ queue: new EventQueue({ path }), now: () => 1_700_000_000_500 });
    collector.recordBypass(BypassMethod.VPN_DETECTED, "tunnel interface wg0 is up");
    // Alerts are written through without an explicit persist().
    const queued = JSON.parse(readFileSync(path, "utf8")).events as { encoded: string; priority: string }[];
    expect(queued).toHaveLength(1);
    expect(queued[0]?.priority).toBe("alert");
    const event = decodeMessage(EventSchema, new Uint8Array(Buffer.from(queued[0]?.encoded ?? "", "base64")));
    expect(event.eventType).toBe(EventType.BYPASS_ATTEMPT);
    expect(event.payload.case).toBe("bypassAttempt");
    expect(event.payload.value).toMatchObject({
      method: BypassMethod.VPN_DETECTED,
      details: "tunnel interface wg0 is up",
    });
    expect(eventMetadataOf(event)).toMatchObject({ method: "vpn_detected" });
    expect(collector.tamperSinceHeartbeat()).toHaveLength(0);
  });
});
