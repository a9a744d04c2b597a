/**
 * Password rules, in the spirit of NIST SP 800-63B section 5.1.1.2 and OWASP ASVS 2.1: length matters most, so
 * the minimum is 12 characters; a maximum of 128 bounds the work of the (deliberately slow) hash. Composition
 * rules are kept light, only enough to reject the most guessable shapes:
 *  1. 12 to 128 characters (Unicode code points, after NFC normalization; spaces allowed and kept);
 *  2. not one character repeated ("aaaaaaaaaaaa");
 *  3. characters from at least two of: lower-case letters, upper-case letters, digits, anything else
 *     (spaces, punctuation, non-Latin letters) - a passphrase of words and spaces passes;
 *  4. does not contain the local part of the account's e-mail address (when that is 4+ characters);
 *  5. is not one of a small list of passwords that top every breach corpus.
 * Passwords are never trimmed or case-folded: what the user typed is what is hashed.
 */
import { z } from "zod";

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;

const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  "password1234",
  "password12345",
  "password123456",
  "passwordpassword",
  "123456789012",
  "1234567890123",
  "qwertyuiop12",
  "qwerty123456",
  "123456qwerty",
  "iloveyou1234",
  "letmein12345",
  "welcome12345",
  "administrator",
  "abcdefghijkl",
  "abcd1234abcd1234",
  "1q2w3e4r5t6y",
]);

function characterClasses(password: string): number {
  let classes = 0;
  if (/\p{Ll}/u.test(password)) classes++;
  if (/\p{Lu}/u.test(password)) classes++;
  if (/\p{Nd}/u.test(password)) classes++;
  if (/[^\p{Ll}\p{Lu}\p{Nd}]/u.test(password)) classes++;
  return classes;
}

/** Problems with `password`, in words for the user; empty when it is acceptable. */
export function passwordProblems(password: string, context: { email?: string } = {}): string[] {
  const normalized = password.normalize("NFC");
  const length = [...normalized].length;
  if (length < PASSWORD_MIN_LENGTH) return [`must be at least ${PASSWORD_MIN_LENGTH} characters long`];
  if (length > PASSWORD_MAX_LENGTH) return [`must be at most ${PASSWORD_MAX_LENGTH} characters long`];
  const problems: string[] = [];
  if (new Set(normalized).size === 1) problems.push("must not be one character repeated");
  else if (characterClasses(normalized) < 2)
    problems.push(
      "must mix at least two of: lower-case letters, upper-case letters, digits, other characters",
    );
  const lower = normalized.toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) problems.push("is too common");
  const localPart = context.email?.split("@")[0]?.toLowerCase();
  if (localPart && localPart.length >= 4 && lower.includes(localPart))
    problems.push("must not contain your e-mail address");
  return problems;
}

/**
 * The schema form of rules 1-3 and 5 for request bodies (rule 4 needs the e-mail address: the service
 * checks it). The length bound on the raw string comes first, so a megabyte of input is rejected cheaply.
 */
export const passwordSchema = z
  .string()
  .max(PASSWORD_MAX_LENGTH * 4)
  .superRefine((password, ctx) => {
    for (const message of passwordProblems(password)) ctx.addIssue({ code: "custom", message });
  });
