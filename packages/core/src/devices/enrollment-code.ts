/**
 * One-time device enrollment codes: what an owner types into the agent to register a device.
 *
 * Contract: 10 characters from a 32-symbol alphabet without the look-alikes 0/O and 1/I, chosen uniformly
 * (5 random bits per character: 50 bits), shown as "XXXXX-XXXXX". Input is accepted in any case, with or
 * without spaces and hyphens. Only the SHA-256 of the normalized code is stored: the short lifetime
 * (15 minutes by default), single use and the per-IP limit on registration make guessing hopeless, and a
 * leaked hash is useless within minutes, so no salt or slow hash is needed.
 */
import { createHash, randomBytes } from "node:crypto";

/** 8 digits + 24 letters = 32 symbols: one symbol per 5 random bits, no modulo bias. */
export const ENROLLMENT_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
export const ENROLLMENT_CODE_LENGTH = 10;

const SEPARATORS = /[\s-]/g;
const NORMALIZED = new RegExp(`^[${ENROLLMENT_CODE_ALPHABET}]{${ENROLLMENT_CODE_LENGTH}}$`);

/** A new random code, normalized (no separator). */
export function generateEnrollmentCode(): string {
  const bytes = randomBytes(ENROLLMENT_CODE_LENGTH);
  let code = "";
  for (const byte of bytes) code += ENROLLMENT_CODE_ALPHABET[byte & 31];
  return code;
}

/** "ABCDE-FGHJK": how the code is shown to people. */
export function formatEnrollmentCode(code: string): string {
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/** The normalized code for what a person typed, or null when it cannot be a code. */
export function normalizeEnrollmentCode(input: string): string | null {
  if (typeof input !== "string" || input.length > 64) return null;
  const code = input.replace(SEPARATORS, "").toUpperCase();
  return NORMALIZED.test(code) ? code : null;
}

/** SHA-256 of a normalized code: device_enrollment_codes.code_hash. */
export function hashEnrollmentCode(code: string): Buffer {
  return createHash("sha256").update(code, "utf8").digest();
}
