import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizeDomain } from "../domain/normalize";
import { createListParser, parseList } from "./list-parser";
import { LIST_FORMAT_VALUES, type ListRule } from "./list-rule";
import { validateListPattern } from "./pattern";

/** The value contract of list-rule.ts, checked independently of the parsers. */
function isWellFormedRule(rule: ListRule): boolean {
  const category = rule.category === undefined || /^[a-z0-9_]{1,32}$/.test(rule.category);
  if (rule.type === "domain") {
    const domain = normalizeDomain(rule.value);
    return category && domain.ok && domain.domain === rule.value;
  }
  if (rule.type === "wildcard") {
    const base = normalizeDomain(rule.value.slice(2));
    return category && rule.value.startsWith("*.") && base.ok && base.domain === rule.value.slice(2);
  }
  const pattern = validateListPattern(rule.value);
  return category && pattern.ok && pattern.pattern === rule.value;
}

describe("list parsers, any input", () => {
  const listLine = fc.oneof(
    fc.string({ maxLength: 120 }),
    fc.string({ unit: fc.constantFrom(...'abc019.-_*?#!|^$@/\\," \t:[]ü'.split("")), maxLength: 60 }),
    fc.domain().map((domain) => `0.0.0.0 ${domain}`),
    fc.domain().map((domain) => `||${domain}^`),
    fc.domain(),
  );

  it.each(LIST_FORMAT_VALUES)(
    "%s: never throws, numbers every outcome, yields only well-formed rules",
    (format) => {
      fc.assert(
        fc.property(fc.array(listLine, { maxLength: 20 }), (lines) => {
          const parser = createListParser(format);
          if (format === "csv") parser.line("domain,category", 1);
          lines.forEach((line, index) => {
            const outcomes = parser.line(line, index + 2);
            expect(outcomes.length).toBeGreaterThan(0);
            for (const outcome of outcomes) {
              expect(outcome.line).toBe(index + 2);
              if (outcome.kind === "entry")
                expect(isWellFormedRule(outcome.rule), JSON.stringify(outcome)).toBe(true);
              if (outcome.kind === "reject") expect(outcome.reason.length).toBeGreaterThan(0);
              if (outcome.kind === "skip") expect(outcomes).toHaveLength(1);
            }
          });
        }),
        { numRuns: 300 },
      );
    },
  );

  it("parseList handles a file without a final newline and with lone CRs", () => {
    expect(
      parseList("domains", "a.com\rb.com").entries.map((entry) => [entry.line, entry.rule.value]),
    ).toEqual([
      [1, "a.com"],
      [2, "b.com"],
    ]);
    expect(parseList("domains", "").skipped).toBe(0);
  });
});
