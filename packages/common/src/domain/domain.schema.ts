/** zod schemas for domain names, built on normalizeDomain so there is one definition of "valid". */
import { z } from "zod";
import { normalizeDomain } from "./normalize";

/**
 * A domain that is already normalized (lower-case, punycode, no trailing dot). For payloads our
 * own code produces (event metadata, report summaries): a non-normalized value there is a bug in
 * the producer, so it is refused rather than silently rewritten.
 */
export const normalizedDomainSchema = z.string().superRefine((value, context) => {
  const result = normalizeDomain(value);
  if (!result.ok) {
    context.addIssue({ code: "custom", message: `not a valid domain name: ${result.reason}` });
  } else if (result.domain !== value) {
    context.addIssue({
      code: "custom",
      message: `must be a normalized domain name (lower-case, punycode, no trailing dot): "${result.domain}"`,
    });
  }
});

/** Accepts any spelling of a valid domain (case, trailing dot, Unicode) and outputs the normalized form. */
export const domainInputSchema = z.string().transform((value, context) => {
  const result = normalizeDomain(value);
  if (result.ok) return result.domain;
  context.addIssue({ code: "custom", message: `not a valid domain name: ${result.reason}` });
  return z.NEVER;
});
