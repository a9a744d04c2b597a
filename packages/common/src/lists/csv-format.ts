/**
 * CSV lists (RFC 4180): the first non-blank, non-comment line is the header; columns are found by
 * name, case-insensitively. `domain` is required, `category` optional, other columns are ignored.
 *
 *     domain,category,source
 *     example-casino.com,casino,hostsvn
 *     "*.example-bet.net","Sports Betting",manual
 *
 * Lines are parsed one at a time, so a quoted field cannot span lines (such a line is rejected).
 * Lines starting with "#" are skipped as comments (not RFC 4180, but harmless: no name starts with "#").
 */
import { normalizeCategory } from "../domain/category";
import { classifyRuleValue, type ListLineOutcome, outcomeFor, rejectLine, skipLine } from "./list-rule";

export type SplitCsvRecordResult = { ok: true; fields: string[] } | { ok: false; reason: string };

/**
 * Splits one CSV record into fields. Quoted fields may contain commas and doubled quotes ("");
 * whitespace around a field is kept (callers trim), except before an opening quote.
 */
export function splitCsvRecord(record: string): SplitCsvRecordResult {
  const fields: string[] = [];
  let position = 0;
  for (;;) {
    let cursor = position;
    while (record[cursor] === " " || record[cursor] === "\t") cursor++;
    if (record[cursor] === '"') {
      let value = "";
      let scan = cursor + 1;
      for (;;) {
        const closing = record.indexOf('"', scan);
        if (closing === -1) {
          return { ok: false, reason: "unterminated quoted field (fields spanning lines are not supported)" };
        }
        value += record.slice(scan, closing);
        if (record[closing + 1] === '"') {
          value += '"';
          scan = closing + 2;
          continue;
        }
        scan = closing + 1;
        break;
      }
      while (record[scan] === " " || record[scan] === "\t") scan++;
      fields.push(value);
      if (scan === record.length) return { ok: true, fields };
      if (record[scan] !== ",") return { ok: false, reason: "unexpected text after a closing quote" };
      position = scan + 1;
      continue;
    }
    const comma = record.indexOf(",", position);
    if (comma === -1) {
      fields.push(record.slice(position));
      return { ok: true, fields };
    }
    fields.push(record.slice(position, comma));
    position = comma + 1;
  }
}

interface CsvColumns {
  domainIndex: number;
  categoryIndex: number | undefined;
}

/** Parses a CSV list line by line; holds the header it has seen. */
export class CsvListParser {
  readonly format = "csv";
  private columns: CsvColumns | undefined;
  /** Set when the header line was unusable: every later line is rejected with it. */
  private headerProblem: string | undefined;

  line(text: string, lineNumber: number): ListLineOutcome[] {
    const content = text.trim();
    if (content === "" || content.startsWith("#")) return [skipLine(lineNumber)];
    if (this.headerProblem !== undefined) {
      return [rejectLine(lineNumber, `no usable CSV header (${this.headerProblem})`, content)];
    }
    const split = splitCsvRecord(content);
    if (this.columns === undefined) return this.readHeader(split, lineNumber, content);
    if (!split.ok) return [rejectLine(lineNumber, split.reason, content)];

    const { domainIndex, categoryIndex } = this.columns;
    const domain = split.fields[domainIndex]?.trim();
    if (domain === undefined) {
      return [rejectLine(lineNumber, `row has ${split.fields.length} fields, no domain column`, content)];
    }
    if (domain === "") return [rejectLine(lineNumber, "empty domain", content)];
    const category = normalizeCategory(
      categoryIndex === undefined ? "" : (split.fields[categoryIndex] ?? ""),
    );
    if (!category.ok) return [rejectLine(lineNumber, category.reason, content)];
    return [outcomeFor(classifyRuleValue(domain), lineNumber, content, category.category)];
  }

  private readHeader(split: SplitCsvRecordResult, lineNumber: number, content: string): ListLineOutcome[] {
    if (!split.ok) {
      this.headerProblem = `line ${lineNumber}: ${split.reason}`;
      return [rejectLine(lineNumber, `CSV header: ${split.reason}`, content)];
    }
    const names = split.fields.map((name) => name.trim().toLowerCase());
    const domainIndex = names.indexOf("domain");
    if (domainIndex === -1) {
      this.headerProblem = `line ${lineNumber} has no 'domain' column`;
      return [rejectLine(lineNumber, "CSV header has no 'domain' column", content)];
    }
    const categoryIndex = names.indexOf("category");
    this.columns = { domainIndex, categoryIndex: categoryIndex === -1 ? undefined : categoryIndex };
    return [skipLine(lineNumber)];
  }
}
