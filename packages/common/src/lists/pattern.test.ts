import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validatePattern as compilerValidatePattern } from "../blocklist/pattern";
import { validateListPattern } from "./pattern";

describe("validateListPattern", () => {
  it.each([
    ["casino*.com", "casino*.com"],
    ["*casino*", "*casino*"],
    ["BET???.example.com", "bet???.example.com"],
    ["*.casino*.com", "*.casino*.com"],
    ["poker-*.net", "poker-*.net"],
    ["  slot*.io  ", "slot*.io"],
  ])("accepts %j as %j", (input, expected) => {
    expect(validateListPattern(input)).toEqual({ ok: true, pattern: expected });
  });

  it.each([
    ["", "empty pattern"],
    ["*", "pattern too broad: needs at least 4 literal letters or digits"],
    ["*bet*", "pattern too broad: needs at least 4 literal letters or digits"],
    ["*.com*", "pattern too broad: needs at least 4 literal letters or digits"],
    ["a?b.c", "pattern too broad: needs at least 4 literal letters or digits"],
    ["casino.com", "not a pattern (no '*' or '?')"],
    ["casino*..com", "empty label in pattern"],
    [".casino*.com", "empty label in pattern"],
    ["casino*.com.", "empty label in pattern"],
    ["casino*.com/path", "invalid character '/' in pattern"],
    ["kasinö*.de", "invalid character 'ö' in pattern"],
    ["casino+*.com", "invalid character '+' in pattern"],
    ["casino_*.com", "invalid character '_' in pattern"],
    [`casino*${"a".repeat(250)}`, "pattern longer than 253 characters"],
  ])("rejects %j: %s", (input, reason) => {
    expect(validateListPattern(input)).toEqual({ ok: false, reason });
  });

  it("accepts nothing the blocklist compiler would refuse", () => {
    const patternLike = fc.string({ unit: fc.constantFrom(..."abcz09.-*?_A ".split("")), maxLength: 30 });
    fc.assert(
      fc.property(patternLike, (input) => {
        const result = validateListPattern(input);
        if (result.ok) expect(() => compilerValidatePattern(result.pattern)).not.toThrow();
      }),
      { numRuns: 3000 },
    );
  });
});
