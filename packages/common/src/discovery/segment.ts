/**
 * Word segmentation of concatenated domain labels ("bestcasinobonus" -> best casino bonus,
 * "betterhelp" -> better help, "188bet" -> 188 bet).
 *
 * Dynamic programming over the characters of each hyphen-separated part: a dictionary word of
 * length L scores L*L (so one long word beats several short ones: "alphabet" beats alpha+bet), a
 * maximal run of digits scores its length, and a letter no word covers scores -1. Candidate words
 * are found by walking a trie, so the cost is O(length * longest word) per part, and parts are at
 * most 63 characters (the DNS label limit; longer input is cut). No regular expressions.
 */
import {
  BENIGN_WORDS,
  BRAND_STEMS,
  GAMBLING_TOKENS,
  type GamblingToken,
  HELP_CONTEXT_WORDS,
  PINYIN_ABBREVIATIONS,
} from "./lexicon";

export type SegmentKind = "gambling" | "brand" | "help" | "benign" | "number" | "unknown" | "abbreviation";

export interface Segment {
  text: string;
  kind: SegmentKind;
  /** Index of the hyphen/underscore-separated part of the label the segment belongs to. */
  part: number;
  /** Set for kind "gambling". */
  token?: GamblingToken;
}

interface TrieNode {
  children: Map<string, TrieNode>;
  kind?: Exclude<SegmentKind, "number" | "unknown" | "abbreviation">;
}

/** Longest part the segmenter looks at: a DNS label is at most 63 characters. */
export const MAX_SEGMENT_INPUT = 63;

function buildTrie(): { root: TrieNode; longest: number } {
  const root: TrieNode = { children: new Map() };
  let longest = 0;
  const add = (word: string, kind: NonNullable<TrieNode["kind"]>): void => {
    let node = root;
    for (const character of word) {
      let next = node.children.get(character);
      if (next === undefined) {
        next = { children: new Map() };
        node.children.set(character, next);
      }
      node = next;
    }
    // Precedence when a word is in several lists: brand > gambling > help > benign.
    const rank = { brand: 3, gambling: 2, help: 1, benign: 0 } as const;
    if (node.kind === undefined || rank[kind] > rank[node.kind]) node.kind = kind;
    longest = Math.max(longest, word.length);
  };
  for (const word of BENIGN_WORDS) add(word, "benign");
  for (const word of HELP_CONTEXT_WORDS) add(word, "help");
  for (const word of GAMBLING_TOKENS.keys()) add(word, "gambling");
  for (const word of BRAND_STEMS) add(word, "brand");
  return { root, longest };
}

const TRIE = buildTrie();
const ABBREVIATIONS: ReadonlySet<string> = new Set(PINYIN_ABBREVIATIONS);

function isDigit(character: string | undefined): boolean {
  return character !== undefined && character >= "0" && character <= "9";
}

/** Segments one label (letters, digits, hyphens, underscores) into words, numbers and unknown letter runs. */
export function segmentLabel(label: string): Segment[] {
  const segments: Segment[] = [];
  let partStart = 0;
  let part = 0;
  const text = label.length > MAX_SEGMENT_INPUT ? label.slice(0, MAX_SEGMENT_INPUT) : label;
  for (let index = 0; index <= text.length; index++) {
    const character = text[index];
    if (character === undefined || character === "-" || character === "_") {
      if (index > partStart) segments.push(...segmentPart(text.slice(partStart, index), part++));
      partStart = index + 1;
    }
  }
  markAbbreviations(segments);
  return segments;
}

interface Step {
  score: number;
  /** Start of the last segment ending here. */
  from: number;
  kind: SegmentKind;
}

function segmentPart(part: string, partIndex: number): Segment[] {
  const length = part.length;
  const best: (Step | undefined)[] = new Array(length + 1).fill(undefined);
  best[0] = { score: 0, from: 0, kind: "unknown" };
  const relax = (to: number, score: number, from: number, kind: SegmentKind): void => {
    const current = best[to];
    // Ties keep the earlier candidate, so the result does not depend on anything but the input.
    if (current === undefined || score > current.score) best[to] = { score, from, kind };
  };
  for (let start = 0; start < length; start++) {
    const here = best[start];
    if (here === undefined) continue;
    const character = part[start] ?? "";
    if (isDigit(character)) {
      // Only maximal digit runs, so "2024" is one number, not 2+0+2+4.
      if (!isDigit(part[start - 1])) {
        let end = start;
        while (isDigit(part[end])) end++;
        relax(end, here.score + (end - start), start, "number");
      }
    } else {
      relax(start + 1, here.score - 1, start, "unknown");
    }
    let node: TrieNode | undefined = TRIE.root;
    for (let end = start; end < length && end - start < TRIE.longest; end++) {
      node = node.children.get(part[end] ?? "");
      if (node === undefined) break;
      if (node.kind !== undefined) {
        const wordLength = end + 1 - start;
        relax(end + 1, here.score + wordLength * wordLength, start, node.kind);
      }
    }
  }
  const reversed: Segment[] = [];
  let position = length;
  while (position > 0) {
    const step = best[position];
    if (step === undefined) break; // unreachable: every position is reachable through single letters
    reversed.push({ text: part.slice(step.from, position), kind: step.kind, part: partIndex });
    position = step.from;
  }
  const segments: Segment[] = [];
  for (let index = reversed.length - 1; index >= 0; index--) {
    const segment = reversed[index]!;
    const previous = segments[segments.length - 1];
    // Merge single unknown letters into runs ("x", "y" -> "xy").
    if (segment.kind === "unknown" && previous?.kind === "unknown") {
      previous.text += segment.text;
    } else {
      const token = segment.kind === "gambling" ? GAMBLING_TOKENS.get(segment.text) : undefined;
      segments.push(token === undefined ? segment : { ...segment, token });
    }
  }
  return segments;
}

/** The segment before or after `index` when it lies in the same part of the label (not across a hyphen). */
export function neighbour(segments: readonly Segment[], index: number, offset: -1 | 1): Segment | undefined {
  const other = segments[index + offset];
  return other !== undefined && other.part === segments[index]?.part ? other : undefined;
}

/** Unknown letter runs that are pinyin gambling abbreviations ("hg", "xpj") count only when next to a number. */
function markAbbreviations(segments: Segment[]): void {
  segments.forEach((segment, index) => {
    if (segment.kind !== "unknown" || !ABBREVIATIONS.has(segment.text)) return;
    if (
      neighbour(segments, index, -1)?.kind === "number" ||
      neighbour(segments, index, 1)?.kind === "number"
    ) {
      segment.kind = "abbreviation";
    }
  });
}
