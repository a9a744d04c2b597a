/**
 * "domains" lists: one name per line, `#` starts a comment (whole line or after the name).
 *
 *     # Casinos
 *     example-casino.com
 *     *.example-bet.net      # wildcard
 *     casino*.example.org    # pattern
 */
import { isIP } from "node:net";
import { classifyRuleValue, type ListLineOutcome, outcomeFor, rejectLine, skipLine } from "./list-rule";

export function parseDomainsLine(text: string, lineNumber: number): ListLineOutcome[] {
  const content = stripHashComment(text).trim();
  if (content === "") return [skipLine(lineNumber)];
  const tokens = content.split(/\s+/);
  if (tokens.length > 1) {
    const reason = isIP(tokens[0] ?? "")
      ? "looks like a hosts-file line (import it as format hosts)"
      : "more than one name on the line";
    return [rejectLine(lineNumber, reason, content)];
  }
  return [outcomeFor(classifyRuleValue(content), lineNumber, content)];
}

/** Drops everything from the first "#": no valid name or pattern contains one. */
export function stripHashComment(text: string): string {
  const hash = text.indexOf("#");
  return hash === -1 ? text : text.slice(0, hash);
}
