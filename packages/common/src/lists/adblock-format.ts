/**
 * Adblock-style filter lists (Adblock Plus / AdGuard syntax), reduced to what DNS blocking can
 * enforce: host-name rules.
 *
 *     [Adblock Plus 2.0]        header, skipped
 *     ! comment                 skipped
 *     ||example.com^            domain example.com (and its subdomains)
 *     ||*.example.com^          wildcard *.example.com
 *     ||casino*.example^        pattern
 *     example.com               a bare name: imported as a domain
 *
 * Everything else is rejected with a reason: exception rules (`@@`; the allowlist is curated,
 * never imported), rules with `$` options, cosmetic rules (`##`, `#@#`, `#?#`, `#$#`...),
 * regular expressions, and rules with a path, since a DNS resolver never sees URLs.
 */
import { classifyRuleValue, type ListLineOutcome, outcomeFor, rejectLine, skipLine } from "./list-rule";

/** Element-hiding, CSS, scriptlet and HTML-filtering markers: `##`, `#@#`, `#?#`, `#$#`, `#%#`, `#@?#`..., `$$`. */
const COSMETIC_MARKER = /#@?[?$%]?#|\$\$/;
/** `||host` then what follows the host: nothing, "^", "^|", or something else (a path, a port...). */
const DOMAIN_ANCHORED_RULE = /^\|\|([^^/|:]*)(.*)$/;

export function parseAdblockLine(text: string, lineNumber: number): ListLineOutcome[] {
  const rule = text.trim();
  if (rule === "" || rule.startsWith("!")) return [skipLine(lineNumber)];
  if (rule.startsWith("[") && rule.endsWith("]")) return [skipLine(lineNumber)];
  const reject = (reason: string): ListLineOutcome[] => [rejectLine(lineNumber, reason, rule)];

  if (rule.startsWith("@@")) return reject("exception rules are not imported (allowlist is curated)");
  if (COSMETIC_MARKER.test(rule)) return reject("cosmetic (element-hiding) rules are not imported");
  // A hosts-style comment; checked after the cosmetic markers because "##..." also starts with "#".
  if (rule.startsWith("#")) return [skipLine(lineNumber)];
  if (rule.length > 1 && rule.startsWith("/") && rule.endsWith("/")) {
    return reject("regular-expression rules are not imported");
  }
  const optionsStart = rule.indexOf("$");
  if (optionsStart !== -1) {
    return reject(`rules with $ options are not imported (${rule.slice(optionsStart)})`);
  }

  const anchored = DOMAIN_ANCHORED_RULE.exec(rule);
  if (anchored !== null) {
    const host = anchored[1] ?? "";
    const rest = anchored[2] ?? "";
    if (rest === "") return reject("rule has no '^' separator, so it matches name prefixes, not a domain");
    if (rest !== "^" && rest !== "^|") {
      if (rest.startsWith(":")) return reject("rules with a port are not imported");
      return reject("rules with a path are not imported (DNS blocking sees host names only)");
    }
    if (host === "") return reject("empty host name");
    return [outcomeFor(classifyRuleValue(host), lineNumber, rule)];
  }

  if (rule.startsWith("|")) return reject("address-anchored rules (|...) are not imported");
  if (rule.includes("/"))
    return reject("rules with a path are not imported (DNS blocking sees host names only)");
  if (/\s/.test(rule)) return reject("not an adblock rule (contains whitespace)");
  // A bare name matches as a substring in browsers; DNS blocking narrows it to that domain.
  const bareName = rule.endsWith("^") ? rule.slice(0, -1) : rule;
  return [outcomeFor(classifyRuleValue(bareName), lineNumber, rule)];
}
