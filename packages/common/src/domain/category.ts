/**
 * Blocklist categories ("casino", "sports_betting", ...). Stored in blocklist_entries.category
 * (VARCHAR(100)) and used as keys of reporting_snapshots.summary.blocks_by_category, so they
 * must be short, stable identifiers.
 *
 * Contract: a normalized category matches CATEGORY_PATTERN: 1-32 characters of [a-z0-9_] (the signed
 * blocklist stores category names in its category table, see blocklist/format.ts).
 */
import { z } from "zod";

export const MAX_CATEGORY_LENGTH = 32;
export const CATEGORY_PATTERN = /^[a-z0-9_]{1,32}$/;

export type NormalizeCategoryResult =
  | { ok: true; category: string | undefined }
  | { ok: false; reason: string };

/**
 * Trims and lower-cases a category and turns runs of spaces and hyphens into "_" (so
 * "Sports Betting" and "sports-betting" both become "sports_betting"). An empty category is
 * "no category" (ok with undefined). Anything else outside [a-z0-9_] is refused, not dropped:
 * a silently rewritten category would merge unrelated ones.
 */
export function normalizeCategory(input: string): NormalizeCategoryResult {
  const category = input
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, "_");
  if (category === "") return { ok: true, category: undefined };
  if (category.length > MAX_CATEGORY_LENGTH) {
    return { ok: false, reason: `category longer than ${MAX_CATEGORY_LENGTH} characters` };
  }
  const badCharacter = [...category].find((character) => !/[a-z0-9_]/.test(character));
  if (badCharacter !== undefined) {
    return { ok: false, reason: `invalid character '${badCharacter}' in category (allowed: a-z, 0-9, _)` };
  }
  return { ok: true, category };
}

/** A category that is already normalized (for JSONB payloads, which are produced by our own code). */
export const categorySchema = z
  .string()
  .regex(CATEGORY_PATTERN, { error: "must be a category of 1-32 characters from a-z, 0-9 and _" });
