import { describe, expect, it } from "vitest";
import { BENIGN_WORDS, BRAND_STEMS, GAMBLING_TOKENS, HELP_CONTEXT_WORDS } from "./lexicon";
import { MAX_SEGMENT_INPUT, segmentLabel } from "./segment";
import { splitName } from "./suffix";

const words = (label: string) => segmentLabel(label).map((segment) => `${segment.text}/${segment.kind}`);

describe("segmentLabel", () => {
  it.each([
    ["betterhelp", ["betterhelp/benign"]],
    ["alphabet", ["alphabet/benign"]],
    ["slothbear", ["slothbear/benign"]],
    ["bestcasinobonus", ["best/benign", "casino/gambling", "bonus/gambling"]],
    ["188bet", ["188bet/brand"]],
    ["777bet", ["777/number", "bet/gambling"]],
    ["sloth-slot", ["sloth/benign", "slot/gambling"]],
    ["qzxcasino", ["qzx/unknown", "casino/gambling"]],
    ["hg6859", ["hg/abbreviation", "6859/number"]],
    ["hgabc", ["hg/unknown", "abc/benign"]],
  ])("%s -> %j", (label, expected) => {
    expect(words(label)).toEqual(expected);
  });

  it("keeps hyphen-separated parts apart and records the part", () => {
    expect(segmentLabel("togel-sloth_bear").map((segment) => [segment.text, segment.part])).toEqual([
      ["togel", 0],
      ["sloth", 1],
      ["bear", 2],
    ]);
  });

  it("cuts input at the DNS label limit and stays fast on long input", () => {
    const started = performance.now();
    const segments = segmentLabel("bet".repeat(100_000));
    expect(performance.now() - started).toBeLessThan(200);
    expect(segments.reduce((sum, segment) => sum + segment.text.length, 0)).toBe(MAX_SEGMENT_INPUT);
  });
});

describe("lexicon", () => {
  it("holds lower-case ASCII words only", () => {
    const all = [...BENIGN_WORDS, ...BRAND_STEMS, ...HELP_CONTEXT_WORDS, ...GAMBLING_TOKENS.keys()];
    for (const word of all) expect(word).toMatch(/^[a-z0-9]+$/);
  });
});

describe("splitName", () => {
  it.each([
    ["www.example.co.uk", "example", "co.uk", false],
    ["example.com", "example", "com", false],
    ["my-site.pages.dev", "my-site", "pages.dev", false],
    ["a.b.blogspot.com", "b", "blogspot.com", false],
    ["cabinet.gov", "cabinet", "gov", true],
    ["www.gamblingcommission.gov.uk", "gamblingcommission", "gov.uk", true],
  ])("%s -> registered %s under %s (institutional %s)", (name, registered, suffix, institutional) => {
    const parts = splitName(name);
    expect(parts.labels[parts.registeredIndex]).toBe(registered);
    expect(parts.suffix).toBe(suffix);
    expect(parts.institutional).toBe(institutional);
  });

  it("reports a bare suffix with registeredIndex -1", () => {
    expect(splitName("co.uk").registeredIndex).toBe(-1);
    expect(splitName("pages.dev").registeredIndex).toBe(-1);
  });
});
