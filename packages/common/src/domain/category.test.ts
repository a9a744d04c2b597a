import { describe, expect, it } from "vitest";
import { categorySchema, normalizeCategory } from "./category";

describe("normalizeCategory", () => {
  it.each([
    ["casino", "casino"],
    ["  Casino ", "casino"],
    ["Sports Betting", "sports_betting"],
    ["sports-betting", "sports_betting"],
    ["sports - betting", "sports_betting"],
    ["lottery_2", "lottery_2"],
    ["c".repeat(32), "c".repeat(32)],
  ])("%j -> %j", (input, expected) => {
    expect(normalizeCategory(input)).toEqual({ ok: true, category: expected });
  });

  it("treats an empty category as none", () => {
    expect(normalizeCategory("   ")).toEqual({ ok: true, category: undefined });
  });

  it.each([
    ["casino/poker", "invalid character '/' in category (allowed: a-z, 0-9, _)"],
    ["jeux d'argent", "invalid character ''' in category (allowed: a-z, 0-9, _)"],
    ["glücksspiel", "invalid character 'ü' in category (allowed: a-z, 0-9, _)"],
    ["c".repeat(33), "category longer than 32 characters"],
  ])("rejects %j", (input, reason) => {
    expect(normalizeCategory(input)).toEqual({ ok: false, reason });
  });

  it("categorySchema accepts only normalized categories", () => {
    expect(categorySchema.safeParse("sports_betting").success).toBe(true);
    expect(categorySchema.safeParse("Sports Betting").success).toBe(false);
    expect(categorySchema.safeParse("").success).toBe(false);
  });
});
