import { expect, test } from "vitest";
import { emailSchema, normalizeEmail } from "./email";

test("addresses are trimmed and lower-cased", () => {
  expect(normalizeEmail("  Alice@Example.ORG ")).toBe("alice@example.org");
  expect(emailSchema.parse("  Alice+Tag@Example.ORG ")).toBe("alice+tag@example.org");
});

test.each([
  "no-at-sign",
  "a@b",
  "x' OR 1=1 --@example.org",
  "<script>@example.org",
  "a b@example.org",
  `${"a".repeat(250)}@example.org`,
  "",
])("rejects %j", (value) => {
  expect(emailSchema.safeParse(value).success).toBe(false);
});
