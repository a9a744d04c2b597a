/**
 * Entry points of the list parsers: pure functions over text, no I/O. An importer streams a file
 * line by line into `createListParser(format).line(text, lineNumber)`; small inputs (tests, the
 * shipped help-resource list) can use `parseList(format, text)`.
 */
import { parseAdblockLine } from "./adblock-format";
import { CsvListParser } from "./csv-format";
import { parseDomainsLine } from "./domains-format";
import { parseHostsLine } from "./hosts-format";
import {
  type ListEntry,
  type ListFormat,
  type ListLineOutcome,
  type ListReject,
  rejectLine,
  type StatelessListFormat,
} from "./list-rule";

/** Longer lines are garbage (a binary file, a minified page), not list entries; refused before any parsing. */
export const MAX_LIST_LINE_LENGTH = 4096;

export interface ListParser {
  readonly format: ListFormat;
  /**
   * Parses one line; `lineNumber` is 1-based and is copied into every outcome. A trailing "\r"
   * (CRLF files) and a leading byte-order mark are ignored. Never throws on bad input.
   */
  line(text: string, lineNumber: number): ListLineOutcome[];
}

const STATELESS_LINE_PARSERS: Record<
  StatelessListFormat,
  (text: string, lineNumber: number) => ListLineOutcome[]
> = {
  domains: parseDomainsLine,
  hosts: parseHostsLine,
  adblock: parseAdblockLine,
};

/** Parses one line of a format that needs no context (CSV needs its header: use createListParser). */
export function parseListLine(
  format: StatelessListFormat,
  text: string,
  lineNumber: number,
): ListLineOutcome[] {
  const cleaned = cleanLine(text);
  if (cleaned.length > MAX_LIST_LINE_LENGTH) return [tooLong(cleaned, lineNumber)];
  return STATELESS_LINE_PARSERS[format](cleaned, lineNumber);
}

/** A line parser for the format; for CSV it remembers the header line. Use one parser per file. */
export function createListParser(format: ListFormat): ListParser {
  if (format === "csv") {
    const csv = new CsvListParser();
    return {
      format,
      line(text, lineNumber) {
        const cleaned = cleanLine(text);
        if (cleaned.length > MAX_LIST_LINE_LENGTH) return [tooLong(cleaned, lineNumber)];
        return csv.line(cleaned, lineNumber);
      },
    };
  }
  return { format, line: (text, lineNumber) => parseListLine(format, text, lineNumber) };
}

export interface ParsedList {
  entries: ListEntry[];
  rejects: ListReject[];
  /** Number of skip outcomes (blank, comment, header and boilerplate lines). */
  skipped: number;
}

/** Parses a whole list held in memory. Lines end with "\n", "\r\n" or "\r". */
export function parseList(format: ListFormat, text: string): ParsedList {
  const parser = createListParser(format);
  const parsed: ParsedList = { entries: [], rejects: [], skipped: 0 };
  const lines = text.split(/\r\n|\n|\r/);
  // A final newline ends the last line; it does not start an empty one.
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  for (const [index, line] of lines.entries()) {
    for (const outcome of parser.line(line, index + 1)) {
      if (outcome.kind === "entry") parsed.entries.push(outcome);
      else if (outcome.kind === "reject") parsed.rejects.push(outcome);
      else parsed.skipped++;
    }
  }
  return parsed;
}

function cleanLine(text: string): string {
  const withoutBom = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return withoutBom.endsWith("\r") ? withoutBom.slice(0, -1) : withoutBom;
}

function tooLong(text: string, lineNumber: number): ListReject {
  return rejectLine(lineNumber, `line longer than ${MAX_LIST_LINE_LENGTH} characters`, text);
}
