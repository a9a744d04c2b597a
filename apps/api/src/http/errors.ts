/**
 * The API's error contract: every error response is `{"error":{"code","message","details"?}}` with a stable
 * AppError code; the HTTP status comes from one table here, so domain code never deals with statuses.
 */
import { type AppErrorCode, isAppError } from "@betblocker/common/errors/app-error";
import { z } from "zod";

/** AppError code -> HTTP status. A Record over every code: adding a code without a status is a type error. */
export const HTTP_STATUS_BY_CODE: Record<AppErrorCode, number> = {
  VALIDATION_FAILED: 400,
  INVALID_DOMAIN: 400,
  BLOCKLIST_INVALID: 400,
  SIGNATURE_INVALID: 400,
  ENROLLMENT_CODE_INVALID: 400,
  UNAUTHENTICATED: 401,
  TOKEN_REUSED: 401,
  FORBIDDEN: 403,
  UNENROLL_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  FEATURE_DISABLED: 404,
  CONFLICT: 409,
  DELAY_NOT_ELAPSED: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  CONFIG_INVALID: 500,
  MIGRATION_FAILED: 500,
  UNSUPPORTED_OPERATION: 501,
  SERVICE_UNAVAILABLE: 503,
};

export const fieldErrorSchema = z.object({
  path: z.string().meta({ description: "Where: `email`, `items[2].domain`; empty for the body as a whole." }),
  message: z.string(),
});

export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z
        .string()
        .meta({ description: "Stable machine-readable code, e.g. VALIDATION_FAILED, RATE_LIMITED." }),
      message: z.string(),
      details: z.unknown().optional().meta({
        description:
          "VALIDATION_FAILED: {fieldErrors: [{path, message}]}; RATE_LIMITED: {retryAfterSeconds}.",
      }),
    }),
  })
  .meta({ id: "ErrorResponse", description: "Every error response has this shape." });

export type ErrorResponse = z.infer<typeof errorResponseSchema>;

export interface HttpError {
  status: number;
  body: ErrorResponse;
  headers: Record<string, string>;
  /** Unexpected: log with the stack. */
  internal: boolean;
}

/** Messages for Fastify's own 4xx errors (their texts are static, but ours read better and never change). */
const FRAMEWORK_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: "request body is not valid JSON",
  FST_ERR_CTP_EMPTY_JSON_BODY: "request body is empty but Content-Type is application/json",
  FST_ERR_CTP_BODY_TOO_LARGE: "request body is too large",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported Content-Type, send application/json",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "Content-Length does not match the body",
  FST_ERR_BAD_URL: "malformed URL",
};

interface FrameworkError {
  statusCode?: unknown;
  code?: unknown;
  message?: unknown;
}

function envelope(code: string, message: string, details?: unknown): ErrorResponse {
  return details === undefined ? { error: { code, message } } : { error: { code, message, details } };
}

/** Any thrown value -> status, body and headers. Unknown errors become INTERNAL without their message. */
export function toHttpError(error: unknown, requestId: string): HttpError {
  if (isAppError(error)) {
    const status = HTTP_STATUS_BY_CODE[error.code] ?? 500;
    if (status >= 500 && error.code !== "SERVICE_UNAVAILABLE" && error.code !== "UNSUPPORTED_OPERATION") {
      return internal(requestId);
    }
    const headers: Record<string, string> = {};
    const retryAfter = (error.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    if (error.code === "RATE_LIMITED" && typeof retryAfter === "number")
      headers["retry-after"] = String(retryAfter);
    if (status === 401) headers["www-authenticate"] = 'Bearer realm="betblocker"';
    return { status, body: envelope(error.code, error.message, error.details), headers, internal: false };
  }
  const framework = (error ?? {}) as FrameworkError;
  const status = typeof framework.statusCode === "number" ? framework.statusCode : 500;
  if (status >= 400 && status < 500) {
    const fstCode = typeof framework.code === "string" ? framework.code : "";
    const message =
      FRAMEWORK_MESSAGES[fstCode] ??
      (fstCode.startsWith("FST_") && typeof framework.message === "string"
        ? framework.message
        : "bad request");
    const code: AppErrorCode =
      status === 413
        ? "PAYLOAD_TOO_LARGE"
        : status === 404
          ? "NOT_FOUND"
          : status === 429
            ? "RATE_LIMITED"
            : "VALIDATION_FAILED";
    return { status, body: envelope(code, message), headers: {}, internal: false };
  }
  return internal(requestId);
}

function internal(requestId: string): HttpError {
  return {
    status: 500,
    body: envelope("INTERNAL", "internal error", { requestId }),
    headers: {},
    internal: true,
  };
}
