/**
 * Glob patterns over a whole domain name: `*` matches any run of characters (dots included, possibly
 * empty), `?` matches exactly one character, anything else matches itself. Examples: `*casino*`,
 * `bet??.*`, `*.slot*.com`.
 *
 * Matching simulates the pattern's Thompson NFA with a state set (state i = "the first i pattern
 * characters are matched"), represented as a bitset of ceil((m+1)/32) words and advanced bit-parallel
 * per name character (Shift-And). Cost is O(len(name) x len(pattern) / 32) with no backtracking, so a
 * hostile pattern such as `*a*a*a*a*a*a*a*a*b` cannot blow up. Matching allocates nothing.
 */
import { BlocklistFormatError } from "./errors";

export const MAX_PATTERN_LENGTH = 253;
/** Patterns need this many literal letters/digits so that a rule like `*.*` can't block everything. */
export const MIN_PATTERN_LITERALS = 4;

const STAR = 0x2a;
const QUESTION = 0x3f;
/** Character class for anything outside ASCII: only `?` and `*` match it. */
const NON_ASCII_CLASS = 128;
const CLASS_COUNT = 129;

function isAllowedPatternChar(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2e || // .
    code === 0x2d || // -
    code === STAR ||
    code === QUESTION
  );
}

function isLiteralAlnum(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39);
}

/**
 * Validate a pattern: only [a-z0-9.-*?], 1..253 characters, at least 4 literal letters/digits.
 * Throws `BlocklistFormatError("BLOCKLIST_INVALID_PATTERN")` with the reason otherwise.
 */
export function validatePattern(source: string): void {
  const fail = (why: string): never => {
    throw new BlocklistFormatError(
      "BLOCKLIST_INVALID_PATTERN",
      `invalid pattern ${JSON.stringify(source)}: ${why}`,
    );
  };
  if (source.length === 0) fail("it is empty");
  if (source.length > MAX_PATTERN_LENGTH) fail(`it is longer than ${MAX_PATTERN_LENGTH} characters`);
  let literals = 0;
  for (let i = 0; i < source.length; i++) {
    const code = source.charCodeAt(i);
    if (!isAllowedPatternChar(code)) {
      fail(`character ${JSON.stringify(source[i])} at ${i} is not one of a-z 0-9 . - * ?`);
    }
    if (isLiteralAlnum(code)) literals++;
  }
  if (literals < MIN_PATTERN_LITERALS) {
    fail(`it has ${literals} literal letters/digits, at least ${MIN_PATTERN_LITERALS} are required`);
  }
}

/** Compile a validated pattern into a reusable matcher (see `validatePattern` for the rules). */
export function compilePattern(source: string): GlobPattern {
  validatePattern(source);
  return new GlobPattern(source);
}

/**
 * A compiled glob. Not safe for concurrent use from several threads (it owns scratch state), which is
 * irrelevant in JS; each matcher owns its patterns.
 */
export class GlobPattern {
  /** Pattern characters with runs of `*` collapsed to one (equivalent, and keeps the closure one step). */
  private readonly program: string;
  private readonly words: number;
  private readonly acceptWord: number;
  private readonly acceptBit: number;
  /** charMasks[cls * words + w]: bit i set when program[i] is `?` or the literal of class cls. */
  private readonly charMasks: Uint32Array;
  /** Bit i set when program[i] is `*`. */
  private readonly starMask: Uint32Array;
  private current: Uint32Array;
  private next: Uint32Array;

  /** Use `compilePattern`, which validates; the constructor trusts its input. */
  constructor(readonly source: string) {
    this.program = source.replace(/\*+/g, "*");
    const stateCount = this.program.length + 1;
    this.words = Math.ceil(stateCount / 32);
    this.acceptWord = this.program.length >>> 5;
    this.acceptBit = 1 << (this.program.length & 31);
    this.charMasks = new Uint32Array(CLASS_COUNT * this.words);
    this.starMask = new Uint32Array(this.words);
    this.current = new Uint32Array(this.words);
    this.next = new Uint32Array(this.words);
    this.buildMasks();
  }

  private buildMasks(): void {
    for (let i = 0; i < this.program.length; i++) {
      const code = this.program.charCodeAt(i);
      const word = i >>> 5;
      const bit = 1 << (i & 31);
      if (code === STAR) {
        this.starMask[word]! |= bit;
      } else if (code === QUESTION) {
        for (let cls = 0; cls < CLASS_COUNT; cls++) this.charMasks[cls * this.words + word]! |= bit;
      } else {
        this.charMasks[code * this.words + word]! |= bit;
      }
    }
  }

  /** Match a JS string (A-Z compared case-insensitively). */
  matchesString(name: string, length: number = name.length): boolean {
    this.reset();
    for (let i = 0; i < length; i++) {
      if (!this.step(characterClass(name.charCodeAt(i)))) return false;
    }
    return this.accepted();
  }

  /** Match the first `length` bytes of `bytes` (A-Z compared case-insensitively). */
  matchesBytes(bytes: Uint8Array, length: number): boolean {
    this.reset();
    for (let i = 0; i < length; i++) {
      if (!this.step(characterClass(bytes[i]!))) return false;
    }
    return this.accepted();
  }

  /** State set := epsilon-closure({0}). */
  private reset(): void {
    this.current.fill(0);
    this.current[0] = 1;
    if ((this.starMask[0]! & 1) !== 0) this.current[0] = 3;
  }

  private accepted(): boolean {
    return (this.current[this.acceptWord]! & this.acceptBit) !== 0;
  }

  /**
   * Advance the state set over one character of class `cls`; false when no state survives.
   * next = shift(current & literal(cls)) | (current & star); then the epsilon closure
   * next |= shift(next & star) (one step suffices because stars are never adjacent in `program`).
   */
  private step(cls: number): boolean {
    const { words, charMasks, starMask, current, next } = this;
    const base = cls * words;
    let advanceCarry = 0;
    let closureCarry = 0;
    let alive = 0;
    for (let w = 0; w < words; w++) {
      const state = current[w]!;
      const star = starMask[w]!;
      const advanced = state & charMasks[base + w]!;
      let value = (advanced << 1) | advanceCarry | (state & star);
      advanceCarry = advanced >>> 31;
      const starred = value & star;
      value |= (starred << 1) | closureCarry;
      closureCarry = starred >>> 31;
      next[w] = value;
      alive |= value;
    }
    this.current = next;
    this.next = current;
    return alive !== 0;
  }
}

/** Map a character code to its mask row: lowercase ASCII, everything non-ASCII shares one row. */
function characterClass(code: number): number {
  if (code >= 0x41 && code <= 0x5a) return code | 0x20;
  return code < 128 ? code : NON_ASCII_CLASS;
}
