import { describe, expect, it } from "vitest";
import { z } from "zod";
import { describeFieldErrors, formatFieldPath, formatZodError } from "./field-errors";

describe("formatFieldPath", () => {
  it("writes paths like JavaScript accessors", () => {
    expect(formatFieldPath([])).toBe("");
    expect(formatFieldPath(["dns", "redirect_url"])).toBe("dns.redirect_url");
    expect(formatFieldPath(["notify_accounts", 1])).toBe("notify_accounts[1]");
    expect(formatFieldPath([0, "domain"])).toBe("[0].domain");
    expect(formatFieldPath(["blocks_by_category", "odd key"])).toBe('blocks_by_category["odd key"]');
  });
});

describe("formatZodError", () => {
  const schema = z.strictObject({
    name: z.string(),
    mode: z.enum(["a", "b"]),
    nested: z.strictObject({ count: z.int({ error: "must be a whole number" }) }),
  });

  it("reports each unknown key on its own path", () => {
    const result = schema.safeParse({ name: "x", mode: "a", nested: { count: 1, extra: 1, other: 2 } });
    expect(result.success).toBe(false);
    if (!result.success) {
      expect(formatZodError(result.error)).toEqual([
        { path: "nested.extra", message: "unknown field" },
        { path: "nested.other", message: "unknown field" },
      ]);
    }
  });

  it("says 'required field is missing' for absent fields when given the input, whatever the schema's message", () => {
    const input = { nested: {} };
    const result = schema.safeParse(input);
    expect(result.success).toBe(false);
    if (!result.success) {
      expect(formatZodError(result.error, { input })).toEqual([
        { path: "name", message: "required field is missing" },
        { path: "mode", message: "required field is missing" },
        { path: "nested.count", message: "required field is missing" },
      ]);
      // Without the input only zod's own "received undefined" wording can be recognized.
      expect(formatZodError(result.error)).toEqual([
        { path: "name", message: "required field is missing" },
        { path: "mode", message: 'Invalid option: expected one of "a"|"b"' },
        { path: "nested.count", message: "must be a whole number" },
      ]);
    }
  });

  it("keeps the schema's message for a present but wrong value", () => {
    const input = { name: "x", mode: "c", nested: { count: 1.5 } };
    const result = schema.safeParse(input);
    expect(result.success).toBe(false);
    if (!result.success) {
      expect(describeFieldErrors(formatZodError(result.error, { input }))).toBe(
        'mode: Invalid option: expected one of "a"|"b"\nnested.count: must be a whole number',
      );
    }
  });
});
