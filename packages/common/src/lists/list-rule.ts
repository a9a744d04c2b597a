/**
 * What a list parser produces for each line, and the one classifier every format uses to turn a
 * value into a rule.
 *
 * A rule's `value` is what goes into blocklist_entries.domain:
 * - domain:   a normalized domain ("example.com"); the matcher also blocks its subdomains.
 * - wildcard: "*." + a normalized domain ("*.example.com").
 * - pattern:  a lower-case glob with "*" / "?" elsewhere ("casino*.com"), see pattern.ts.
 */
import { normalizeDomain } from "../domain/normalize";
import { validateListPattern } from "./pattern";

export const LIST_FORMAT_VALUES = ["csv", "domains", "hosts", "adblock"] as const;
/** The import formats: CSV with a header, one domain per line, hosts file, adblock filter list. */
export type ListFormat = (typeof LIST_FORMAT_VALUES)[number];
/** Formats whose lines can be parsed without context (CSV needs its header line first). */
export type StatelessListFormat = Exclude<ListFormat, "csv">;

export type ListRuleType = "domain" | "wildcard" | "pattern";

export interface ListRule {
  type: ListRuleType;
  value: string;
  /** Normalized category (domain/category.ts); only CSV lists carry one. */
  category?: string;
}

/** A line (or, on a hosts line, one of its names) that yields a rule. */
export interface ListEntry {
  kind: "entry";
  line: number;
  rule: ListRule;
}

/** A line with nothing to import: blank, comment, header, hosts boilerplate. */
export interface ListSkip {
  kind: "skip";
  line: number;
}

/** A line (or one name of a hosts line) that cannot be imported, and why. */
export interface ListReject {
  kind: "reject";
  line: number;
  reason: string;
  /** The rejected text: the line, or the one name of a multi-name hosts line; cut to 200 characters. */
  text: string;
}

/**
 * Every line yields at least one outcome: exactly one skip, or one entry/reject per rule it holds
 * (a hosts line can name several hosts). A malformed line never throws.
 */
export type ListLineOutcome = ListEntry | ListSkip | ListReject;

export type ClassifyRuleResult = { ok: true; rule: ListRule } | { ok: false; reason: string };

const MAX_REJECTED_TEXT_LENGTH = 200;

/**
 * Classifies a list value: a leading "*." with no other wildcard is a wildcard rule over the rest;
 * any other "*" or "?" makes a pattern; everything else must be a domain.
 */
export function classifyRuleValue(value: string): ClassifyRuleResult {
  if (value.startsWith("*.") && !/[*?]/.test(value.slice(2))) {
    const base = normalizeDomain(value.slice(2), { allowSingleLabel: true });
    if (!base.ok) return { ok: false, reason: `wildcard: ${base.reason}` };
    // No public-suffix list here: "*.co.uk" passes, and curation has to catch it.
    if (!base.domain.includes(".")) {
      return { ok: false, reason: "wildcard over a top-level domain would block all of it" };
    }
    return { ok: true, rule: { type: "wildcard", value: `*.${base.domain}` } };
  }
  if (/[*?]/.test(value)) {
    const pattern = validateListPattern(value);
    return pattern.ok ? { ok: true, rule: { type: "pattern", value: pattern.pattern } } : pattern;
  }
  const domain = normalizeDomain(value);
  return domain.ok ? { ok: true, rule: { type: "domain", value: domain.domain } } : domain;
}

/** The outcome for one classified value on a line. */
export function outcomeFor(
  result: ClassifyRuleResult,
  line: number,
  text: string,
  category?: string,
): ListEntry | ListReject {
  if (!result.ok) return rejectLine(line, result.reason, text);
  const rule = category === undefined ? result.rule : { ...result.rule, category };
  return { kind: "entry", line, rule };
}

export function rejectLine(line: number, reason: string, text: string): ListReject {
  const shown = text.length > MAX_REJECTED_TEXT_LENGTH ? `${text.slice(0, MAX_REJECTED_TEXT_LENGTH)}…` : text;
  return { kind: "reject", line, reason, text: shown };
}

export function skipLine(line: number): ListSkip {
  return { kind: "skip", line };
}
