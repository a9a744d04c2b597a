import type { Sql } from "@betblocker/db/client";
import { describe, expect, test } from "vitest";
import { HeartbeatRecorder } from "./heartbeat.service";

/** A stand-in pool that records each statement's parameters (one call = one statement). */
function fakeSql() {
  const state = { failing: false, statements: [] as unknown[][] };
  const sql = ((_strings: TemplateStringsArray, ...values: unknown[]) => {
    if (state.failing) return Promise.reject(new Error("database down"));
    state.statements.push(values);
    return Promise.resolve([{ n: (values[0] as unknown[]).length }]);
  }) as unknown as Sql;
  return { sql, state, statements: state.statements };
}

const at = (seconds: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, seconds));

describe("HeartbeatRecorder", () => {
  test("coalesces per device (newest time wins, an empty version keeps the known one) and flushes in ONE statement", async () => {
    const { sql, statements } = fakeSql();
    const recorder = new HeartbeatRecorder({ sql, flushIntervalMs: 1000 });
    recorder.record({ deviceId: 1, seenAt: at(1), agentVersion: "1.0.0", osVersion: "Debian 12" });
    recorder.record({ deviceId: 2, seenAt: at(2), agentVersion: "2.0.0", osVersion: "" });
    recorder.record({ deviceId: 1, seenAt: at(5), agentVersion: "", osVersion: "" });
    recorder.record({ deviceId: 1, seenAt: at(3), agentVersion: "0.9.0", osVersion: "" });
    expect(recorder.pendingCount).toBe(2);
    expect(await recorder.flush()).toBe(2);
    expect(statements).toHaveLength(1);
    expect(statements[0]).toEqual([
      [1, 2],
      [at(5).toISOString(), at(2).toISOString()],
      ["1.0.0", "2.0.0"],
      ["Debian 12", ""],
    ]);
    expect(recorder.pendingCount).toBe(0);
    expect(await recorder.flush()).toBe(0);
    expect(statements).toHaveLength(1);
  });

  test("a failed flush keeps its heartbeats for the next one, unless a newer one arrived", async () => {
    const database = fakeSql();
    database.state.failing = true;
    const errors: unknown[] = [];
    const recorder = new HeartbeatRecorder({
      sql: database.sql,
      flushIntervalMs: 1000,
      onFlushError: (error) => errors.push(error),
    });
    recorder.record({ deviceId: 7, seenAt: at(1), agentVersion: "1.0.0", osVersion: "" });
    const flushing = recorder.flush();
    recorder.record({ deviceId: 7, seenAt: at(9), agentVersion: "", osVersion: "" });
    expect(await flushing).toBe(0);
    expect(errors).toHaveLength(1);
    expect(recorder.pendingCount).toBe(1);
    // The retained entry merged with the newer one: newest time, the version it knew.
    database.state.failing = false;
    await recorder.flush();
    expect(database.statements).toEqual([[[7], [at(9).toISOString()], ["1.0.0"], [""]]]);
  });
});
