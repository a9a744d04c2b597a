/** Report date ranges and opaque cursors: defaults, limits, and that crafted cursors are refused, not passed on. */
import { isAppError } from "@betblocker/common/errors/app-error";
import { describe, expect, test } from "vitest";
import { z } from "zod";
import { cursorSchema, encodeCursor, microsecondInstantSchema } from "./cursor";
import { daysInRange, eachDay, MAX_RANGE_DAYS, resolveDateRange } from "./date-range";

describe("resolveDateRange", () => {
  test("defaults: the last seven days through today (UTC)", () => {
    expect(resolveDateRange({}, "2026-03-10")).toEqual({
      from: "2026-03-04",
      to: "2026-03-10",
      start: new Date("2026-03-04T00:00:00Z"),
      end: new Date("2026-03-11T00:00:00Z"),
    });
  });

  test("only from: through today, but never more than the maximum; only to: the week before", () => {
    expect(resolveDateRange({ from: "2026-03-01" }, "2026-03-10")).toMatchObject({
      from: "2026-03-01",
      to: "2026-03-10",
    });
    expect(resolveDateRange({ from: "2020-01-01" }, "2026-03-10")).toMatchObject({
      from: "2020-01-01",
      to: "2020-12-31",
    });
    expect(resolveDateRange({ from: "2026-04-01" }, "2026-03-10")).toMatchObject({
      from: "2026-04-01",
      to: "2026-04-01",
    });
    expect(resolveDateRange({ to: "2026-02-02" }, "2026-03-10")).toMatchObject({
      from: "2026-01-27",
      to: "2026-02-02",
    });
  });

  test(`at most ${MAX_RANGE_DAYS} days, from not after to (VALIDATION_FAILED naming "to")`, () => {
    expect(daysInRange("2024-01-01", "2024-12-31")).toBe(366);
    expect(resolveDateRange({ from: "2024-01-01", to: "2024-12-31" }, "2026-01-01").to).toBe("2024-12-31");
    for (const range of [
      { from: "2024-01-01", to: "2025-01-01" },
      { from: "2026-03-02", to: "2026-03-01" },
    ]) {
      try {
        resolveDateRange(range, "2026-03-10");
        expect.unreachable();
      } catch (error) {
        expect(isAppError(error, "VALIDATION_FAILED")).toBe(true);
        expect((error as { details: { fieldErrors: { path: string }[] } }).details.fieldErrors[0]?.path).toBe(
          "to",
        );
      }
    }
  });

  test("eachDay crosses months and leap days", () => {
    expect(eachDay("2028-02-27", "2028-03-01")).toEqual([
      "2028-02-27",
      "2028-02-28",
      "2028-02-29",
      "2028-03-01",
    ]);
  });
});

describe("cursors", () => {
  const schema = cursorSchema(z.tuple([microsecondInstantSchema, z.int().positive()]));

  test("round trip", () => {
    const cursor = encodeCursor(["2026-03-01T10:00:00.123456Z", 42]);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(schema.parse(cursor)).toEqual(["2026-03-01T10:00:00.123456Z", 42]);
  });

  test.each([
    ["not base64url", "a+b/c="],
    ["not JSON", Buffer.from("{nope").toString("base64url")],
    ["wrong shape", encodeCursor({ a: 1 })],
    ["impossible instant", encodeCursor(["2026-02-30T10:00:00.000000Z", 1])],
    ["SQL in the instant", encodeCursor(["2026-03-01'; drop table events; --", 1])],
    ["negative id", encodeCursor(["2026-03-01T10:00:00.000000Z", -1])],
    ["fractional id", encodeCursor(["2026-03-01T10:00:00.000000Z", 1.5])],
    ["too long", "a".repeat(2000)],
  ])("refuses a cursor that is %s", (_label, cursor) => {
    const result = schema.safeParse(cursor);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/not a valid cursor/);
  });
});
