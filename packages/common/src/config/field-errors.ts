/**
 * Turns a ZodError into a flat list of field errors that an API response, a CLI or a log line
 * can show as is: `[{ path: "dns.redirect_url", message: "..." }]`.
 */
import type { z } from "zod";

export interface FieldError {
  /**
   * Where the problem is, written like a JavaScript accessor: `dns.redirect_url`,
   * `notify_accounts[1]`, `blocks_by_category["odd key"]`. The empty string means the value as a whole.
   */
  path: string;
  /** What is wrong, in words a person configuring BetBlocker understands. */
  message: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Formats a zod path (`["dns", "redirect_url"]`, `["notify_accounts", 1]`) as an accessor string. */
export function formatFieldPath(path: ReadonlyArray<PropertyKey>): string {
  let formatted = "";
  for (const segment of path) {
    if (typeof segment === "number") formatted += `[${segment}]`;
    else if (typeof segment === "string" && IDENTIFIER.test(segment)) {
      formatted += formatted === "" ? segment : `.${segment}`;
    } else formatted += `[${JSON.stringify(String(segment))}]`;
  }
  return formatted;
}

export interface FormatZodErrorOptions {
  /**
   * The value that was parsed. With it, a problem with a field that is absent from the input is
   * reported as "required field is missing" whatever the schema's own message for a wrong value
   * says; without it, zod's "received undefined" wording is the only hint.
   */
  input?: unknown;
}

/** Issue codes that, on an absent field, mean "missing" rather than "wrong". */
const MISSING_VALUE_CODES: ReadonlySet<string> = new Set(["invalid_type", "invalid_value", "invalid_union"]);

/**
 * One FieldError per problem, in zod's order. Two rewrites make zod's messages clearer: an
 * unknown key becomes an error on that key ("unknown field") rather than on its parent, and a
 * missing required field says so rather than "expected boolean, received undefined".
 */
export function formatZodError(error: z.ZodError, options: FormatZodErrorOptions = {}): FieldError[] {
  const hasInput = "input" in options;
  const fieldErrors: FieldError[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        fieldErrors.push({ path: formatFieldPath([...issue.path, key]), message: "unknown field" });
      }
      continue;
    }
    const isMissing = hasInput
      ? issue.path.length > 0 &&
        MISSING_VALUE_CODES.has(issue.code) &&
        valueAt(options.input, issue.path) === undefined
      : issue.code === "invalid_type" && issue.message.endsWith("received undefined");
    fieldErrors.push({
      path: formatFieldPath(issue.path),
      message: isMissing ? "required field is missing" : issue.message,
    });
  }
  return fieldErrors;
}

/** The value at a zod path inside an unknown input, or undefined when any step is absent. */
function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let current: unknown = input;
  for (const segment of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

/** The field errors as one line each, `path: message` (for logs and CLI output). */
export function describeFieldErrors(fieldErrors: ReadonlyArray<FieldError>): string {
  return fieldErrors.map((fieldError) => `${fieldError.path || "(value)"}: ${fieldError.message}`).join("\n");
}
