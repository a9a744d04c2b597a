/**
 * Opaque pagination cursors: base64url of a small JSON value naming a position in a list's total order.
 * Clients must pass `next_cursor` back unchanged; anything else is a validation error, never a database error.
 *
 * `cursorSchema(shape)` is a zod schema that takes the cursor string and yields the decoded position, so a
 * route can use it in its querystring schema (bad cursors then become a field error on `query.cursor`);
 * `encodeCursor` is its inverse. Positions are validated completely here: every value that reaches SQL has a
 * shape PostgreSQL accepts (no cast can fail on a crafted cursor).
 */
import { z } from "zod";

/** Far above any real cursor; bounds the work a crafted one can cause. */
export const MAX_CURSOR_LENGTH = 1024;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const INVALID_CURSOR = "is not a valid cursor (pass next_cursor of the previous page unchanged)";

export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position), "utf8").toString("base64url");
}

export function cursorSchema<T>(shape: z.ZodType<T>) {
  return z
    .string()
    .max(MAX_CURSOR_LENGTH, { error: INVALID_CURSOR })
    .transform((cursor, context): T => {
      let decoded: unknown;
      try {
        if (!BASE64URL.test(cursor)) throw new Error("not base64url");
        decoded = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
      } catch {
        context.addIssue({ code: "custom", message: INVALID_CURSOR });
        return z.NEVER;
      }
      const parsed = shape.safeParse(decoded);
      if (!parsed.success) {
        context.addIssue({ code: "custom", message: INVALID_CURSOR });
        return z.NEVER;
      }
      return parsed.data;
    })
    .meta({ description: "Opaque: `next_cursor` of the previous page." });
}

/** "2026-03-01T10:00:00.123456Z" (PostgreSQL timestamptz precision), checked to be a real instant. */
export const microsecondInstantSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/)
  .refine((value) => {
    const millis = `${value.slice(0, 23)}Z`;
    const date = new Date(millis);
    return !Number.isNaN(date.getTime()) && date.toISOString() === millis;
  });

/** A bigint id as JavaScript reads it (ids stay far below 2^53). */
export const positiveIdSchema = z.int().positive().max(Number.MAX_SAFE_INTEGER);

/**
 * Text that may be sent to PostgreSQL as a parameter: bounded, and without control characters (a NUL byte
 * cannot be stored in a text value at all, so letting one through would turn a bad request into a 500).
 */
export function plainTextSchema(maxLength: number) {
  return z
    .string()
    .max(maxLength, { error: `must be at most ${maxLength} characters` })
    .refine((value) => !/\p{Cc}/u.test(value), { error: "must not contain control characters" });
}
