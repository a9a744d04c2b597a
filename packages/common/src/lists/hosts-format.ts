/**
 * Hosts-file lists (hosts(5)): an address, then one or more names; `#` starts a comment.
 *
 *     0.0.0.0 example-casino.com www.example-casino.com
 *     127.0.0.1 example-bet.net   # comment
 *     ::1 example-poker.org
 *
 * Only lines mapping names to a blocking address are imported. The usual boilerplate
 * (`127.0.0.1 localhost`, `::1 ip6-localhost ip6-loopback`, `255.255.255.255 broadcasthost`...)
 * is skipped. Hosts files cannot express wildcards, so "*" on a hosts line is an error.
 */
import { isIP } from "node:net";
import { RESERVED_HOST_NAMES } from "../domain/normalize";
import { stripHashComment } from "./domains-format";
import { classifyRuleValue, type ListLineOutcome, outcomeFor, rejectLine, skipLine } from "./list-rule";

/** Addresses that mean "this name goes nowhere": the unspecified and loopback addresses, v4 and v6. */
const BLOCKING_ADDRESSES: ReadonlySet<string> = new Set([
  "0.0.0.0",
  "127.0.0.1",
  "::",
  "::1",
  "0:0:0:0:0:0:0:0",
  "0:0:0:0:0:0:0:1",
]);

function isBoilerplateName(name: string): boolean {
  const lowerCaseName = name.toLowerCase();
  return RESERVED_HOST_NAMES.has(lowerCaseName) || isIP(lowerCaseName) !== 0;
}

export function parseHostsLine(text: string, lineNumber: number): ListLineOutcome[] {
  const content = stripHashComment(text).trim();
  if (content === "") return [skipLine(lineNumber)];
  const [address = "", ...names] = content.split(/\s+/);
  // A zone index ("fe80::1%lo0") is legal in hosts files but not for isIP.
  if (isIP(address.replace(/%.*$/, "")) === 0) {
    return [rejectLine(lineNumber, "line does not start with an IP address", content)];
  }
  if (names.length === 0) return [rejectLine(lineNumber, "no host name after the address", content)];
  if (names.every(isBoilerplateName)) return [skipLine(lineNumber)];
  if (!BLOCKING_ADDRESSES.has(address.toLowerCase())) {
    return [
      rejectLine(
        lineNumber,
        `maps names to ${address}, not to a blocking address (0.0.0.0, 127.0.0.1, ::, ::1)`,
        content,
      ),
    ];
  }
  const outcomes: ListLineOutcome[] = [];
  for (const name of names) {
    if (isBoilerplateName(name)) continue;
    if (/[*?]/.test(name)) {
      outcomes.push(rejectLine(lineNumber, "wildcards are not valid in a hosts file", name));
      continue;
    }
    outcomes.push(outcomeFor(classifyRuleValue(name), lineNumber, name));
  }
  return outcomes;
}
