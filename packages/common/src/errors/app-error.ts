/**
 * The one error type domain code throws. It carries a stable string code and no HTTP status:
 * services run in the API, the worker, the CLI and the agent alike, so the mapping from code to
 * HTTP status lives in one table inside the API's error handler.
 *
 * Codes are a public contract (the API returns them as `error.code`): add new ones, never rename
 * or reuse one.
 */
import type { z } from "zod";
import { type FieldError, formatZodError } from "../config/field-errors";

export const APP_ERROR_CODES = [
  /** Input does not match its schema; details: ValidationErrorDetails. */
  "VALIDATION_FAILED",
  /** The thing asked for does not exist, or the caller may not know that it exists. */
  "NOT_FOUND",
  /** No valid credentials (missing, malformed or expired access token, unknown device certificate). */
  "UNAUTHENTICATED",
  /** Authenticated, but not allowed to do this. */
  "FORBIDDEN",
  /** The request conflicts with the current state (duplicate, concurrent change, wrong lifecycle state). */
  "CONFLICT",
  /** Too many requests; details may say when to retry. */
  "RATE_LIMITED",
  /** A name is not a valid domain (see domain/normalize.ts for the rules). */
  "INVALID_DOMAIN",
  /** A blocklist file or delta cannot be decoded, or its version chain is broken. */
  "BLOCKLIST_INVALID",
  /** An Ed25519 signature does not verify. For an agent this is a tamper event, never a silent fallback. */
  "SIGNATURE_INVALID",
  /** A database migration failed; the database is left at the last migration that succeeded. */
  "MIGRATION_FAILED",
  /** Service configuration (TOML / environment) or a stored JSONB config is invalid. */
  "CONFIG_INVALID",
  /** The enrollment's unenrollment policy does not allow this request (user may not request, minimum not reached). */
  "UNENROLL_NOT_ALLOWED",
  /** The mandatory self-tier delay before unenrollment has not elapsed yet. */
  "DELAY_NOT_ELAPSED",
  /** A refresh token was presented again after rotation; the whole token family is revoked. */
  "TOKEN_REUSED",
  /** A one-time device enrollment code is unknown, used or expired. */
  "ENROLLMENT_CODE_INVALID",
  /** A request or upload exceeds a size limit. */
  "PAYLOAD_TOO_LARGE",
  /** The feature is not available in this deployment (e.g. billing when self-hosted). */
  "FEATURE_DISABLED",
  /** The operation is not implemented on this platform (PlatformBridge `unsupported(op)`). */
  "UNSUPPORTED_OPERATION",
  /** A dependency (database, resolver, upstream) is unavailable; retrying later may succeed. */
  "SERVICE_UNAVAILABLE",
  /** A bug or an unexpected failure; details never reach the client. */
  "INTERNAL",
] as const;

export type AppErrorCode = (typeof APP_ERROR_CODES)[number];

/** `details` of a VALIDATION_FAILED error. */
export interface ValidationErrorDetails {
  fieldErrors: FieldError[];
}

const APP_ERROR_CODE_SET: ReadonlySet<string> = new Set(APP_ERROR_CODES);

export class AppError extends Error {
  override readonly name = "AppError";
  readonly code: AppErrorCode;
  /** Machine-readable context for the caller (field errors, a retry time...). Must be safe to show the caller. */
  readonly details?: unknown;

  constructor(code: AppErrorCode, message: string, details?: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    if (details !== undefined) this.details = details;
  }

  /** The shape of the API error body's `error` member: `{ code, message, details? }`. */
  toJSON(): { code: AppErrorCode; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isAppErrorCode(value: unknown): value is AppErrorCode {
  return typeof value === "string" && APP_ERROR_CODE_SET.has(value);
}

/**
 * True for an AppError, optionally with the given code. Also recognizes an AppError from another
 * copy of this module (two bundled versions, a worker thread) by its name and a known code.
 */
export function isAppError(value: unknown, code?: AppErrorCode): value is AppError {
  const isOne =
    value instanceof AppError ||
    (value instanceof Error &&
      value.name === "AppError" &&
      isAppErrorCode((value as { code?: unknown }).code));
  return isOne && (code === undefined || (value as AppError).code === code);
}

export interface ValidationErrorOptions {
  /** What was being validated, for the message: "invalid protection_config: ...". Default "input". */
  subject?: string;
  /** The parsed value, so absent fields are reported as missing (see formatZodError). */
  input?: unknown;
}

/**
 * VALIDATION_FAILED with one field error per problem found by zod. The message names the first
 * problem too, so a log line that drops `details` still says what was wrong.
 */
export function validationError(error: z.ZodError, options: ValidationErrorOptions = {}): AppError {
  const fieldErrors = formatZodError(error, "input" in options ? { input: options.input } : {});
  const first = fieldErrors[0];
  const summary = first === undefined ? "" : `: ${first.path || "(value)"}: ${first.message}`;
  const more = fieldErrors.length > 1 ? ` (and ${fieldErrors.length - 1} more)` : "";
  const details: ValidationErrorDetails = { fieldErrors };
  return new AppError(
    "VALIDATION_FAILED",
    `invalid ${options.subject ?? "input"}${summary}${more}`,
    details,
    {
      cause: error,
    },
  );
}

/** The field errors of a VALIDATION_FAILED AppError, or undefined for anything else. */
export function fieldErrorsOf(error: unknown): FieldError[] | undefined {
  if (!isAppError(error, "VALIDATION_FAILED")) return undefined;
  const details = error.details as Partial<ValidationErrorDetails> | undefined;
  return Array.isArray(details?.fieldErrors) ? details.fieldErrors : undefined;
}
