/**
 * classifyDomain: a 0-100 gambling score for a domain name, from the name alone (no network, no
 * list), with the reasons. Pure and deterministic; usable by the server worker and the device agent.
 */
import { domainToUnicode } from "node:url";
import { normalizeDomain } from "../domain/normalize";
import { extractFeatures, type Features } from "./features";
import { MODEL_BIAS, MODEL_WEIGHTS } from "./model";
import { splitName } from "./suffix";

export interface DomainClassification {
  /** 0-100 integer; higher means more likely a gambling site. */
  score: number;
  /** Human-readable reasons, strongest first ("token:casino", "tld:bet", "brand:bet365", "family:heji", "numeric-name"). */
  signals: string[];
}

/**
 * Thresholds on the score. A discovered name scoring >= autoAddThreshold becomes an active blocklist
 * entry automatically; >= reviewThreshold goes to the review queue. Chosen on the tune half of
 * popular-domains.txt by the rule in tools/eval/discovery.eval.ts (review: at most 0.1% of the tune
 * half flagged on fitted evidence alone; auto-add: at most one such name).
 */
export const DISCOVERY_DEFAULTS: Readonly<{ autoAddThreshold: number; reviewThreshold: number }> =
  Object.freeze({
    autoAddThreshold: 85,
    reviewThreshold: 53,
  });

/**
 * Weights set by hand, not fitted. The data cannot fit them honestly: most popular-list names carrying
 * such words are mislabeled gambling sites (togel, satta matka, ...bets), and many words (stavki,
 * scommesse, kasyno...) barely occur in the training list. The fit treats them as fixed offsets.
 */
export const FIXED_WEIGHTS: Readonly<Record<string, number>> = Object.freeze({
  "token.strong.clean": 14,
  "token.strong.glued": 11,
  "token.topic.clean": 10,
  "token.topic.glued": 7,
  "token.medium.clean": 3,
  "token.medium.glued": 2,
  brand: 14,
  "tld.gambling": 14,
  "unicode.strong": 12,
  /**
   * A name family learned from the list (families.ts). Not fitted: the stems come from the same train rows the
   * fit sees, so a fitted weight would be inflated. 8 puts a family name alone in review (about 70-80), and
   * below auto-add unless other evidence joins.
   */
  family: 8,
  help: -20,
  /** Value 0: only carries the "benign-word:better" explanation. */
  "benign-word": 0,
});

/**
 * The score is 100 * sigmoid(z - SCORE_SHIFT), z being the model's log-odds. The model is fitted with the
 * negative class weighted 3:1; the shift moves the midpoint (score 50) to odds of e^4 against that prior,
 * which spreads the scores over the range where the thresholds sit. It is a ranking, not a calibrated probability.
 */
export const SCORE_SHIFT = 4;

/** Signals whose feature pushed the score up by less than this are not listed. */
const MIN_LISTED_CONTRIBUTION = 0.25;
/** Signals that pulled the score down by more than this are listed, prefixed "against:". */
const MIN_LISTED_COUNTER_EVIDENCE = 1;

function featuresOfNormalized(ascii: string): Features {
  const unicode = ascii.includes("xn--") ? domainToUnicode(ascii) || ascii : ascii;
  return extractFeatures(unicode, splitName(ascii));
}

/** Domain features, for the evaluation tool's fitting mode and for debugging. Undefined for invalid names. */
export function domainFeatures(name: string): Features | undefined {
  const normalized = normalizeDomain(name);
  return normalized.ok ? featuresOfNormalized(normalized.domain) : undefined;
}

function weightOf(feature: string): number {
  return FIXED_WEIGHTS[feature] ?? MODEL_WEIGHTS[feature] ?? 0;
}

/**
 * Scores a domain name (any case, Unicode or punycode, optional trailing dot). Names that are not valid
 * domains (URLs, IP addresses, single labels, reserved names...) score 0 with an "invalid:<reason>" signal.
 */
export function classifyDomain(name: string): DomainClassification {
  if (typeof name !== "string") return { score: 0, signals: ["invalid:not a string"] };
  const normalized = normalizeDomain(name);
  if (!normalized.ok) return { score: 0, signals: [`invalid:${normalized.reason}`] };
  const features = featuresOfNormalized(normalized.domain);
  let z = MODEL_BIAS;
  const reasons: { signal: string; contribution: number }[] = [];
  for (const [feature, { value, signals }] of features) {
    const contribution = weightOf(feature) * value;
    z += contribution;
    for (const signal of signals) reasons.push({ signal, contribution });
  }
  const score = Math.round(100 / (1 + Math.exp(SCORE_SHIFT - z)));
  // Strongest reason first; ties by text, so the order depends on nothing but the name.
  reasons.sort(
    (a, b) => b.contribution - a.contribution || (a.signal < b.signal ? -1 : a.signal > b.signal ? 1 : 0),
  );
  const signals: string[] = [];
  const list = (signal: string): void => {
    if (!signals.includes(signal)) signals.push(signal);
  };
  for (const { signal, contribution } of reasons) if (contribution >= MIN_LISTED_CONTRIBUTION) list(signal);
  for (const { signal, contribution } of reasons) {
    if (signal.startsWith("benign-word:")) list(signal);
    else if (contribution <= -MIN_LISTED_COUNTER_EVIDENCE) list(`against:${signal}`);
  }
  return { score, signals };
}
