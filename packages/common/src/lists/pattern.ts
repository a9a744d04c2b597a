/**
 * Syntax check for pattern rules on import: blocklist values containing "*" or "?" anywhere other
 * than a leading "*." (which is a wildcard rule, see list-rule.ts). What the wildcards match is the
 * matcher's business (blocklist/pattern.ts); this decides whether a list line's pattern is
 * well-formed and narrow enough, with a reason a curator can act on, instead of throwing.
 *
 * Contract: every pattern accepted here also passes the blocklist compiler's own validatePattern
 * (same charset, length limit and literal minimum, plus the checks below), so an import can never
 * produce a rule that fails to compile.
 */
import { MAX_PATTERN_LENGTH, MIN_PATTERN_LITERALS } from "../blocklist/pattern";

export type ValidateListPatternResult = { ok: true; pattern: string } | { ok: false; reason: string };

/**
 * Letters, digits, hyphen, dot and the two wildcards: the compiler's charset. Unlike domains,
 * no "_" (the compiler refuses it in patterns). Non-ASCII must be written as punycode (xn--).
 */
const PATTERN_CHARACTER = /[a-z0-9.*?-]/;

/** Lower-cases and checks a pattern; the reason names the first problem. */
export function validateListPattern(input: string): ValidateListPatternResult {
  const pattern = input.trim().toLowerCase();
  if (pattern === "") return { ok: false, reason: "empty pattern" };
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return { ok: false, reason: `pattern longer than ${MAX_PATTERN_LENGTH} characters` };
  }
  for (const character of pattern) {
    if (!PATTERN_CHARACTER.test(character)) {
      return { ok: false, reason: `invalid character '${character}' in pattern` };
    }
  }
  if (!/[*?]/.test(pattern)) return { ok: false, reason: "not a pattern (no '*' or '?')" };
  if (pattern.startsWith(".") || pattern.endsWith(".") || pattern.includes("..")) {
    return { ok: false, reason: "empty label in pattern" };
  }
  // A literal minimum stops "*bet*" (3), which would block alphabet.com and betterhelp.com.
  const literalCount = pattern.replace(/[^a-z0-9]/g, "").length;
  if (literalCount < MIN_PATTERN_LITERALS) {
    return {
      ok: false,
      reason: `pattern too broad: needs at least ${MIN_PATTERN_LITERALS} literal letters or digits`,
    };
  }
  return { ok: true, pattern };
}
