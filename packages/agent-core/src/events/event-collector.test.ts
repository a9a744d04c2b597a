import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
