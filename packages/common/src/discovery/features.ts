/**
 * Hand-written features of a domain name for the gambling classifier. Every feature has a name
 * (the key of its weight in model.ts) and the human-readable signals that explain it.
 *
 * Groups:
 *   token.*    gambling words found by segmentation (segment.ts), by strength (strong, topic, medium,
 *              weak), and whether they stand as words ("clean") or are glued to letters no dictionary
 *              word explains ("glued": the "bet" in an unknown word like "qzxbetq")
 *   brand.*    operator brand stems (lexicon.ts); brand.glued: a short all-letter stem inside an unknown word
 *   family     the registered label belongs to a name family learned from the list (families.ts)
 *   unicode.*  gambling words in non-Latin scripts (unicode.ts)
 *   numeric.*  all-digit registered labels, by length ("00000178.com")
 *   mixed.*    letters and digits together ("w88", "hg6859", "2175ky")
 *   digits.*   which digits: lucky ones (6, 8, 9) and repeats ("8888", "6688")
 *   letters.*  share of letters no dictionary word explains
 *   tld.*      the top-level domain; tld.gambling for .bet/.casino/.poker/.bingo/.lotto
 *   help       a gambling word next to help/awareness words ("gamblingtherapy"); the words are not counted
 *   benign-word  weight 0; explains a non-firing word ("benign-word:betterhelp")
 *
 * Shape features (numeric.*, mixed.*, digits.*, letters.*) look at the registered label only, so
 * "www." or "api." in front of a name changes nothing.
 */
import { FAMILY_STEMS } from "./families";
import { familyOf } from "./family";
import { GAMBLING_TLDS, HOTLINE_PREFIXES } from "./lexicon";
import { neighbour, type Segment, segmentLabel } from "./segment";
import type { NameParts } from "./suffix";
import { foldToAscii, isAsciiLabel, UNICODE_TOKENS } from "./unicode";

/** A feature value with the signals that explain it. */
export interface FeatureValue {
  value: number;
  signals: string[];
}

export type Features = Map<string, FeatureValue>;

/** TLDs with their own weight; every other 2-letter TLD is tld.cc and every other TLD is tld.other. */
export const WEIGHTED_TLDS: readonly string[] = [
  "com",
  "net",
  "org",
  "info",
  "biz",
  "io",
  "co",
  "me",
  "tv",
  "cc",
  "cn",
  "vip",
  "xyz",
  "top",
  "app",
  "club",
  "fun",
  "win",
  "live",
  "asia",
  "online",
  "site",
  "pro",
  "buzz",
  "shop",
];
const WEIGHTED_TLD_SET: ReadonlySet<string> = new Set(WEIGHTED_TLDS);
const LUCKY_DIGITS = "689";
const FAMILY_STEM_SET: ReadonlySet<string> = new Set(FAMILY_STEMS);
/** Gambling tokens whose presence inside a benign word is worth telling ("better" contains "bet"). */
const EXPLAINED_TOKENS = [
  "bet",
  "casino",
  "slot",
  "poker",
  "lotto",
  "bingo",
  "judi",
  "toto",
  "stake",
  "spin",
];

function add(features: Features, name: string, value: number, signal?: string): void {
  const existing = features.get(name);
  if (existing === undefined) {
    features.set(name, { value, signals: signal === undefined ? [] : [signal] });
  } else {
    existing.value = Math.max(existing.value, value);
    if (signal !== undefined && !existing.signals.includes(signal)) existing.signals.push(signal);
  }
}

interface LabelAnalysis {
  label: string;
  segments: Segment[];
}

function analyze(label: string): LabelAnalysis {
  const ascii = isAsciiLabel(label) ? label : foldToAscii(label);
  // After folding, characters outside a-z0-9 (CJK, Thai...) simply split the label into parts.
  let cleaned = "";
  for (const character of ascii) {
    const code = character.charCodeAt(0);
    const keep = (code >= 97 && code <= 122) || (code >= 48 && code <= 57) || character === "_";
    cleaned += keep ? character : "-";
  }
  return { label, segments: segmentLabel(cleaned) };
}

/** A gambling word is "glued" when an unknown letter run touches it (the word may be part of a longer unknown word). */
function isGlued(segments: readonly Segment[], index: number): boolean {
  return (
    neighbour(segments, index, -1)?.kind === "unknown" || neighbour(segments, index, 1)?.kind === "unknown"
  );
}

/**
 * Brand stems of at most this many letters, without digits, must stand as words: at a label or hyphen edge,
 * next to digits or next to another known word. Longer stems ("pokerstars", "leovegas") and stems with digits
 * ("w88", "bet365") are distinctive enough to count inside an unknown run ("leovegasfi", "w88vn").
 */
const SHORT_BRAND_LETTERS = 5;

function isOpaqueBrandInsideWord(segments: readonly Segment[], index: number): boolean {
  const text = segments[index]?.text ?? "";
  if (text.length > SHORT_BRAND_LETTERS) return false;
  for (const character of text) if (character >= "0" && character <= "9") return false;
  return isGlued(segments, index);
}

/**
 * Extracts features from a normalized domain in Unicode form (U-labels) or ASCII. `parts` is the
 * name split by splitName on its ASCII form.
 */
export function extractFeatures(unicodeName: string, parts: NameParts): Features {
  const features: Features = new Map();
  const unicodeLabels = unicodeName.split(".");
  const registeredIndex = parts.registeredIndex;
  const topLevel = parts.topLevel;

  if (GAMBLING_TLDS.has(topLevel)) add(features, "tld.gambling", 1, `tld:${topLevel}`);
  if (parts.institutional) add(features, "institutional", 1, `institutional:${parts.suffix}`);
  if (WEIGHTED_TLD_SET.has(topLevel)) add(features, `tld.${topLevel}`, 1, `tld:${topLevel}`);
  else if (topLevel.length === 2) add(features, "tld.cc", 1, `tld:${topLevel}`);
  else if (!GAMBLING_TLDS.has(topLevel)) add(features, "tld.other", 1, `tld:${topLevel}`);

  if (registeredIndex < 0) return features; // the name is a bare suffix such as "co.uk"

  // Token features over the registered label and the labels below it (never the suffix).
  let helpContext = false;
  let topicToken = false;
  let hotline = false;
  let registeredAnalysis: LabelAnalysis | undefined;
  const tokenHits: { feature: string; signal: string }[] = [];
  for (let index = 0; index <= registeredIndex; index++) {
    const label = unicodeLabels[index] ?? "";
    const inRegistered = index === registeredIndex;
    const analysis = analyze(label);
    if (inRegistered) registeredAnalysis = analysis;
    const segments = analysis.segments;
    segments.forEach((segment, position) => {
      if (segment.kind === "help") helpContext = true;
      if (segment.kind === "number" && HOTLINE_PREFIXES.some((prefix) => segment.text.startsWith(prefix))) {
        hotline = true;
      }
      if (segment.kind === "brand") {
        if (isOpaqueBrandInsideWord(segments, position)) {
          // "letour" is not letou+r, "hashthemes" is not has+hth+emes: a short all-letter stem glued to
          // letters no dictionary word explains is most likely part of another word. Kept as a weak,
          // fitted hint, never as a brand.
          if (inRegistered)
            tokenHits.push({ feature: "brand.glued", signal: `partial-brand:${segment.text}` });
        } else {
          tokenHits.push({ feature: inRegistered ? "brand" : "brand.sub", signal: `brand:${segment.text}` });
        }
      } else if (segment.kind === "gambling" && segment.token !== undefined) {
        const strength = segment.token.strength;
        if (strength === "topic") topicToken = true;
        const glued = isGlued(segments, position);
        if (!inRegistered) {
          if (strength !== "weak" && !glued) {
            tokenHits.push({ feature: "token.sub", signal: `subdomain-token:${segment.text}` });
          }
        } else if (strength === "weak") {
          tokenHits.push({ feature: "token.weak", signal: `weak-token:${segment.text}` });
        } else {
          const feature = `token.${strength}.${glued ? "glued" : "clean"}`;
          const signal = glued ? `partial-token:${segment.text}` : `token:${segment.text}`;
          tokenHits.push({ feature, signal });
        }
      } else if (segment.kind === "benign" && inRegistered) {
        const inside = EXPLAINED_TOKENS.find(
          (token) => segment.text !== token && segment.text.includes(token),
        );
        if (inside !== undefined) add(features, "benign-word", 0, `benign-word:${segment.text}`);
      }
    });
    if (!isAsciiLabel(label)) {
      for (const token of UNICODE_TOKENS) {
        if (label.includes(token.text)) {
          tokenHits.push({
            feature: inRegistered ? `unicode.${token.strength}` : "token.sub",
            signal: `unicode:${token.text}(${token.meaning})`,
          });
        }
      }
    }
  }
  const strongWord = tokenHits.some((hit) => hit.feature.startsWith("token.strong"));
  if ((helpContext && (topicToken || strongWord)) || (hotline && topicToken)) {
    // "gamblingtherapy", "1800gambler", "casino-addiction-help": about gambling, for people who want to
    // stop. Gambling words do not count then; brands still do ("fun88-help" is the operator's own site).
    add(features, "help", 1, hotline && !helpContext ? "help-context:hotline" : "help-context");
    for (const hit of tokenHits)
      if (hit.feature.startsWith("brand")) add(features, hit.feature, 1, hit.signal);
  } else {
    for (const hit of tokenHits) {
      if (hit.feature === "token.weak") {
        const current = features.get("token.weak")?.value ?? 0;
        add(features, "token.weak", Math.min(current + 1, 2), hit.signal);
      } else {
        add(features, hit.feature, 1, hit.signal);
      }
    }
  }
  // A glued hit says nothing more once the same strength has a clean hit.
  for (const strength of ["strong", "topic", "medium"]) {
    if (features.has(`token.${strength}.clean`)) features.delete(`token.${strength}.glued`);
  }

  const registeredLabel = parts.labels[registeredIndex] ?? "";
  const family = familyOf(registeredLabel, FAMILY_STEM_SET);
  if (family !== undefined) add(features, "family", 1, `family:${family}`);
  if (registeredLabel.startsWith("xn--")) add(features, "idn", 1, "internationalized-name");
  else if (registeredAnalysis !== undefined)
    addShapeFeatures(features, registeredLabel, registeredAnalysis, topLevel);
  return features;
}

/** Character-shape features of the registered label (ASCII form). */
function addShapeFeatures(
  features: Features,
  label: string,
  analysis: LabelAnalysis,
  topLevel: string,
): void {
  const tldGroup = topLevel === "com" || topLevel === "net" ? topLevel : topLevel.length === 2 ? "cc" : "new";
  let digits = 0;
  let letters = 0;
  let lucky = 0;
  let repeats = 0;
  let previousDigit = "";
  for (const character of label) {
    if (character >= "0" && character <= "9") {
      digits++;
      if (LUCKY_DIGITS.includes(character)) lucky++;
      if (character === previousDigit) repeats++;
      previousDigit = character;
    } else {
      if (character >= "a" && character <= "z") letters++;
      previousDigit = "";
    }
  }
  const length = digits + letters;
  if (label.includes("-")) add(features, "hyphen", 1);
  if (length <= 4) add(features, "length.short", 1);
  if (length >= 13) add(features, "length.long", 1);

  if (digits > 0 && letters === 0) {
    const bucket = digits <= 3 ? "1-3" : digits >= 8 ? "8+" : String(digits);
    add(features, `numeric.len${bucket}`, 1, "numeric-name");
    if (digits >= 5) add(features, `numeric.long.${tldGroup}`, 1, "numeric-name");
  } else if (digits > 0) {
    add(features, "mixed", 1, "letters+digits");
    add(features, "mixed.digitRatio", digits / length, "digit-heavy");
    // Joint buckets of letter and digit counts: "hg6859" (L2 D4) and "2175ky" look nothing like "news18" (L4-5 D2).
    const letterBucket = letters >= 6 ? "6+" : letters >= 4 ? "4-5" : String(letters);
    const digitBucket = digits >= 5 ? "5+" : String(digits);
    add(features, `mixed.L${letterBucket}D${digitBucket}`, 1, `shape:${letters}-letters-${digits}-digits`);
    const first = label[0] ?? "";
    if (first >= "0" && first <= "9") add(features, "mixed.digitsFirst", 1);
    if (digits >= 3 && letters <= 5) add(features, `mixed.code.${tldGroup}`, 1, "alphanumeric-code");
  }
  if (digits >= 2) {
    add(features, "digits.lucky", lucky / digits, "lucky-digits");
    add(features, "digits.repeat", repeats / (digits - 1), "repeated-digits");
  }

  if (letters > 0) {
    let unknownLetters = 0;
    const segments = analysis.segments;
    segments.forEach((segment, index) => {
      if (segment.kind === "unknown") unknownLetters += segment.text.length;
      if (segment.kind === "abbreviation")
        add(features, "abbreviation", 1, `pinyin-abbreviation:${segment.text}`);
      if (segment.kind === "unknown" && segment.text.length <= 4) {
        const nextToNumber =
          neighbour(segments, index, -1)?.kind === "number" ||
          neighbour(segments, index, 1)?.kind === "number";
        if (nextToNumber) add(features, "mixed.code", 1, "alphanumeric-code");
      }
    });
    add(features, "letters.unknown", unknownLetters / letters);
    const benignLetters = segments
      .filter((segment) => segment.kind === "benign" || segment.kind === "help")
      .reduce((sum, segment) => sum + segment.text.length, 0);
    add(features, "letters.benign", benignLetters / letters);
  }
}
