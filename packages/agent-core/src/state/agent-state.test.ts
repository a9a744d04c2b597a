import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { AgentStateStore, type CorruptFileReport, STATE_SCHEMA_VERSION, statePaths } from "./agent-state";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bb-state-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("AgentStateStore", () => {
  test("upgrades a schema 1 file step by step and writes it back at the current version", () => {
    writeFileSync(
      statePaths(dir).state,
      JSON.stringify({ schema_version: 1, device_id: "d-1", list_version: 7 }),
    );
    const store = AgentStateStore.open(dir);
    expect(store.state).toMatchObject({
      schema_version: STATE_SCHEMA_VERSION,
      device_id: "d-1",
      blocklist_version: 7,
    });
    const onDisk = JSON.parse(readFileSync(statePaths(dir).state, "utf8"));
    expect(onDisk.schema_version).toBe(STATE_SCHEMA_VERSION);
    expect(onDisk).not.toHaveProperty("list_version");
  });

  test("persists updates atomically (no temp file left behind)", () => {
    AgentStateStore.open(dir).update({ blocklist_version: 3 });
    expect(AgentStateStore.open(dir).state.blocklist_version).toBe(3);
    expect(readdirSync(dir).filter((name) => name.includes(".tmp-"))).toEqual([]);
  });

  test.each([["{ truncated"], ["[1,2]"], [JSON.stringify({ schema_version: 99 })]])(
    "an unreadable or future state file (%s) is quarantined and reported, not thrown",
    (content) => {
      writeFileSync(statePaths(dir).state, content);
      const reports: CorruptFileReport[] = [];
      const store = AgentStateStore.open(dir, (report) => reports.push(report));
      expect(store.state.blocklist_version).toBe(0);
      expect(reports).toHaveLength(1);
      expect(readdirSync(dir).some((name) => name.startsWith("state.json.corrupt-"))).toBe(true);
    },
  );
});
