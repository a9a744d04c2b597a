import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type RowCompileInput, RuleRowCompiler } from "./compile-rows";
import { BlocklistFormatError } from "./errors";
import {
  type BlocklistRules,
  compileBlocklist,
  type DomainRule,
  KNOWN_CATEGORIES,
  loadBlocklist,
  type PatternRule,
} from "./format";
import { bytesEqual, newTestKeys, overlappingName, randomLabel, seededRandom } from "./testing";

const keys = newTestKeys();
const CREATED_AT = Date.UTC(2025, 5, 1);

interface Row {
  readonly domain: string;
  readonly category: string;
}

/** The classification publish.service applies to stored rules (rulesFromEntries). */
function rulesOf(rows: readonly Row[], allow: readonly string[]): BlocklistRules {
  const block: DomainRule[] = [];
  const wildcard: DomainRule[] = [];
  const pattern: PatternRule[] = [];
  for (const { domain, category } of rows) {
    if (domain.startsWith("*.")) wildcard.push({ domain, category });
    else if (domain.includes("*") || domain.includes("?")) pattern.push({ pattern: domain, category });
    else block.push({ domain, category });
  }
  return { block, wildcard, allow, pattern };
}

/** Rows in byte order of the domain, as `ORDER BY domain` gives them under the C collation. */
function sorted(rows: readonly Row[]): Row[] {
  return [...rows].sort((a, b) => Buffer.compare(Buffer.from(a.domain), Buffer.from(b.domain)));
}

/** A field as COPY text format writes it. */
function escapeField(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) => ({ "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" })[c]!);
}

/** COPY text of the rows, with the publisher's leading tag column when `tag` is set. */
function copyText(rows: readonly Row[], tag: boolean): Uint8Array {
  const line = (r: Row) => `${tag ? "b\t" : ""}${escapeField(r.domain)}\t${escapeField(r.category)}\n`;
  return Buffer.from(rows.map(line).join(""));
}

function baseInput(overrides: Partial<RowCompileInput> = {}): RowCompileInput {
  return {
    version: 3,
    createdAt: CREATED_AT,
    prevHash: null,
    allow: [],
    privateKey: keys.privateKey,
    ...overrides,
  };
}

function compileRows(
  text: Uint8Array,
  input: RowCompileInput,
  options: { seed?: number; chunk?: (text: Uint8Array) => Uint8Array[] } = {},
): Uint8Array {
  const compiler = new RuleRowCompiler(options.seed === undefined ? {} : { seed: options.seed });
  for (const piece of options.chunk ? options.chunk(text) : [text]) compiler.push(piece);
  compiler.end();
  return compiler.compile(input);
}

function reference(rows: readonly Row[], input: RowCompileInput, seed?: number): Uint8Array {
  return compileBlocklist({
    ...input,
    rules: rulesOf(rows, input.allow),
    ...(seed === undefined ? {} : { seed }),
  });
}

function outcome(run: () => Uint8Array): string {
  try {
    return Buffer.from(run()).toString("hex");
  } catch (error) {
    if (error instanceof BlocklistFormatError) return `${error.code}: ${error.message}`;
    throw error;
  }
}

/** Split at pseudo-random points (including inside rows and single bytes). */
function randomChunks(seed: number): (text: Uint8Array) => Uint8Array[] {
  return (text) => {
    const random = seededRandom(seed);
    const pieces: Uint8Array[] = [];
    let at = 0;
    while (at < text.length) {
      const size = random() < 0.1 ? 1 : 1 + Math.floor(random() * 3000);
      pieces.push(text.subarray(at, at + size));
      at += size;
    }
    return pieces;
  };
}

function oneRowPerChunk(text: Uint8Array): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === 0x0a) {
      pieces.push(text.subarray(start, i + 1));
      start = i + 1;
    }
  }
  return pieces;
}

function sampleRows(count: number): Row[] {
  const random = seededRandom(11);
  const rows: Row[] = [];
  for (let i = 0; i < count; i++) {
    const sub = random() < 0.2 ? `${randomLabel(random, 1, 5)}.` : "";
    rows.push({
      domain: `${sub}${randomLabel(random, 3, 14)}-${i}.${["com", "net", "co.uk"][i % 3]}`,
      category: KNOWN_CATEGORIES[Math.floor(random() * KNOWN_CATEGORIES.length)]!,
    });
  }
  rows.push(
    { domain: "*.pages.example", category: "casino" },
    { domain: "*.spins.example", category: "custom_slots" },
    { domain: "*casino*", category: "casino" },
    { domain: "bets??.*", category: "a_custom" },
    { domain: "dup.example", category: "poker" },
    { domain: "dup.example", category: "casino" },
  );
  return sorted(rows);
}

describe("RuleRowCompiler", () => {
  const rows = sampleRows(30_000);
  const input = baseInput({ allow: ["gamcare.org.uk", "begambleaware.org"] });
  const expected = reference(rows, input);

  it("compiles exactly the bytes of compileBlocklist, however the rows are chunked", () => {
    for (const tag of [true, false]) {
      const text = copyText(rows, tag);
      expect(bytesEqual(compileRows(text, input), expected)).toBe(true);
      expect(bytesEqual(compileRows(text, input, { chunk: oneRowPerChunk }), expected)).toBe(true);
      expect(bytesEqual(compileRows(text, input, { chunk: randomChunks(5) }), expected)).toBe(true);
    }
    const list = loadBlocklist(expected, keys.publicKey);
    expect(list.categories).toEqual([...KNOWN_CATEGORIES, "a_custom", "custom_slots"]);
  });

  it("keeps the previous version's seed and bucket bits like compileBlocklist", () => {
    const hinted = baseInput({ previousBucketBits: { block: 11, wildcard: 4, allow: 4 } });
    const text = copyText(rows, true);
    expect(bytesEqual(compileRows(text, hinted, { seed: 77 }), reference(rows, hinted, 77))).toBe(true);
  });

  it("hashes the rows again when another seed has to be tried", () => {
    const compiler = new RuleRowCompiler({ seed: 5 });
    compiler.push(copyText(rows, true));
    compiler.end();
    // Simulate a collision-forced retry: parsed under seed 9, compile() must rehash for its start seed 5.
    (compiler as unknown as { reparse(seed: number): void }).reparse(9);
    expect(bytesEqual(compiler.compile(input), reference(rows, input, 5))).toBe(true);
  });

  it("collects rows until setSeed and then compiles the same bytes", () => {
    const compiler = new RuleRowCompiler({ expectedRows: 10 });
    const pieces = randomChunks(3)(copyText(rows, true));
    pieces.forEach((piece, i) => {
      if (i === pieces.length >> 1) compiler.setSeed(77);
      compiler.push(piece);
    });
    compiler.end();
    expect(compiler.rowCount).toBe(rows.length);
    expect(bytesEqual(compiler.compile(input), reference(rows, input, 77))).toBe(true);
    expect(() => compiler.setSeed(1)).toThrow(/already set/);
    const badSeed = new RuleRowCompiler({ seed: -1 });
    badSeed.push(copyText(rows.slice(0, 5), true));
    badSeed.end();
    expect(outcome(() => badSeed.compile(input))).toBe(outcome(() => reference(rows.slice(0, 5), input, -1)));
  });

  it("passes every byte to onBatch in order and counts rows", () => {
    const text = copyText(rows, true);
    const seen: Buffer[] = [];
    const compiler = new RuleRowCompiler({ onBatch: (batch) => seen.push(Buffer.from(batch)) });
    for (const piece of randomChunks(9)(text)) compiler.push(piece);
    compiler.end();
    expect(Buffer.concat(seen).equals(text)).toBe(true);
    expect(compiler.rowCount).toBe(rows.length);
  });

  it("matches compileBlocklist on random rule sets (duplicates, wildcards, patterns, allow, errors)", () => {
    const row = fc.record({
      domain: fc.oneof(
        overlappingName,
        overlappingName.map((name) => `*.${name}`),
        fc.constantFrom("*casino*", "bets?.*", "www.a*b*", "*a*a*a*a*b"),
      ),
      category: fc.constantFrom(...KNOWN_CATEGORIES, "x_custom"),
    });
    fc.assert(
      fc.property(
        fc.array(row, { maxLength: 40 }),
        fc.array(overlappingName, { maxLength: 3 }),
        (raw, allow) => {
          const ordered = sorted(raw);
          const rowInput = baseInput({ allow });
          const got = outcome(() =>
            compileRows(copyText(ordered, true), rowInput, { chunk: randomChunks(raw.length) }),
          );
          expect(got).toBe(outcome(() => reference(ordered, rowInput)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("throws the same errors as compileBlocklist for bad rules", () => {
    const bad: Row[][] = [
      [{ domain: "Upper.example", category: "casino" }],
      [{ domain: "a..example", category: "casino" }],
      [{ domain: `${"a".repeat(64)}.example`, category: "casino" }],
      [{ domain: `${"abcdefghi.".repeat(26)}com`, category: "casino" }],
      [{ domain: "ünïcode.example", category: "casino" }],
      [{ domain: "back\\slash.example", category: "casino" }],
      [{ domain: "tab\there.example", category: "casino" }],
      [{ domain: "ok.example", category: "new\nline" }],
      [{ domain: "ok.example", category: "Bad-Category" }],
      [{ domain: "*.Bad.example", category: "casino" }],
      [{ domain: "*a", category: "casino" }],
      [{ domain: "*.bet*.com", category: "casino" }],
      [
        { domain: "a..example", category: "casino" },
        { domain: "ok.example", category: "no good" },
      ],
    ];
    for (const rows of bad) {
      const rowInput = baseInput();
      const expectedOutcome = outcome(() => reference(rows, rowInput));
      expect(expectedOutcome).toMatch(/^BLOCKLIST_INVALID_(RULE|PATTERN)/);
      expect(outcome(() => compileRows(copyText(rows, true), rowInput))).toBe(expectedOutcome);
    }
    expect(outcome(() => compileRows(copyText(sampleRows(10), true), baseInput({ version: 0 })))).toBe(
      outcome(() => reference(sampleRows(10), baseInput({ version: 0 }))),
    );
  });

  it("refuses a truncated stream, a NULL category and rows without two columns", () => {
    const truncated = new RuleRowCompiler();
    truncated.push(Buffer.from("b\tok.example\tcasino\nb\tcut.exa"));
    expect(() => truncated.end()).toThrow(/inside a row/);
    const nullCategory = new RuleRowCompiler();
    nullCategory.push(Buffer.from("b\tok.example\t\\N\n"));
    expect(() => nullCategory.end()).toThrow(/NULL/);
    const oneColumn = new RuleRowCompiler();
    oneColumn.push(Buffer.from("ok.example\n"));
    expect(() => oneColumn.end()).toThrow(/columns/);
  });

  it("rejects non-adjacent duplicate block domains instead of guessing", () => {
    const compiler = new RuleRowCompiler();
    compiler.push(Buffer.from("a.example\tcasino\nb.example\tcasino\na.example\tpoker\n"));
    compiler.end();
    expect(() => compiler.compile(baseInput())).toThrow(/no collision-free hash seed/);
  });
});
