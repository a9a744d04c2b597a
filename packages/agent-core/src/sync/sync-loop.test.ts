import { describe, expect, test } from "vitest";
import { jitteredDelayMs } from "./sync-loop";

describe("jitteredDelayMs", () => {
  test("spreads the interval by +/- jitter and never goes below one second", () => {
    expect(jitteredDelayMs(3600, 0.1, () => 0)).toBeCloseTo(3_240_000);
    expect(jitteredDelayMs(3600, 0.1, () => 0.5)).toBe(3_600_000);
    expect(jitteredDelayMs(3600, 0.1, () => 1)).toBeCloseTo(3_960_000);
    expect(jitteredDelayMs(0, 0.5, () => 0)).toBe(1000);
  });
});
