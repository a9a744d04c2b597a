/**
 * The addon's plain list compiler (plain_list.c) must give exactly the JavaScript compiler's result
 * (packages/common/src/blocklist/plain-list.ts): same table bytes, entry count, rejected count and
 * bucket bits, on hostile random lists, on the lines around its fast path's limits and on the real
 * lists in ../shared/data. Skipped when the addon was not built here.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BlocklistMatcher, isBlockedCode } from "@betblocker/common/blocklist/matcher";
import {
  compilePlainListFile,
  type NativePlainListCompiler,
  type PlainListResult,
} from "@betblocker/common/blocklist/plain-list";
import { afterAll, describe, expect, it } from "vitest";

/** The addon's compiler; `scalar` (4th argument) turns its SSE4.1 hashing off. */
interface AddonCompiler {
  compilePlainList(
    ...args: [...Parameters<NativePlainListCompiler["compilePlainList"]>, scalar?: boolean]
  ): ReturnType<NativePlainListCompiler["compilePlainList"]>;
}

async function loadCompiler(): Promise<AddonCompiler | null> {
  if (process.platform !== "linux") return null;
  try {
    const loaded = (await import("@betblocker/dns-native")) as {
      default?: { native: AddonCompiler | null };
      native?: AddonCompiler | null;
    };
    const native = loaded.default?.native ?? loaded.native ?? null;
    return native !== null && typeof native.compilePlainList === "function" ? native : null;
  } catch {
    return null;
  }
}

const native = await loadCompiler();
/** The same compiler with its SSE4.1 hashing off (where the CPU has none, both are this path). */
const scalarNative: NativePlainListCompiler | null =
  native === null
    ? null
    : { compilePlainList: (fd, lane1, lane2) => native.compilePlainList(fd, lane1, lane2, true) };
const dataDirectory = fileURLToPath(new URL("../../../../shared/data/", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "plain-list-native-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
}

// A-Z and the bytes either side of A-Z and a-z ("@[`{"): case folding must stop exactly at A and Z.
const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_@[`{\xc0\xe9";

function label(random: () => number, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += LETTERS[Math.floor(random() * LETTERS.length)];
  return out;
}

function plainName(random: () => number, maxLabel = 20): string {
  const labels = 1 + Math.floor(random() * 4);
  return Array.from({ length: labels }, () => label(random, 1 + Math.floor(random() * maxLabel))).join(".");
}

const BLANKS = [" ", "\t", "\r", "\x00", "\x01", "\x1f"];

/** Mostly plain names, and every kind of line the rules treat specially. */
function hostileLine(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const kind = Math.floor(random() * 24);
  const name = plainName(random);
  switch (kind) {
    case 0:
      return "";
    case 1:
      return `${pick(BLANKS)}${pick(BLANKS)}`;
    case 2:
      return `#${name}`;
    case 3:
      return `${pick(BLANKS)}# comment ${name}`;
    case 4:
      return `${name}.`;
    case 5:
      return `${name}..`;
    case 6:
      return `.${name}`;
    case 7:
      return `${name}${pick(BLANKS)}`;
    case 8:
      return `${pick(BLANKS)}${name}`;
    case 9:
      return `${name}${pick(BLANKS)}${plainName(random)}`;
    case 10:
      return `${name}.${pick(BLANKS)}`;
    case 11:
      return `${name} .`;
    case 12:
      return `${label(random, 62 + Math.floor(random() * 4))}.${name}`; // labels of 62..65
    case 13: {
      // names of 250..256 characters, some with a trailing dot
      const target = 250 + Math.floor(random() * 7);
      let long = "";
      while (long.length < target) long += `${label(random, 40)}.`;
      return random() < 0.5 ? long.slice(0, target) : `${long.slice(0, target - 1)}.`;
    }
    case 14:
      return name.toUpperCase();
    case 15:
      return `${name}\u00e9\u00ff.com`; // latin1 bytes >= 0x80
    case 16:
      return ".";
    case 17:
      return `${name}..${name}`;
    case 18:
      // around the SSE path's 64-byte window: lines of 60..68 bytes with and without trailing CR/space
      return `${label(random, 56 + Math.floor(random() * 8))}.com${random() < 0.5 ? "\r" : random() < 0.5 ? " \r" : ""}`;
    case 19:
      return `${label(random, 63)}.${label(random, 63)}`;
    case 20:
      return `${name}#x`;
    case 21: {
      // any byte but the newline
      let bytes = "";
      for (let i = Math.floor(random() * 80); i > 0; i--) {
        const code = Math.floor(random() * 255) + 1;
        bytes += String.fromCharCode(code === 10 ? 0 : code);
      }
      return bytes;
    }
    default:
      return name;
  }
}

/** Compiles `path` with the JavaScript compiler and with both native paths; all three must agree. */
function expectSame(path: string, seed: number): PlainListResult {
  const js = compilePlainListFile(path, { seed });
  const vector = compilePlainListFile(path, { seed, native });
  expectSameResult(vector, js);
  expectSameResult(compilePlainListFile(path, { seed, native: scalarNative }), js);
  return vector;
}

function expectSameResult(c: PlainListResult, js: PlainListResult): void {
  const a = js.content.tables.block;
  const b = c.content.tables.block;
  expect(b.bucketBits).toBe(a.bucketBits);
  expect(c.entries).toBe(js.entries);
  expect(c.rejected).toBe(js.rejected);
  expect(
    Buffer.from(b.offsets.buffer, b.offsets.byteOffset, b.offsets.byteLength).equals(
      Buffer.from(a.offsets.buffer, a.offsets.byteOffset, a.offsets.byteLength),
    ),
  ).toBe(true);
  expect(
    Buffer.from(b.fingerprints.buffer, b.fingerprints.byteOffset, b.fingerprints.byteLength).equals(
      Buffer.from(a.fingerprints.buffer, a.fingerprints.byteOffset, a.fingerprints.byteLength),
    ),
  ).toBe(true);
  expect(Buffer.from(b.meta).equals(Buffer.from(a.meta))).toBe(true);
}

describe.skipIf(native === null)("native plain list compiler", () => {
  it("gives the JavaScript compiler's table on hostile random lists (LF and CRLF, with and without a last newline)", () => {
    for (let round = 0; round < 24; round++) {
      const random = seededRandom(4242 + round);
      const lines = Array.from({ length: 1 + Math.floor(random() * 4000) }, () => hostileLine(random));
      for (let i = 0; i < 30; i++) lines.push(lines[Math.floor(random() * lines.length)]!); // duplicates
      const separator = round % 3 === 1 ? "\r\n" : "\n";
      const text = lines.join(separator) + (round % 2 === 0 ? separator : "");
      const path = join(dir, `random-${round}.txt`);
      writeFileSync(path, Buffer.from(text, "latin1"));
      const seed = Math.floor(random() * 2 ** 32);
      const result = expectSame(path, seed);
      expect(result.rejected).toBeGreaterThan(0);
      expect(result.entries).toBeGreaterThan(0);
    }
  });

  it("agrees on every line length across the 64-byte fast path and at the end of the file", () => {
    const random = seededRandom(99);
    for (let length = 1; length <= 70; length++) {
      const lines: string[] = [];
      for (let i = 0; i < 40; i++) {
        const body = label(random, length);
        const dotted = length > 2 ? `${body.slice(0, length - 2)}.${body.slice(-1)}` : body;
        lines.push(body, `${dotted}`, `${body}.`, `${body}\r`, `${body} `, ` ${body}`, `${body}\t\r`);
      }
      const path = join(dir, `lengths-${length}.txt`);
      writeFileSync(path, `${lines.join("\n")}\n${label(random, length)}`);
      expectSame(path, 7 + length);
    }
  });

  it("rejects a line of 1 MiB - 1 bytes or more like the JavaScript reader does", () => {
    const near = 1024 * 1024 - 1;
    for (const [index, length] of [near - 1, near, near + 1, 2 * near].entries()) {
      const path = join(dir, `long-${index}.txt`);
      const long = `${"a".repeat(Math.max(0, length - 12))}.example.com`.slice(-length);
      writeFileSync(
        path,
        `first.example\n${" ".repeat(length)}\n${long}\n#${"c".repeat(length)}\nlast.example\n`,
      );
      const result = expectSame(path, 1);
      expect(result.entries).toBe(2);
    }
  });

  it("chooses the same bucket bits at every table size boundary", () => {
    // round(log2(n / 4)) changes between n = floor(4 * 2^(k - 1/2)) and the next integer
    const sizes = new Set<number>([1, 2, 3]);
    for (let k = 2; k <= 19; k++) {
      const edge = Math.floor(4 * 2 ** (k - 0.5));
      for (const n of [edge - 1, edge, edge + 1]) if (n > 0) sizes.add(n);
    }
    for (const n of sizes) {
      const path = join(dir, `size-${n}.txt`);
      const names: string[] = [];
      for (let i = 0; i < n; i++) names.push(`n${i.toString(36)}.example`);
      writeFileSync(path, `${names.join("\n")}\n`);
      const result = expectSame(path, 3);
      expect(result.entries).toBe(n);
    }
  }, 60_000);

  it("gives the same table for the real lists, and the matcher finds every listed name", () => {
    const gambling = readFileSync(join(dataDirectory, "gambling-domains.csv"), "utf8")
      .split("\n")
      .slice(1)
      .map((row) => row.split(",")[0] ?? "")
      .filter((name) => name.length > 0);
    const path = join(dir, "gambling.txt");
    writeFileSync(path, `${gambling.join("\n")}\n`);
    const result = expectSame(path, 0x5eed);
    expect(result.entries).toBeGreaterThan(60_000);
    const matcher = new BlocklistMatcher(result.content);
    for (const name of gambling.slice(0, 5000))
      expect(isBlockedCode(matcher.matchName(`www.${name}`))).toBe(true);
    expectSame(join(dataDirectory, "popular-domains.txt"), 0x5eed);
  });

  it("leaves files it cannot map (empty, not regular) to the JavaScript reader", () => {
    const empty = join(dir, "empty.txt");
    writeFileSync(empty, "");
    const fromEmpty = compilePlainListFile(empty, { native });
    expect(fromEmpty.entries).toBe(0);
    const fd = openSync("/dev/null", "r");
    try {
      expect(native?.compilePlainList(fd, 1, 2)).toBeNull();
    } finally {
      closeSync(fd);
    }
    expect(() => native?.compilePlainList(-1, 1, 2)).toThrow(/expected \(fd, lane1, lane2\)/);
  });
});
