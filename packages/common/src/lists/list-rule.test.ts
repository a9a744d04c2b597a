import { describe, expect, it } from "vitest";
import { classifyRuleValue, rejectLine } from "./list-rule";

describe("classifyRuleValue", () => {
  it.each([
    ["Example.COM.", { type: "domain", value: "example.com" }],
    ["bücher.de", { type: "domain", value: "xn--bcher-kva.de" }],
    ["*.Example.com", { type: "wildcard", value: "*.example.com" }],
    ["*.bücher.de", { type: "wildcard", value: "*.xn--bcher-kva.de" }],
    ["casino*.com", { type: "pattern", value: "casino*.com" }],
    ["*.casino*.com", { type: "pattern", value: "*.casino*.com" }],
    ["bet??.example.com", { type: "pattern", value: "bet??.example.com" }],
  ])("%j -> %j", (value, rule) => {
    expect(classifyRuleValue(value)).toEqual({ ok: true, rule });
  });

  it.each([
    ["*.com", "wildcard over a top-level domain would block all of it"],
    ["*.", "wildcard: empty name"],
    ["*.localhost", "wildcard: reserved name"],
    ["*.a_b.c_d", "wildcard: invalid character '_' in top-level label"],
    ["*bet*", "pattern too broad: needs at least 4 literal letters or digits"],
    ["com", "single-label name (no dot)"],
    ["10.0.0.1", "IP address, not a domain"],
  ])("rejects %j: %s", (value, reason) => {
    expect(classifyRuleValue(value)).toEqual({ ok: false, reason });
  });

  it("cuts long rejected text", () => {
    expect(rejectLine(1, "x", "a".repeat(500)).text).toBe(`${"a".repeat(200)}…`);
  });
});
