import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BlocklistFormatError } from "./errors";
import { compilePattern, validatePattern } from "./pattern";
import { globToRegExp } from "./testing";

function invalidPatternCode(pattern: string): string | undefined {
  try {
    validatePattern(pattern);
    return undefined;
  } catch (error) {
    return error instanceof BlocklistFormatError ? error.code : "not a BlocklistFormatError";
  }
}

describe("compilePattern", () => {
  it("matches globs over the whole name", () => {
    const casino = compilePattern("*casino*");
    expect(casino.matchesString("casino.com")).toBe(true);
    expect(casino.matchesString("www.bestcasino.net")).toBe(true);
    expect(casino.matchesString("casin.com")).toBe(false);
    const question = compilePattern("bet??.com");
    expect(question.matchesString("bet24.com")).toBe(true);
    expect(question.matchesString("bet2.com")).toBe(false);
    expect(question.matchesString("bet245.com")).toBe(false);
    const anchored = compilePattern("slot*.io");
    expect(anchored.matchesString("slots.io")).toBe(true);
    expect(anchored.matchesString("slot.io")).toBe(true);
    expect(anchored.matchesString("www.slots.io")).toBe(false);
    expect(anchored.matchesString("slots.io.evil")).toBe(false);
  });

  it("star matches dots; matching is case-insensitive; non-ASCII only matches wildcards", () => {
    expect(compilePattern("*.poker").matchesString("a.b.c.poker")).toBe(true);
    expect(compilePattern("*poker*").matchesString("WWW.POKER.COM")).toBe(true);
    expect(compilePattern("?oker.com").matchesString("éoker.com")).toBe(true);
    expect(compilePattern("poker.com").matchesString("pokér.com")).toBe(false);
    const bytes = new TextEncoder().encode("BIG-POKER.com");
    expect(compilePattern("big-poker.com").matchesBytes(bytes, bytes.length)).toBe(true);
    expect(compilePattern("big-poker.com").matchesBytes(bytes, bytes.length - 1)).toBe(false);
  });

  it("collapses runs of stars and handles long patterns spanning several state words", () => {
    expect(compilePattern("**casino**").matchesString("casino")).toBe(true);
    const long = `${"ab".repeat(60)}*${"cd".repeat(60)}`;
    const pattern = compilePattern(long);
    expect(pattern.matchesString(`${"ab".repeat(60)}xx.yy${"cd".repeat(60)}`)).toBe(true);
    expect(pattern.matchesString(`${"ab".repeat(60)}${"cd".repeat(59)}`)).toBe(false);
  });

  it("agrees with a regular-expression oracle on random names", () => {
    const patternText = fc.stringMatching(/^[ab.*?]{0,10}$/).map((tail) => `bet1${tail}`);
    const name = fc.stringMatching(/^[ab.1te]{0,16}$/);
    fc.assert(
      fc.property(patternText, name, (pattern, candidate) => {
        expect(compilePattern(pattern).matchesString(candidate)).toBe(globToRegExp(pattern).test(candidate));
      }),
      { numRuns: 2000 },
    );
  });

  it("survives a hostile pattern without backtracking", () => {
    const hostile = compilePattern("*a*a*a*a*a*a*a*a*b");
    expect(hostile.matchesString("a".repeat(250))).toBe(false);
    expect(hostile.matchesString(`${"a".repeat(249)}b`)).toBe(true);
  });

  it("validates charset, length and literal count with clear errors", () => {
    expect(invalidPatternCode("*casino*")).toBeUndefined();
    expect(invalidPatternCode("")).toBe("BLOCKLIST_INVALID_PATTERN");
    expect(invalidPatternCode("*.*")).toBe("BLOCKLIST_INVALID_PATTERN");
    expect(invalidPatternCode("*bet*")).toBe("BLOCKLIST_INVALID_PATTERN");
    expect(invalidPatternCode("*Casino*")).toBe("BLOCKLIST_INVALID_PATTERN");
    expect(invalidPatternCode("casino[0-9]")).toBe("BLOCKLIST_INVALID_PATTERN");
    expect(invalidPatternCode(`${"a".repeat(254)}`)).toBe("BLOCKLIST_INVALID_PATTERN");
    expect(invalidPatternCode(`${"a".repeat(253)}`)).toBeUndefined();
    expect(() => compilePattern("*.*")).toThrow(/at least 4 are required/);
    expect(() => compilePattern("ca_sino")).toThrow(/"_" at 2/);
  });
});
