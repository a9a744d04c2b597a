/**
 * E-mail addresses as account identifiers: trimmed and lower-cased before anything else sees them, so that
 * "Alice@Example.org " and "alice@example.org" are one account (the database also enforces uniqueness on
 * lower(email)). Lower-casing the local part is not RFC 5321 strict, but no mail provider that matters
 * distinguishes case there, and two accounts differing only by case would be a support and security hazard.
 */
import { z } from "zod";

/** RFC 5321 limits a path to 256 octets including the angle brackets: 254 for the address. */
export const EMAIL_MAX_LENGTH = 254;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Accepts any string up to 320 characters (so overlong input is a field error, not a crash), outputs the normalized address. */
export const emailSchema = z
  .string()
  .max(320)
  .trim()
  .toLowerCase()
  .pipe(z.email({ message: "must be a valid e-mail address" }).max(EMAIL_MAX_LENGTH));
