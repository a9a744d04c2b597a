import { createHash } from "node:crypto";
import { describe, expect, test } from "vitest";
import {
  ENROLLMENT_CODE_ALPHABET,
  formatEnrollmentCode,
  generateEnrollmentCode,
  hashEnrollmentCode,
  normalizeEnrollmentCode,
} from "./enrollment-code";

describe("enrollment codes", () => {
  test("the alphabet has 32 distinct symbols and none of the look-alikes 0, O, 1, I", () => {
    expect(new Set(ENROLLMENT_CODE_ALPHABET).size).toBe(32);
    expect(ENROLLMENT_CODE_ALPHABET).not.toMatch(/[01OI]/);
  });

  test("codes are 10 symbols of the alphabet, and every symbol occurs (uniform choice)", () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const code = generateEnrollmentCode();
      expect(code).toMatch(/^[2-9A-HJ-NP-Z]{10}$/);
      for (const symbol of code) counts.set(symbol, (counts.get(symbol) ?? 0) + 1);
    }
    expect(counts.size).toBe(32);
    // 20000 symbols: each expected 625 times; a biased generator would be far off.
    for (const count of counts.values()) expect(count).toBeGreaterThan(450);
  });

  test("input in any case, with spaces or hyphens, normalizes; anything else is not a code", () => {
    const code = generateEnrollmentCode();
    expect(normalizeEnrollmentCode(code)).toBe(code);
    expect(normalizeEnrollmentCode(` ${formatEnrollmentCode(code).toLowerCase()} `)).toBe(code);
    expect(normalizeEnrollmentCode("ABCDE FGHJK")).toBe("ABCDEFGHJK");
    for (const bad of [
      "",
      "ABCDEFGHJ",
      "ABCDEFGHJKL",
      "ABCDEFGHJ0",
      "ABCDEFGHJI",
      "ABCDE_FGHJK",
      "x".repeat(100),
    ]) {
      expect(normalizeEnrollmentCode(bad)).toBeNull();
    }
  });

  test("the stored form is the SHA-256 of the normalized code", () => {
    expect(hashEnrollmentCode("ABCDEFGHJK").equals(createHash("sha256").update("ABCDEFGHJK").digest())).toBe(
      true,
    );
  });
});
