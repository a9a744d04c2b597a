/**
 * Domain-name normalization: the one place that decides what a valid blockable name is.
 *
 * Output contract (a "normalized domain"): lower-case ASCII, IDN labels in punycode (A-labels),
 * no trailing dot, at most 253 characters, labels of 1-63 letters/digits/hyphens that neither
 * start nor end with a hyphen, a top-level label that is not all-numeric, at least two labels
 * (unless single-label names are allowed), and not a reserved name such as localhost.
 * normalizeDomain(output) returns the same output (idempotent).
 *
 * One deliberate exception to the RFC 1123 host-name rules: labels below the top level may
 * contain "_". DNS itself allows it (RFC 2181 section 11), browsers resolve such hosts (the
 * WHATWG URL host parser accepts "_"), and real gambling hosts use it (the shared list has
 * "rr88_shortlink.rr88tino.workers.dev"). A blocker must be able to block every name a browser
 * can reach. Top-level labels stay strictly letters/digits/hyphen.
 */
import { isIP } from "node:net";
import { domainToASCII } from "node:url";

export type NormalizeDomainResult = { ok: true; domain: string } | { ok: false; reason: string };

export interface NormalizeDomainOptions {
  /** Accept names without a dot ("intranet"). Off by default: a blocklist entry for a TLD would block all of it. */
  allowSingleLabel?: boolean;
}

/** RFC 1035 section 2.3.4 allows 255 octets on the wire, which is 253 characters in text form without the trailing dot. */
export const MAX_DOMAIN_LENGTH = 253;
/** RFC 1035 section 2.3.4. */
export const MAX_DOMAIN_LABEL_LENGTH = 63;

/**
 * Input longer than this is rejected before IDNA processing so a hostile list line cannot make
 * us map megabytes of text. Generous because Unicode input shrinks or grows under IDNA.
 */
const MAX_INPUT_LENGTH = 1024;

/**
 * Names that resolve locally and must never reach the blocklist: exact names from RFC 6761
 * section 6.3 and the boilerplate lines of hosts files.
 */
export const RESERVED_HOST_NAMES: ReadonlySet<string> = new Set([
  "localhost",
  "localhost.localdomain",
  "local",
  "broadcasthost",
  "ip6-localhost",
  "ip6-loopback",
  "ip6-localnet",
  "ip6-mcastprefix",
  "ip6-allnodes",
  "ip6-allrouters",
  "ip6-allhosts",
]);

/**
 * Top-level labels whose whole subtree is reserved: localhost and invalid (RFC 6761 sections 6.3
 * and 6.4), local (multicast DNS, RFC 6762).
 */
const RESERVED_TOP_LEVEL_LABELS: ReadonlySet<string> = new Set(["localhost", "invalid", "local"]);

/** Letters, digits, hyphen (RFC 1123 section 2.1), plus "_" below the top level (see the header). */
const LABEL_CHARACTERS = /^[a-z0-9_-]+$/;
const TOP_LEVEL_LABEL_CHARACTERS = /^[a-z0-9-]+$/;
const ALL_DIGITS = /^[0-9]+$/;
/** The WHATWG URL host parser reads a last label like "0x1f" as an IPv4 number; such a name is not a domain. */
const HEX_NUMBER = /^0x[0-9a-f]*$/i;
const ASCII_DOMAIN_CHARACTER = /^[A-Za-z0-9._-]$/;

/** True for names that must never be blocked or imported (localhost, *.local, broadcasthost...). Expects lower case. */
export function isReservedName(name: string): boolean {
  if (RESERVED_HOST_NAMES.has(name)) return true;
  const topLevelLabel = name.slice(name.lastIndexOf(".") + 1);
  return name.includes(".") && RESERVED_TOP_LEVEL_LABELS.has(topLevelLabel);
}

/**
 * Normalizes a user- or list-supplied name to the output contract above, or says in a few words
 * why it is not a domain.
 *
 * Steps: trim; strip one trailing dot (the root label, RFC 1034 section 3.1); reject IP
 * addresses; reject ASCII characters outside letters/digits/hyphen/underscore/dot (checked after
 * NFKC too, so full-width look-alikes such as U+FF0F "／" are caught); IDNA-map to ASCII per UTS #46
 * (node:url domainToASCII, which also lower-cases); then the RFC 1035 / RFC 1123 section 2.1 rules.
 */
export function normalizeDomain(input: string, options: NormalizeDomainOptions = {}): NormalizeDomainResult {
  let name = input.trim();
  if (name === "") return reject("empty name");
  if (name.length > MAX_INPUT_LENGTH) return reject(`longer than ${MAX_DOMAIN_LENGTH} characters`);
  if (name.endsWith(".")) name = name.slice(0, -1);
  if (name === "") return reject("empty name (only the root dot)");

  const unbracketed = name.startsWith("[") && name.endsWith("]") ? name.slice(1, -1) : name;
  if (isIP(unbracketed) !== 0) return reject("IP address, not a domain");

  const badCharacter = findInvalidCharacter(name);
  if (badCharacter !== undefined) return reject(`invalid character ${describeCharacter(badCharacter)}`);

  // Decided before IDNA because the WHATWG host parser behind domainToASCII would read such names
  // as IPv4 addresses ("127.1" -> "127.0.0.1") instead of failing.
  const asciiLabels = name.toLowerCase().split(".");
  const lastLabel = asciiLabels[asciiLabels.length - 1] ?? "";
  if (asciiLabels.every((label) => ALL_DIGITS.test(label))) return reject("IP address, not a domain");
  if (ALL_DIGITS.test(lastLabel) || HEX_NUMBER.test(lastLabel))
    return reject("top-level label is all-numeric");

  const ascii = domainToASCII(name);
  if (ascii === "") return reject(describeIdnaFailure(name));
  const ruleViolation = checkNormalizedName(ascii, options);
  if (ruleViolation !== undefined) return reject(ruleViolation);
  return { ok: true, domain: ascii };
}

/**
 * Checks an already lower-case ASCII name against the output contract and returns the first
 * violated rule, or undefined when it satisfies them. It does not decode A-labels, so a
 * malformed "xn--" label passes; isNormalizedDomain is the complete check.
 */
export function checkNormalizedName(name: string, options: NormalizeDomainOptions = {}): string | undefined {
  if (name.length > MAX_DOMAIN_LENGTH) return `longer than ${MAX_DOMAIN_LENGTH} characters`;
  const labels = name.split(".");
  const topLevelIndex = labels.length - 1;
  for (const [index, label] of labels.entries()) {
    if (label === "") return "empty label";
    if (label.length > MAX_DOMAIN_LABEL_LENGTH)
      return `label longer than ${MAX_DOMAIN_LABEL_LENGTH} characters`;
    const allowed = index === topLevelIndex ? TOP_LEVEL_LABEL_CHARACTERS : LABEL_CHARACTERS;
    if (!allowed.test(label)) {
      const badCharacter = [...label].find((character) => !allowed.test(character)) ?? label;
      const where = index === topLevelIndex && badCharacter === "_" ? " in top-level label" : "";
      return `invalid character ${describeCharacter(badCharacter)}${where}`;
    }
    if (label.startsWith("-") || label.endsWith("-")) return `label '${label}' starts or ends with a hyphen`;
  }
  const topLevelLabel = labels[topLevelIndex] ?? "";
  // RFC 1123 section 2.1 / RFC 3696 section 2: a TLD is never all-numeric, so such a name would be read as an address.
  if (ALL_DIGITS.test(topLevelLabel)) return "top-level label is all-numeric";
  if (isReservedName(name)) return "reserved name";
  if (labels.length === 1 && !options.allowSingleLabel) return "single-label name (no dot)";
  return undefined;
}

/** True when `name` is a normalized domain already (normalizing it would not change it). */
export function isNormalizedDomain(name: string, options: NormalizeDomainOptions = {}): boolean {
  const result = normalizeDomain(name, options);
  return result.ok && result.domain === name;
}

/**
 * True when `name` lies strictly below `parent` in the DNS tree ("a.b.example.com" is a subdomain
 * of "example.com"; "example.com" is not a subdomain of itself, and "badexample.com" is not one of
 * "example.com"). Both arguments must be normalized domains.
 */
export function isSubdomainOf(name: string, parent: string): boolean {
  return (
    name.length > parent.length + 1 && name.endsWith(parent) && name[name.length - parent.length - 1] === "."
  );
}

/** True when `name` equals `parent` or lies below it. Both arguments must be normalized domains. */
export function isSameOrSubdomainOf(name: string, parent: string): boolean {
  return name === parent || isSubdomainOf(name, parent);
}

function reject(reason: string): NormalizeDomainResult {
  return { ok: false, reason };
}

/**
 * Returns the first character that is, or maps under NFKC to, an ASCII character not allowed in a
 * host name. Non-ASCII characters are otherwise left to IDNA, which accepts or refuses them.
 */
function findInvalidCharacter(name: string): string | undefined {
  for (const character of name) {
    const code = character.codePointAt(0) ?? 0;
    if (code < 0x80) {
      if (!ASCII_DOMAIN_CHARACTER.test(character)) return character;
      continue;
    }
    for (const mapped of character.normalize("NFKC")) {
      if ((mapped.codePointAt(0) ?? 0) < 0x80 && !ASCII_DOMAIN_CHARACTER.test(mapped)) return character;
    }
  }
  return undefined;
}

function describeCharacter(character: string): string {
  const code = character.codePointAt(0) ?? 0;
  // A plain space reads fine quoted; other whitespace and control characters are shown by code point.
  const printable = character === " " || (code > 0x20 && code !== 0x7f && !/\s/.test(character));
  return printable ? `'${character}'` : `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

function describeIdnaFailure(name: string): string {
  // For pure ASCII input the only thing UTS #46 can refuse is a malformed A-label (RFC 5891 section 4.4).
  if (/^[\x20-\x7e]*$/.test(name)) {
    const badLabel = name
      .toLowerCase()
      .split(".")
      .find((label) => label.startsWith("xn--") && domainToASCII(label) === "");
    if (badLabel !== undefined) return `invalid punycode label '${badLabel}'`;
  }
  return "not a valid internationalized domain name (UTS #46)";
}
