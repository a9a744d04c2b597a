/**
 * Name families: operators register many names from one stem ("heji001", "heji86"; "4234d", "4234e";
 * "mariatogel71", "mariatogel72"; "brand.it", "brand.es"). A family is a stem that several different
 * registered labels of a known gambling list share, each label being the stem plus a short tail of at most
 * FAMILY_MAX_TAIL characters. A new name whose registered label is such a stem plus a short tail is likely
 * one more name of the same operator.
 *
 * A stem must be shared by FAMILY_MIN_NAMES distinct registered names: "brand.it", "brand.es" and "brand7.com"
 * make the family "brand".
 *
 * The stems are learned from a list, never written by hand: tools/eval/discovery.eval.ts `--families` learns
 * them from the train split only (held-out rows are never read) and prints families.ts. Pure functions here,
 * so the eval, the tests and the classifier share one definition.
 */
import { segmentLabel } from "./segment";
import { splitName } from "./suffix";

/** Longest tail after the stem ("heji" + "86"). Chosen by cross-validation inside the train split. */
export const FAMILY_MAX_TAIL = 2;
/** Shortest stem: shorter ones ("bet", "88") are shared by unrelated names. */
export const FAMILY_MIN_STEM = 4;
/** Distinct registered names of the list ("x.it", "x1.com", "x2.com") that must share a stem. */
export const FAMILY_MIN_NAMES = 3;

/** Shortest all-digit stem. */
export const FAMILY_MIN_NUMERIC_STEM = 5;

function isAllDigits(text: string): boolean {
  for (const character of text) if (character < "0" || character > "9") return false;
  return true;
}

function hasNoDigit(text: string): boolean {
  for (const character of text) if (character >= "0" && character <= "9") return false;
  return true;
}

/** The registered label of a normalized ASCII domain ("heji86" in "www.heji86.com"), or undefined for a bare suffix. */
export function registeredLabel(domain: string): string | undefined {
  const parts = splitName(domain);
  return parts.registeredIndex < 0 ? undefined : parts.labels[parts.registeredIndex];
}

/** Stems of a label: itself and the label less its last 1..FAMILY_MAX_TAIL characters, longest first. */
function stemsOf(label: string): string[] {
  const stems: string[] = [];
  for (let tail = 0; tail <= FAMILY_MAX_TAIL; tail++) {
    const stem = label.slice(0, label.length - tail);
    if (stem.length < FAMILY_MIN_STEM) break;
    // A stem never ends in a hyphen ("abc-" + "1" is the stem "abc"), and an all-digit stem needs
    // FAMILY_MIN_NUMERIC_STEM digits: short numbers ("1111", "0044") are names of popular sites too
    // (cross-validation inside the train split and the tune half).
    if (stem.endsWith("-") || (isAllDigits(stem) && stem.length < FAMILY_MIN_NUMERIC_STEM)) continue;
    // Word boundary: letters after an all-letter stem just make a longer word ("letou" + "r" is "letour"),
    // so a letter stem takes a tail only when digits separate them ("letou" + "88").
    const rest = label.slice(stem.length);
    if (rest !== "" && hasNoDigit(stem) && hasNoDigit(rest)) continue;
    stems.push(stem);
  }
  return stems;
}

/**
 * True when the segmenter explains the whole stem with ordinary words, numbers nowhere: "sport", "gamer",
 * "bestbuy". Such stems are shared by unrelated sites everywhere, so they never make a family; families are
 * opaque codes and brand-like names ("heji", "4234", "mariatogel").
 */
function isOrdinaryWords(stem: string): boolean {
  const segments = segmentLabel(stem);
  return (
    segments.length > 0 &&
    segments.every(
      (segment) => segment.kind === "benign" || segment.kind === "help" || segment.token?.strength === "weak",
    )
  );
}

export interface LearnFamiliesOptions {
  /** Registered labels of names known NOT to be gambling (the tune half): a stem matching one is dropped. */
  negatives?: Iterable<string>;
}

/** Learns the family stems of a gambling list (normalized ASCII domains). Sorted, deterministic. */
export function learnFamilies(domains: Iterable<string>, options: LearnFamiliesOptions = {}): string[] {
  // Distinct registered names ("brand.it" and "brand.es" are two), so subdomains of one name count once.
  const names = new Map<string, string>();
  for (const domain of domains) {
    const parts = splitName(domain);
    const label = parts.labels[parts.registeredIndex];
    if (parts.registeredIndex >= 0 && label !== undefined && label !== "")
      names.set(`${label}.${parts.suffix}`, label);
  }
  const members = new Map<string, number>();
  for (const label of names.values())
    for (const stem of stemsOf(label)) members.set(stem, (members.get(stem) ?? 0) + 1);
  const stems = new Set<string>();
  for (const [stem, count] of members)
    if (count >= FAMILY_MIN_NAMES && !isOrdinaryWords(stem)) stems.add(stem);
  for (const label of options.negatives ?? []) {
    for (const stem of stemsOf(label)) stems.delete(stem);
  }
  return [...stems].sort();
}

/** The family stem a registered label belongs to (the longest), or undefined. */
export function familyOf(label: string, stems: ReadonlySet<string>): string | undefined {
  for (const stem of stemsOf(label)) if (stems.has(stem)) return stem;
  return undefined;
}
