/** Request and response schemas of /api/v1/admin/review-queue. */

import { blocklistSourceSchema } from "@betblocker/common/enums";
import { categoryInputSchema } from "@betblocker/core/admin/blocklist-admin.service";
import {
  DEFAULT_QUEUE_PAGE_SIZE,
  MAX_QUEUE_PAGE_SIZE,
  type ReviewDecision,
  reviewDomainSchema,
  reviewQueueCursorSchema,
} from "@betblocker/core/admin/review-queue.service";
import type { ReviewQueueItem } from "@betblocker/db/repositories/review-queue.repository";
import { z } from "zod";
import {
  entrySchema,
  entryStatusSchema,
  pageLimitSchema,
  toEntryResponse,
} from "../admin-blocklist/admin-blocklist.schema";

export const reviewQueueQuerySchema = z.object({
  cursor: reviewQueueCursorSchema.optional(),
  limit: pageLimitSchema(MAX_QUEUE_PAGE_SIZE, DEFAULT_QUEUE_PAGE_SIZE),
});

const dateTime = z.iso.datetime({ offset: true });

export const reviewQueueItemSchema = z
  .object({
    domain: z.string(),
    pending_reports: z.int().meta({ description: "Pending federated reports of this domain." }),
    distinct_devices: z
      .int()
      .meta({ description: "Distinct devices among them (the queue's first sort key)." }),
    first_reported_at: dateTime.nullable(),
    last_reported_at: dateTime.nullable(),
    heuristic_types: z
      .array(z.string())
      .meta({ description: "Heuristics that matched, e.g. keyword, dns_pattern." }),
    waiting_since: dateTime.meta({
      description:
        "First report, or when discovery filed the review entry (the second sort key, oldest first).",
    }),
    entry: z
      .object({
        id: z.int(),
        status: entryStatusSchema,
        source: blocklistSourceSchema,
        category: z.string().nullable(),
        confidence_score: z.int(),
        added_at: dateTime,
      })
      .nullable()
      .meta({
        description:
          "The domain's blocklist entry: status review = filed by discovery; active = already blocked " +
          "(confirming marks the reports duplicate).",
      }),
  })
  .meta({ id: "ReviewQueueItem" });

export function toReviewQueueItemResponse(item: ReviewQueueItem): z.infer<typeof reviewQueueItemSchema> {
  return {
    domain: item.domain,
    pending_reports: item.pendingReports,
    distinct_devices: item.distinctDevices,
    first_reported_at: item.firstReportedAt?.toISOString() ?? null,
    last_reported_at: item.lastReportedAt?.toISOString() ?? null,
    heuristic_types: item.heuristicTypes,
    waiting_since: item.waitingSince.toISOString(),
    entry: item.entry
      ? {
          id: item.entry.id,
          status: item.entry.status,
          source: item.entry.source,
          category: item.entry.category,
          confidence_score: item.entry.confidenceScore,
          added_at: item.entry.addedAt.toISOString(),
        }
      : null,
  };
}

export const reviewQueueResponseSchema = z.object({
  items: z.array(reviewQueueItemSchema),
  next_cursor: z.string().nullable(),
});

export const reviewDomainParamsSchema = z.object({
  domain: reviewDomainSchema.meta({ description: "The reported domain (any spelling; normalized)." }),
});

/** Optional: a request without a body confirms without a category. */
export const confirmBodySchema = z
  .strictObject({
    category: categoryInputSchema.nullish().meta({
      description:
        "Category of the entry (set on a new or re-activated entry; an active entry keeps its own).",
    }),
  })
  .nullish();

/** No fields; the body may be absent. */
export const rejectBodySchema = z.strictObject({}).nullish();

export const decisionResponseSchema = z
  .object({
    domain: z.string(),
    outcome: z.enum(["confirmed", "rejected", "duplicate"]),
    reports_resolved: z.int(),
    entry: entrySchema.nullable(),
  })
  .meta({ id: "ReviewDecision" });

export function toDecisionResponse(decision: ReviewDecision): z.infer<typeof decisionResponseSchema> {
  return {
    domain: decision.domain,
    outcome: decision.outcome,
    reports_resolved: decision.reportsResolved,
    entry: decision.entry ? toEntryResponse(decision.entry) : null,
  };
}
