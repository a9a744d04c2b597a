/**
 * The name-based gambling classifier. Gambling names here are synthetic (made up for the test, not
 * rows of the shared data files); the tricky negatives are well-known real sites.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyDomain, DISCOVERY_DEFAULTS } from "./classify";

const { reviewThreshold, autoAddThreshold } = DISCOVERY_DEFAULTS;

const helpResourcesPath = fileURLToPath(
  new URL("../../../../../shared/data/help-resources.txt", import.meta.url),
);

describe("DISCOVERY_DEFAULTS", () => {
  it("are integers in 1..100 with auto-add above review", () => {
    expect(Number.isInteger(reviewThreshold)).toBe(true);
    expect(Number.isInteger(autoAddThreshold)).toBe(true);
    expect(reviewThreshold).toBeGreaterThanOrEqual(1);
    expect(autoAddThreshold).toBeLessThanOrEqual(100);
    expect(autoAddThreshold).toBeGreaterThan(reviewThreshold);
    expect(Object.isFrozen(DISCOVERY_DEFAULTS)).toBe(true);
  });
});

describe("classifyDomain: gambling names", () => {
  it.each([
    ["best-casino-bonus.com", "token:casino"],
    ["sportsbetting-tips.net", "token:sportsbetting"],
    ["judi-slot-gacor.xyz", "token:judi"],
    ["togel-hari-ini.com", "token:togel"],
    ["apuestas-deportivas.es", "token:apuestas"],
    ["scommesse-calcio.it", "token:scommesse"],
    ["sportwetten-vergleich.de", "token:sportwetten"],
    ["spielothek-online.de", "token:spielothek"],
    ["parissportifs.fr", "token:parissportifs"],
    ["aposta-esportiva.com.br", "token:aposta"],
    ["stavki-na-sport.ru", "token:stavki"],
    ["nhacai-uytin.com", "token:nhacai"],
    ["caipiao-online.com", "token:caipiao"],
    ["taixiu-game.com", "token:taixiu"],
    ["maxwin-gacor.com", "token:maxwin"],
    ["ufabet-vip.com", "token:ufabet"],
    ["royal-baccarat.asia", "token:baccarat"],
    ["luckyslots777.com", "token:slots"],
    ["mybet.casino", "tld:casino"],
    ["lucky.bet", "tld:bet"],
    ["bingo-hall.bingo", "tld:bingo"],
    ["bet365-bonus-codes.com", "brand:bet365"],
    ["1xbet-mirror-site.com", "brand:1xbet"],
    ["mostbet-login.net", "brand:mostbet"],
    ["dafabet-help.net", "brand:dafabet"], // an operator's own help page is still the operator
  ])("%s scores >= autoAddThreshold with %s", (name, signal) => {
    const result = classifyDomain(name);
    expect(result.score).toBeGreaterThanOrEqual(autoAddThreshold);
    expect(result.signals).toContain(signal);
  });

  it.each([
    ["66668888.com", "numeric-name"],
    ["00088888.com", "numeric-name"],
    ["hg6688.com", "pinyin-abbreviation:hg"],
    ["xpj8888.com", "pinyin-abbreviation:xpj"],
  ])("digit-heavy Chinese-style %s scores >= reviewThreshold with %s", (name, signal) => {
    const result = classifyDomain(name);
    expect(result.score).toBeGreaterThanOrEqual(reviewThreshold);
    expect(result.signals).toContain(signal);
  });

  it("reads internationalized names: Chinese words by substring, Vietnamese with diacritics folded", () => {
    expect(classifyDomain("赌场.com").score).toBeGreaterThanOrEqual(autoAddThreshold);
    expect(classifyDomain("赌场.com").signals).toContain("unicode:赌场(casino)");
    expect(classifyDomain("xn--3e0bx5euxnjje69i70af08bea817g.com").score).toBeGreaterThanOrEqual(0); // valid punycode, no crash
    expect(classifyDomain("nhàcái.com").signals).toContain("token:nhacai");
  });

  it("counts gambling words in subdomains, not in the public suffix", () => {
    expect(classifyDomain("casino.example-hosting.com").signals).toContain("subdomain-token:casino");
    expect(classifyDomain("mysite.pages.dev").signals.some((signal) => signal.includes("casino"))).toBe(
      false,
    );
    expect(classifyDomain("best-casino.pages.dev").score).toBeGreaterThanOrEqual(autoAddThreshold);
  });
});

describe("classifyDomain: non-gambling names", () => {
  it.each([
    "betterhelp.com",
    "bethesda.net",
    "bettycrocker.com",
    "betterment.com",
    "alphabet.com",
    "cabinet.gov",
    "slothbear.org",
    "diabetes.org",
    "tibet.net",
    "display.com",
    "judiciary.uk",
    "wetter.de",
    "spinach-recipes.com",
    "stakeholder-news.com",
    "mistake.com",
    "paris-hotel.fr",
    "windows.com",
    "playstation.com",
    "google.com",
    "163.com",
    "4399.com",
    "1password.com",
    "9gag.com",
  ])("%s scores below reviewThreshold", (name) => {
    expect(classifyDomain(name).score).toBeLessThan(reviewThreshold);
  });

  it.each([
    ["letour.fr", "letou"],
    ["hashthemes.com", "hth"],
    ["mhthemes.com", "hth"],
    ["webwinkelkeur.nl", "bwin"],
  ])("%s: the short brand stem %s inside an unknown word is not a brand (word boundaries)", (name, stem) => {
    const result = classifyDomain(name);
    expect(result.score).toBeLessThan(reviewThreshold);
    expect(result.signals).not.toContain(`brand:${stem}`);
    expect(result.signals.some((signal) => signal.startsWith("family:"))).toBe(false);
  });

  it("keeps brand stems that stand as words or carry digits, even next to unknown letters", () => {
    expect(classifyDomain("letou-vn.com").signals).toContain("brand:letou");
    expect(classifyDomain("hth-sports.com").signals).toContain("brand:hth");
    expect(classifyDomain("w88qzx.com").signals).toContain("brand:w88");
    expect(classifyDomain("pokerstarsqzx.com").signals).toContain("brand:pokerstars");
  });

  it("explains why a name containing a gambling word did not fire", () => {
    expect(classifyDomain("betterhelp.com").signals).toContain("benign-word:betterhelp");
    expect(classifyDomain("bethesda.net").signals).toContain("benign-word:bethesda");
  });

  it("neutralizes gambling words next to help words (brands are not neutralized)", () => {
    const help = classifyDomain("casino-addiction-help.org");
    expect(help.score).toBeLessThan(reviewThreshold);
    expect(help.signals).toContain("against:help-context");
    expect(classifyDomain("1800gambler.example").signals).toContain("against:help-context:hotline");
    expect(classifyDomain("gambling-recovery-support.org").score).toBeLessThan(reviewThreshold);
  });

  it.skipIf(!existsSync(helpResourcesPath))(
    `never flags the help resources (skipped when ${helpResourcesPath} is missing)`,
    () => {
      const names = readFileSync(helpResourcesPath, "utf8")
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "" && !line.startsWith("#"));
      expect(names.length).toBeGreaterThanOrEqual(16);
      const flagged = names.filter((name) => classifyDomain(name).score >= reviewThreshold);
      expect(flagged).toEqual([]);
    },
  );

  it("does not score a subdomain of a benign site as gambling because of the subdomain shape", () => {
    for (const name of ["www.google.com", "m.bethesda.net", "api.betterment.com", "cdn.alphabet.com"]) {
      expect(classifyDomain(name).score).toBeLessThan(reviewThreshold);
    }
  });
});

describe("classifyDomain: input validation", () => {
  it.each([
    ["", "invalid:empty name"],
    ["   ", "invalid:empty name"],
    ["casino", "invalid:single-label name (no dot)"],
    ["localhost", "invalid:reserved name"],
    ["127.0.0.1", "invalid:IP address, not a domain"],
  ])("%j scores 0 with %s", (name, signal) => {
    expect(classifyDomain(name)).toEqual({ score: 0, signals: [signal] });
  });

  it.each([
    "https://casino.example.com/",
    "casino..com",
    "-casino.com",
    "casino.com/path",
    "bet 365.com",
    `${"a".repeat(64)}.com`,
    `${"casino.".repeat(300)}com`,
  ])("%j scores 0 with an invalid: signal", (name) => {
    const result = classifyDomain(name);
    expect(result.score).toBe(0);
    expect(result.signals).toHaveLength(1);
    expect(result.signals[0]).toMatch(/^invalid:/);
  });

  it("rejects non-strings without throwing", () => {
    for (const value of [undefined, null, 42, {}, ["casino.com"]]) {
      expect(classifyDomain(value as unknown as string)).toEqual({
        score: 0,
        signals: ["invalid:not a string"],
      });
    }
  });

  it("normalizes case, surrounding space and the trailing dot", () => {
    expect(classifyDomain("  Best-CASINO-Bonus.COM. ")).toEqual(classifyDomain("best-casino-bonus.com"));
  });
});

describe("classifyDomain: determinism and range", () => {
  const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?$/);
  const domain = fc
    .tuple(
      fc.array(label, { minLength: 1, maxLength: 3 }),
      fc.constantFrom("com", "net", "bet", "xyz", "co.uk", "cn"),
    )
    .map(([labels, suffix]) => `${labels.join(".")}.${suffix}`);

  it("returns an integer score in 0..100 and the same result every time", () => {
    fc.assert(
      fc.property(domain, (name) => {
        const first = classifyDomain(name);
        expect(Number.isInteger(first.score)).toBe(true);
        expect(first.score).toBeGreaterThanOrEqual(0);
        expect(first.score).toBeLessThanOrEqual(100);
        expect(classifyDomain(name)).toEqual(first);
      }),
      { numRuns: 500, seed: 20250101 },
    );
  });

  it("keeps fixed scores for a few reference names (changes only with a refit)", () => {
    const names = ["best-casino-bonus.com", "betterhelp.com", "66668888.com", "hg6688.com", "google.com"];
    const first = names.map((name) => classifyDomain(name).score);
    for (let round = 0; round < 3; round++)
      expect(names.map((name) => classifyDomain(name).score)).toEqual(first);
  });
});

describe("classifyDomain: performance", () => {
  it("classifies 20,000 names quickly", () => {
    const names: string[] = [];
    for (let index = 0; index < 20_000; index++) {
      names.push(`${index.toString(36)}best${index % 7 === 0 ? "casino" : "coffee"}shop${index % 97}.com`);
    }
    const started = performance.now();
    for (const name of names) classifyDomain(name);
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it("handles adversarial maximum-length names in linear time", () => {
    const adversarial = [
      `${"b".repeat(63)}.${"e".repeat(63)}.${"t".repeat(63)}.${"a".repeat(61)}`,
      `${"bet".repeat(21)}.${"slot".repeat(15)}abc.${"casino".repeat(10)}abc.com`,
      `${"1".repeat(63)}.${"8".repeat(63)}.${"9".repeat(63)}.com`,
      `${"betbetbetbetbe".repeat(4)}bet.${"ab".repeat(31)}a.com`,
    ];
    const started = performance.now();
    for (let round = 0; round < 1_000; round++) for (const name of adversarial) classifyDomain(name);
    expect(performance.now() - started).toBeLessThan(3_000);
  });
});
