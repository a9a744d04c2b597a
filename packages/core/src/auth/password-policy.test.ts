import { describe, expect, test } from "vitest";
import { passwordProblems, passwordSchema } from "./password-policy";

describe("password policy", () => {
  test.each([
    "correct Horse battery 42",
    "two words only", // lower-case + space: two classes
    "Ünïcödé-Pässwörd",
    "短い漢字のパスワードです1", // caseless letters count as "other", the digit as a second class
  ])("accepts %j", (password) => {
    expect(passwordProblems(password)).toEqual([]);
  });

  test.each([
    ["short1A!", "must be at least 12 characters long"],
    ["a".repeat(129), "must be at most 128 characters long"],
    ["aaaaaaaaaaaaaaaa", "must not be one character repeated"],
    [
      "abcdefghijklmnop",
      "must mix at least two of: lower-case letters, upper-case letters, digits, other characters",
    ],
    [
      "123456789012345",
      "must mix at least two of: lower-case letters, upper-case letters, digits, other characters",
    ],
    ["Password1234", "is too common"],
  ])("rejects %j", (password, message) => {
    expect(passwordProblems(password)).toContain(message);
  });

  test("counts characters, not UTF-16 units or bytes: 12 emoji are 12 characters", () => {
    expect(passwordProblems("🎲".repeat(11) + "🃏")).toEqual([
      "must mix at least two of: lower-case letters, upper-case letters, digits, other characters",
    ]);
    expect(passwordProblems("🎲".repeat(10) + "a")[0]).toBe("must be at least 12 characters long");
  });

  test("rejects a password containing the e-mail local part (4+ characters), case-insensitively", () => {
    expect(passwordProblems("Alice-Rocks-2024", { email: "alice@example.org" })).toEqual([
      "must not contain your e-mail address",
    ]);
    expect(passwordProblems("Bob is 12 chars!", { email: "bob@example.org" })).toEqual([]);
  });

  test("the schema rejects megabyte input cheaply, with a length message", () => {
    const result = passwordSchema.safeParse("x".repeat(1_000_000));
    expect(result.success).toBe(false);
  });
});
