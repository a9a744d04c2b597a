/** Request and response schemas of /api/v1/admin/blocklist. Request bodies are strict: unknown fields are a 400. */

import {
  BLOCKLIST_ENTRY_STATUS_VALUES,
  blocklistEntryStatusSchema,
  blocklistSourceSchema,
} from "@betblocker/common/enums";
import {
  blocklistRuleInputSchema,
  categoryInputSchema,
  cursorMatchesSearch,
  DEFAULT_ENTRIES_PAGE_SIZE,
  entryCursorSchema,
  MAX_ENTRIES_PAGE_SIZE,
  ruleTypeOf,
  searchTermSchema,
} from "@betblocker/core/admin/blocklist-admin.service";
import type { AdminEntry } from "@betblocker/db/repositories/admin-blocklist.repository";
import { z } from "zod";

/**
 * Statuses an entry can be in: the spec's three plus 'inactive' (migration 0025: delisted by every list
 * source). Admins set only the spec's three (updateEntryBodySchema).
 */
export const entryStatusSchema = z.enum([
  ...new Set([...BLOCKLIST_ENTRY_STATUS_VALUES, "inactive" as const]),
]);

export const entrySchema = z
  .object({
    id: z.int().meta({ description: "Entry id (blocklist entries are global, not tenant data)." }),
    domain: z.string().meta({ description: "Normalized rule value: domain, *.domain or pattern." }),
    rule_type: z.enum(["domain", "wildcard", "pattern"]),
    category: z.string().nullable(),
    source: blocklistSourceSchema,
    status: entryStatusSchema,
    confidence_score: z.int(),
    added_by: z.uuid().nullable().meta({ description: "Public id of the account that added it." }),
    added_at: z.iso.datetime({ offset: true }),
    updated_at: z.iso.datetime({ offset: true }),
  })
  .meta({ id: "BlocklistEntry" });

export type EntryResponse = z.infer<typeof entrySchema>;

export function toEntryResponse(entry: AdminEntry): EntryResponse {
  return {
    id: entry.id,
    domain: entry.domain,
    rule_type: ruleTypeOf(entry.domain),
    category: entry.category,
    source: entry.source,
    status: entry.status,
    confidence_score: entry.confidenceScore,
    added_by: entry.addedByPublicId,
    added_at: entry.addedAt.toISOString(),
    updated_at: entry.updatedAt.toISOString(),
  };
}

export const pageLimitSchema = (max: number, fallback: number) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(max)
    .default(fallback)
    .meta({ description: `Page size, 1-${max} (default ${fallback}).` });

export const entryListQuerySchema = z
  .object({
    q: searchTermSchema.optional().meta({
      description:
        "Search term: domains containing it or similar to it (trigram index), best matches first. " +
        "Without it, entries are listed in domain order.",
    }),
    status: entryStatusSchema.optional(),
    category: categoryInputSchema.optional(),
    source: blocklistSourceSchema.optional(),
    cursor: entryCursorSchema.optional(),
    limit: pageLimitSchema(MAX_ENTRIES_PAGE_SIZE, DEFAULT_ENTRIES_PAGE_SIZE),
  })
  .superRefine((query, context) => {
    // zod runs object refinements even when a field failed: only judge a cursor that decoded.
    const decoded = typeof query.cursor === "object" && query.cursor !== null && "kind" in query.cursor;
    if (decoded && query.cursor && !cursorMatchesSearch(query.cursor, query.q)) {
      context.addIssue({
        code: "custom",
        path: ["cursor"],
        message: "belongs to a query with a different search term",
      });
    }
  });

export const entryListResponseSchema = z.object({
  items: z.array(entrySchema),
  next_cursor: z
    .string()
    .nullable()
    .meta({ description: "Pass as `cursor` for the next page; null on the last." }),
});

export const createEntryBodySchema = z.strictObject({
  domain: blocklistRuleInputSchema.meta({
    description:
      'A domain ("Example.com." is stored as "example.com"), "*.domain" or a pattern such as "casino*.example".',
  }),
  category: categoryInputSchema
    .nullish()
    .meta({ description: '"Sports Betting" is stored as "sports_betting".' }),
});

export const entryIdParamsSchema = z.object({
  id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});

export const updateEntryBodySchema = z
  .strictObject({
    category: categoryInputSchema.nullable().optional().meta({ description: "null removes the category." }),
    status: blocklistEntryStatusSchema.optional().meta({
      description: "active, review (back to the queue) or rejected (never compiled into a version).",
    }),
  })
  .refine((body) => body.category !== undefined || body.status !== undefined, {
    message: "give category, status or both",
  });
