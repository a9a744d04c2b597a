import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type BlocklistRules, compileBlocklist, KNOWN_CATEGORIES, loadBlocklist } from "./format";
import { encodeWireName } from "./hash";
import {
  BlocklistMatcher,
  isBlockedCode,
  MatchReason,
  matchCategoryOf,
  matchReasonOf,
  REASON_SHIFT,
} from "./matcher";
import { newTestKeys, overlappingName, referenceMatch, rulesArbitrary } from "./testing";

const keys = newTestKeys();

function matcherFor(rules: BlocklistRules): BlocklistMatcher {
  const bytes = compileBlocklist({
    version: 1,
    createdAt: 0,
    prevHash: null,
    rules,
    privateKey: keys.privateKey,
  });
  return new BlocklistMatcher(loadBlocklist(bytes, keys.publicKey));
}

const CASINO = KNOWN_CATEGORIES.indexOf("casino");
const LOTTERY = KNOWN_CATEGORIES.indexOf("lottery");

const rules: BlocklistRules = {
  block: [
    { domain: "casino.example", category: "casino" },
    { domain: "tickets.lotto.example", category: "lottery" },
    { domain: "pages.dev-host.example", category: "casino" },
  ],
  wildcard: [{ domain: "*.spins.example", category: "lottery" }],
  allow: ["help.casino.example", "gamcare.org.uk"],
  pattern: [{ pattern: "*pokerstar*", category: "poker" }],
};
const matcher = matcherFor(rules);

describe("BlocklistMatcher", () => {
  it("encodes reason and category in one small integer", () => {
    const code = matcher.matchName("casino.example");
    expect(code).toBe((MatchReason.EXACT << REASON_SHIFT) | CASINO);
    expect(matchReasonOf(code)).toBe(MatchReason.EXACT);
    expect(matchCategoryOf(code)).toBe(CASINO);
    expect(isBlockedCode(code)).toBe(true);
    expect(matcher.categoryName(code)).toBe("casino");
  });

  it("blocks a listed name (EXACT) and its subdomains (PARENT), not its parent or siblings", () => {
    expect(matchReasonOf(matcher.matchName("tickets.lotto.example"))).toBe(MatchReason.EXACT);
    expect(matcher.matchName("a.b.tickets.lotto.example")).toBe(
      (MatchReason.PARENT << REASON_SHIFT) | LOTTERY,
    );
    expect(matcher.matchName("lotto.example")).toBe(MatchReason.NONE);
    expect(matcher.matchName("other.lotto.example")).toBe(MatchReason.NONE);
    expect(matcher.matchName("xcasino.example")).toBe(MatchReason.NONE);
  });

  it("applies wildcards to subdomains only", () => {
    expect(matchReasonOf(matcher.matchName("a.spins.example"))).toBe(MatchReason.WILDCARD);
    expect(matchReasonOf(matcher.matchName("x.y.spins.example"))).toBe(MatchReason.WILDCARD);
    expect(matcher.matchName("spins.example")).toBe(MatchReason.NONE);
  });

  it("lets the allowlist win over exact, parent and pattern matches", () => {
    expect(matchReasonOf(matcher.matchName("help.casino.example"))).toBe(MatchReason.ALLOWLISTED);
    expect(matchReasonOf(matcher.matchName("www.help.casino.example"))).toBe(MatchReason.ALLOWLISTED);
    expect(matchCategoryOf(matcher.matchName("help.casino.example"))).toBe(CASINO);
    expect(matchReasonOf(matcher.matchName("pokerstars.gamcare.org.uk"))).toBe(MatchReason.ALLOWLISTED);
    expect(matcher.matchName("gamcare.org.uk")).toBe(MatchReason.NONE);
  });

  it("falls back to patterns when no table matches", () => {
    expect(matchReasonOf(matcher.matchName("www.pokerstars.eu"))).toBe(MatchReason.PATTERN);
    expect(matchReasonOf(matcher.matchWire(encodeWireName("WWW.PokerStars.EU"), 0))).toBe(
      MatchReason.PATTERN,
    );
  });

  it("is case-insensitive and ignores one trailing dot", () => {
    expect(matcher.matchName("WWW.Casino.Example.")).toBe(matcher.matchName("www.casino.example"));
  });

  it("reports malformed input as INVALID and the empty name as NONE", () => {
    expect(matchReasonOf(matcher.matchWire(Uint8Array.of(3, 0x61, 0x62, 0x63, 0xc0, 0x0c), 0))).toBe(
      MatchReason.INVALID,
    );
    expect(matchReasonOf(matcher.matchName("casino..example"))).toBe(MatchReason.INVALID);
    expect(isBlockedCode(matcher.matchName("casino..example"))).toBe(false);
    expect(matcher.matchName("")).toBe(MatchReason.NONE);
    expect(matcher.matchWire(Uint8Array.of(0), 0)).toBe(MatchReason.NONE);
  });

  it("explains decisions", () => {
    expect(matcher.explain("www.casino.example")).toEqual({
      blocked: true,
      reason: "parent",
      category: "casino",
      matched: "casino.example",
    });
    expect(matcher.explain("Casino.Example")).toEqual({
      blocked: true,
      reason: "exact",
      category: "casino",
      matched: "casino.example",
    });
    expect(matcher.explain("a.spins.example")).toEqual({
      blocked: true,
      reason: "wildcard",
      category: "lottery",
      matched: "*.spins.example",
    });
    expect(matcher.explain("pokerstars.eu")).toEqual({
      blocked: true,
      reason: "pattern",
      category: "poker",
      matched: "*pokerstar*",
    });
    expect(matcher.explain("x.help.casino.example")).toEqual({
      blocked: false,
      reason: "allowlist",
      category: "casino",
      matched: "help.casino.example",
    });
    expect(matcher.explain("example.org")).toEqual({
      blocked: false,
      reason: "none",
      category: null,
      matched: null,
    });
  });

  it("prefers the most specific listed suffix", () => {
    const nested = matcherFor({
      block: [
        { domain: "example.com", category: "other" },
        { domain: "bet.example.com", category: "sports_betting" },
      ],
      wildcard: [{ domain: "*.example.com", category: "casino" }],
      allow: [],
      pattern: [],
    });
    expect(nested.explain("x.bet.example.com")).toMatchObject({
      reason: "parent",
      category: "sports_betting",
    });
    expect(nested.explain("x.example.com")).toMatchObject({ reason: "parent", category: "other" });
  });

  it("agrees with the reference model, and matchWire agrees with matchName (property)", () => {
    const casing = fc.array(fc.boolean(), { minLength: 40, maxLength: 40 });
    fc.assert(
      fc.property(
        rulesArbitrary,
        fc.array(overlappingName, { minLength: 1, maxLength: 20 }),
        casing,
        (r, names, upper) => {
          const m = matcherFor(r);
          const queries = [
            ...names,
            ...r.block.map((rule) => rule.domain),
            ...r.block.map((rule) => `zz.${rule.domain}`),
          ];
          for (const name of queries) {
            const expected = referenceMatch(r, name);
            const code = m.matchName(name);
            expect({ name, reason: matchReasonOf(code), category: matchCategoryOf(code) }).toEqual({
              name,
              reason: expected.reason,
              category: expected.reason === MatchReason.NONE ? 0 : expected.category,
            });
            const mixedCase = [...name]
              .map((char, i) => (upper[i % upper.length] ? char.toUpperCase() : char))
              .join("");
            expect(m.matchWire(encodeWireName(mixedCase), 0)).toBe(code);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("matches every listed domain and its subdomains with the right category (property)", () => {
    const rule = fc.record({ domain: overlappingName, category: fc.constantFrom(...KNOWN_CATEGORIES) });
    fc.assert(
      fc.property(fc.uniqueArray(rule, { selector: (r) => r.domain, maxLength: 15 }), (block) => {
        const m = matcherFor({ block, wildcard: [], allow: [], pattern: [] });
        const listed = new Set(block.map((r) => r.domain));
        for (const { domain, category } of block) {
          expect(m.explain(domain)).toMatchObject({ reason: "exact", category, matched: domain });
          // A subdomain is PARENT unless it is listed itself.
          if (!listed.has(`q.${domain}`)) {
            expect(m.explain(`q.${domain}`)).toMatchObject({ reason: "parent", category, matched: domain });
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});
